"""Demographic segment keys."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from movierecs.domain.segments import age_band, normalize_gender, segment_keys


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "<18"), (17, "<18"), (18, "18-24"), (24, "18-24"), (25, "25-34"), (34, "25-34"),
        (35, "35-44"), (45, "45-55"), (55, "45-55"), (56, "56+"), (99, "56+"), ("30", "25-34"),
        (30.7, "25-34"), (-1, None), (None, None), ("abc", None), (math.nan, None), (pd.NA, None),
    ],
)  # fmt: skip
def test_age_band(age: object, band: str | None) -> None:
    assert age_band(age) == band


@pytest.mark.parametrize(
    ("gender", "norm"),
    [
        ("F", "F"),
        ("f", "F"),
        (" male ", "M"),
        ("M", "M"),
        ("other", "X"),
        ("", None),
        (None, None),
        (1, None),
    ],
)
def test_normalize_gender(gender: object, norm: str | None) -> None:
    assert normalize_gender(gender) == norm


@pytest.mark.parametrize(
    ("profile", "keys"),
    [
        ({"age": 30, "gender": "F"}, ("age=25-34|gender=F", "age=25-34", "gender=F")),
        ({"age": 60}, (None, "age=56+", None)),
        ({"gender": "m"}, (None, None, "gender=M")),
        ({"age": None, "gender": None, "occupation": "writer"}, (None, None, None)),
        ({}, (None, None, None)),
    ],
)
def test_segment_keys_most_specific_first(profile: dict[str, object], keys: tuple) -> None:
    assert segment_keys(profile) == keys
