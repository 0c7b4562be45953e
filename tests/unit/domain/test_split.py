"""Temporal splits: exact rows on hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.domain.split import global_time_split, per_user_temporal_split


def interactions(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    """(user, item, unix seconds) rows."""
    return pd.DataFrame(
        {
            Columns.User: [r[0] for r in rows],
            Columns.Item: [r[1] for r in rows],
            Columns.Weight: 1.0,
            Columns.Datetime: pd.to_datetime([r[2] for r in rows], unit="s"),
        }
    )


def pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame[Columns.User].tolist(), frame[Columns.Item].tolist(), strict=True))


def test_per_user_holds_out_each_users_latest_fraction() -> None:
    rows = [(1, i, 100 - i) for i in range(5)]  # user 1: item 4 is the oldest, item 0 the newest
    rows += [(2, 50, 5)]  # one interaction: stays in train
    rows += [(3, 60 + i, 10 * i) for i in range(10)]  # 10 interactions, 25% -> floor(2.5) = 2 held out
    shuffled = interactions(rows).sample(frac=1.0, random_state=0)
    train, test = per_user_temporal_split(shuffled, test_fraction=0.25)
    assert pairs(test) == {(1, 0), (3, 68), (3, 69)}
    assert pairs(train) == pairs(interactions(rows)) - pairs(test)
    assert len(train) + len(test) == len(rows)


def test_per_user_holds_out_at_least_one() -> None:
    rows = [(1, 1, 1), (1, 2, 2), (1, 3, 3)]  # 3 * 0.2 = 0.6 -> still 1 held out
    train, test = per_user_temporal_split(interactions(rows), 0.2)
    assert pairs(test) == {(1, 3)}
    assert pairs(train) == {(1, 1), (1, 2)}


def test_per_user_keeps_min_train() -> None:
    rows = [(1, i, i) for i in range(4)]
    train, test = per_user_temporal_split(interactions(rows), 0.9, min_train=3)
    assert pairs(train) == {(1, 0), (1, 1), (1, 2)}
    assert pairs(test) == {(1, 3)}
    train, test = per_user_temporal_split(interactions(rows[:3]), 0.5, min_train=3)
    assert len(test) == 0
    assert len(train) == 3


def test_per_user_ties_in_time_break_by_item() -> None:
    rows = [(1, 9, 5), (1, 3, 5), (1, 7, 1)]
    _, test = per_user_temporal_split(interactions(rows), 0.2)
    assert pairs(test) == {(1, 9)}


def test_global_split_cuts_at_the_time_quantile() -> None:
    rows = [(u, 10 + t, t) for t, u in enumerate([1, 2, 1, 3, 2, 1, 4, 4, 2, 5])]
    train, test = global_time_split(interactions(rows).iloc[::-1], test_fraction=0.3)
    assert sorted(test[Columns.Item].tolist()) == [17, 18, 19]
    assert sorted(train[Columns.Item].tolist()) == list(range(10, 17))
    assert train[Columns.Datetime].max() < test[Columns.Datetime].min()
    assert set(test[Columns.User]) - set(train[Columns.User]) == {5}  # user 5 is cold in test


def test_global_split_keeps_equal_timestamps_together() -> None:
    rows = [(1, 1, 0), (1, 2, 1), (2, 3, 2), (2, 4, 2), (3, 5, 2)]
    train, test = global_time_split(interactions(rows), test_fraction=0.5)
    assert sorted(train[Columns.Item].tolist()) == [1, 2]
    assert sorted(test[Columns.Item].tolist()) == [3, 4, 5]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_must_be_inside_the_unit_interval(fraction: float) -> None:
    frame = interactions([(1, 1, 1), (1, 2, 2)])
    with pytest.raises(ValueError, match="test_fraction"):
        per_user_temporal_split(frame, fraction)
    with pytest.raises(ValueError, match="test_fraction"):
        global_time_split(frame, fraction)
