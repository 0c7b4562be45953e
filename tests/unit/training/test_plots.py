"""recall_curve on a hand-made case."""

from __future__ import annotations

import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.training.plots import recall_curve


def reco(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    """(user, item, rank) rows."""
    return pd.DataFrame(
        {
            Columns.User: [r[0] for r in rows],
            Columns.Item: [r[1] for r in rows],
            Columns.Rank: [r[2] for r in rows],
            Columns.Score: [1.0 / r[2] for r in rows],
        }
    )


def test_recall_curve_hand_case() -> None:
    # user 1 relevant {10, 20}; user 2 relevant {30}; user 3 relevant {40} and gets no list
    test = pd.DataFrame({Columns.User: [1, 1, 2, 3], Columns.Item: [10, 20, 30, 40]})
    model = reco([(1, 10, 1), (1, 99, 2), (1, 20, 3), (2, 11, 1), (2, 30, 2)])
    perfect = reco([(1, 10, 1), (1, 20, 2), (2, 30, 1), (3, 40, 1)])
    curve = recall_curve({"m": model, "perfect": perfect}, test, range(1, 4))
    got = {(r["model"], r["k"]): r["recall"] for r in curve.to_dict("records")}
    # recall@k = hits@k / min(|relevant|, k), averaged over every test user
    assert got[("m", 1)] == pytest.approx((1 / 1 + 0 + 0) / 3)
    assert got[("m", 2)] == pytest.approx((1 / 2 + 1 / 1 + 0) / 3)
    assert got[("m", 3)] == pytest.approx((2 / 2 + 1 / 1 + 0) / 3)
    assert [got[("perfect", k)] for k in (1, 2, 3)] == pytest.approx([1.0, 1.0, 1.0])
    assert set(curve.columns) == {"model", "k", "recall"}
    assert len(curve) == 6
