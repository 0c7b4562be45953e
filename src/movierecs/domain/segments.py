"""Demographic segments for cold-start popularity: age band × gender, then age band, then gender."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AGE_BANDS = ((0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"),
             (45, 56, "45-55"), (56, 200, "56+"))  # fmt: skip
SEGMENT_LEVELS = ("age_gender", "age", "gender")


def age_band(age: object) -> str | None:
    """The age band of an age in years (``None`` if unknown).

    Examples
    --------
    >>> age_band(24), age_band(56), age_band(None)
    ('18-24', '56+', None)
    """
    if age is None:
        return None
    try:
        years = int(age)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    for low, high, name in AGE_BANDS:
        if low <= years < high:
            return name
    return None


def normalize_gender(gender: object) -> str | None:
    if not isinstance(gender, str) or not gender.strip():
        return None
    g = gender.strip().upper()[:1]
    return g if g in {"M", "F"} else "X"


def segment_keys(profile: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Keys of the segments a profile belongs to, most specific first (``None`` where unknown).

    Examples
    --------
    >>> segment_keys({"age": 30, "gender": "F"})
    ('age=25-34|gender=F', 'age=25-34', 'gender=F')
    >>> segment_keys({"gender": "m"})
    (None, None, 'gender=M')
    """
    band = age_band(profile.get("age"))
    gender = normalize_gender(profile.get("gender"))
    full = f"age={band}|gender={gender}" if band and gender else None
    return full, (f"age={band}" if band else None), (f"gender={gender}" if gender else None)
