"""The k = 1..50 curves logged with each run: true recall (never falls), NDCG and R-precision, equal to
rectools' metrics at every k, on a hand-made case and on the hybrid trained on ml-100k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rectools import metrics as rm

from movierecs.columns import Columns
from movierecs.data.loaders import load_dataset
from movierecs.evaluation.curves import metric_curves
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender


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
    curve = metric_curves({"m": model, "perfect": perfect}, test, 3)
    got = {(r["model"], r["k"]): r["recall"] for r in curve.to_dict("records")}
    # recall@k = hits@k / |relevant|, averaged over every test user (an unserved one scores 0)
    assert got[("m", 1)] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert got[("m", 2)] == pytest.approx((1 / 2 + 1 / 1 + 0) / 3)
    assert got[("m", 3)] == pytest.approx((2 / 2 + 1 / 1 + 0) / 3)
    assert [got[("perfect", k)] for k in (1, 2, 3)] == pytest.approx([(1 / 2 + 1 + 1) / 3, 1.0, 1.0])
    assert list(curve.columns) == ["model", "k", "recall", "ndcg", "r_precision"]
    assert len(curve) == 6
    # R-precision divides by min(k, |relevant|): user 1 at k=1 counts a full hit
    r_prec = {(r["model"], r["k"]): r["r_precision"] for r in curve.to_dict("records")}
    assert r_prec[("m", 1)] == pytest.approx((1 + 0 + 0) / 3)


@pytest.fixture(scope="module")
def ml100k_reco(ml100k_dir: Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The hybrid and popularity at k=50 on the training protocol's hold-out (as ``movierecs train``)."""
    raw = load_dataset("ml-100k", ml100k_dir)
    split = make_split(raw, EvalProtocol(split="global_time", test_fraction=0.2))
    train = split.training_set(HybridConfig().weighting)
    models = {
        "hybrid": HybridRecommender(HybridConfig()).fit(train),
        "popular": PopularRecommender(PopularConfig(segments=False)).fit(train),
    }
    users = split.test[Columns.User].unique()
    return {name: m.recommend(users, k=50) for name, m in models.items()}, split.test


def test_recall_at_k_never_falls_on_ml100k(ml100k_reco: tuple[dict[str, pd.DataFrame], pd.DataFrame]) -> None:
    reco_by_model, test = ml100k_reco
    curve = metric_curves(reco_by_model, test, 50)
    for name, part in curve.groupby("model"):
        values = part.sort_values("k")["recall"].to_numpy()
        assert np.all(np.diff(values) >= -1e-12), f"{name}: recall@k falls: {values[:10]}"
        assert values[-1] > values[0], name


@pytest.mark.parametrize("k", [1, 5, 10, 50])
def test_recall_curve_equals_rectools_on_ml100k(
    ml100k_reco: tuple[dict[str, pd.DataFrame], pd.DataFrame], k: int
) -> None:
    reco_by_model, test = ml100k_reco
    curve = metric_curves(reco_by_model, test, 50).set_index(["model", "k"])
    for name, frame in reco_by_model.items():
        expected = {
            "recall": rm.Recall(k).calc(frame, test),
            "ndcg": rm.NDCG(k).calc(frame, test),
            "r_precision": rm.Precision(k, r_precision=True).calc(frame, test),
        }
        for metric, value in expected.items():
            assert curve.loc[(name, k), metric] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, metric)


def test_a_user_without_a_list_counts_zero_as_in_rectools() -> None:
    test = pd.DataFrame({Columns.User: [1, 2, 2], Columns.Item: [10, 20, 21]})
    only_one = reco([(1, 10, 1), (1, 11, 2)])
    curve = metric_curves({"m": only_one}, test, 2).set_index("k")
    for k in (1, 2):
        for metric, obj in (
            ("recall", rm.Recall(k)),
            ("ndcg", rm.NDCG(k)),
            ("r_precision", rm.Precision(k, r_precision=True)),
        ):
            assert curve.loc[k, metric] == pytest.approx(obj.calc(only_one, test)), (k, metric)
