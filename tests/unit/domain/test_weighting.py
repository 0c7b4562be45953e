"""Weighting schemes on a hand-made frame: one row per event type, dedup, dropped impressions."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from movierecs.columns import Columns
from movierecs.domain.weighting import Weighting, apply_weighting

# user 1 rates / acts on items 1..9 once each, at increasing times; item 7 is an impression
ROWS = [
    # item, type, value
    (1, "rating", 5.0),
    (2, "rating", 4.0),
    (3, "rating", 3.0),
    (4, "rating", 1.0),
    (5, "like", None),
    (6, "dislike", None),
    (7, "impression", None),
    (8, "watch", None),
    (9, "click", None),
    (10, "weight", 2.5),
    (11, "rating", 3.5),
]


def frame(rows: list[tuple[int, str, float | None]] = ROWS, user: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            Columns.User: [user] * len(rows),
            Columns.Item: [r[0] for r in rows],
            Columns.Type: [r[1] for r in rows],
            "value": [r[2] for r in rows],
            Columns.Datetime: pd.to_datetime(range(len(rows)), unit="s"),
        }
    )


def weights(scheme: str, **kw: float) -> dict[int, float]:
    kw.setdefault("negative_weight", -1.0)
    out = apply_weighting(frame(), Weighting(scheme=scheme, **kw))  # type: ignore[arg-type]
    return dict(zip(out[Columns.Item].tolist(), out[Columns.Weight].tolist(), strict=True))


# rating equivalents: rating = value, like 5, watch 4, click 3; weight rows pass through; dislike: negative_weight
@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("binary", {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: -1, 8: 1, 9: 1, 10: 2.5, 11: 1}),
        ("rating", {1: 5, 2: 4, 3: 3, 4: 1, 5: 5, 6: -1, 8: 4, 9: 3, 10: 2.5, 11: 3.5}),
        # r >= 3.5: r - 3.5 + 0.5, else the negative weight
        ("centered", {1: 2, 2: 1, 3: -1, 4: -1, 5: 2, 6: -1, 8: 1, 9: -1, 10: 2.5, 11: 0.5}),
        ("positive", {1: 1, 2: 1, 3: 0, 4: 0, 5: 1, 6: -1, 8: 1, 9: 0, 10: 2.5, 11: 1}),
    ],
)
def test_each_scheme(scheme: str, expected: dict[int, float]) -> None:
    assert weights(scheme) == pytest.approx(expected)


@pytest.mark.parametrize("scheme", ["binary", "rating", "centered", "positive"])
def test_explicit_dislike_is_negative_in_every_scheme(scheme: str) -> None:
    # a dislike pushes away (fold-in) and doesn't make a title popular (weight < 0), whatever the scheme
    assert weights(scheme)[6] == -1.0
    assert weights(scheme, negative_weight=-3.0)[6] == -3.0


def test_a_dislike_after_a_like_overrides_it() -> None:
    rows = frame([(5, "like", None), (5, "dislike", None)])
    for scheme in ("binary", "rating", "centered", "positive"):
        out = apply_weighting(rows, Weighting(scheme=scheme, negative_weight=-1.0))  # type: ignore[arg-type]
        assert out[Columns.Weight].tolist() == [-1.0], scheme


def test_default_dislike_weight_carries_confidence() -> None:
    # iALS reads |alpha * w| <= 1 as "unseen": the default must exceed it so a dislike pushes away
    assert Weighting().negative_weight < -1.0


def test_impressions_are_dropped_in_every_scheme() -> None:
    for scheme in ("binary", "rating", "centered", "positive"):
        assert 7 not in weights(scheme)


def test_threshold_and_negative_weight_are_configurable() -> None:
    w = weights("centered", threshold=4.5, negative_weight=-2.0)
    assert w[1] == pytest.approx(1.0)  # 5 - 4.5 + 0.5
    assert w[2] == pytest.approx(-2.0)  # 4 < 4.5
    assert weights("positive", threshold=5.0)[2] == 0.0


def test_output_columns_and_dtypes() -> None:
    out = apply_weighting(frame(), Weighting())
    assert list(out.columns) == list(Columns.Interactions)
    assert out[Columns.Weight].dtype == "float32"
    assert out.index.tolist() == list(range(len(out)))


def test_latest_interaction_wins_per_user_item() -> None:
    rows = pd.DataFrame(
        {
            Columns.User: [1, 1, 2, 1],
            Columns.Item: [10, 10, 10, 11],
            Columns.Type: ["dislike", "rating", "rating", "rating"],
            "value": [None, 5.0, 2.0, 4.0],
            # the dislike (row 0) is the newest event for (1, 10) though it comes first in the frame
            Columns.Datetime: pd.to_datetime([50, 10, 20, 30], unit="s"),
        }
    )
    out = apply_weighting(rows, Weighting(scheme="rating", negative_weight=-1.0))
    keys = zip(out[Columns.User], out[Columns.Item], strict=True)
    got = dict(zip(keys, out[Columns.Weight], strict=True))
    assert got == {(1, 10): -1.0, (2, 10): 2.0, (1, 11): 4.0}
    later = out[(out[Columns.User] == 1) & (out[Columns.Item] == 10)][Columns.Datetime].iloc[0]
    assert later == pd.Timestamp(50, unit="s")


def test_impression_after_a_rating_does_not_erase_it() -> None:
    rows = pd.DataFrame(
        {
            Columns.User: [1, 1],
            Columns.Item: [10, 10],
            Columns.Type: ["rating", "impression"],
            "value": [5.0, None],
            Columns.Datetime: pd.to_datetime([1, 2], unit="s"),
        }
    )
    out = apply_weighting(rows, Weighting(scheme="rating"))
    assert out[Columns.Weight].tolist() == [5.0]


def test_unknown_scheme_and_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="scheme"):
        Weighting(scheme="log")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="alpha"):
        Weighting(scheme="binary", alpha=2)  # type: ignore[call-arg]
