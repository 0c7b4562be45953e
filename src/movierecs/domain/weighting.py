"""Turning explicit ratings and typed events into implicit-feedback confidence.

Every interaction is first mapped to a *rating equivalent* ``r`` on the 0.5–5 scale: a rating is
its own value; ``like`` = 5, ``watch`` = 4, ``click`` = 3, ``dislike`` = 1; ``impression`` carries no
preference and is dropped; a ``weight`` row (generic CSV with a weight column) is taken as is. The
scheme then turns ``r`` into the confidence that iALS uses:

========  ==========================================================  =================================
scheme    weight                                                      reading
========  ==========================================================  =================================
binary    1                                                           "watched" is the signal
rating    r                                                           higher rating, more confidence
centered  r - threshold + 0.5 if r >= threshold else negative_weight  below-threshold ratings push away
positive  1 if r >= threshold else 0 (kept: seen, no preference)      only likes count
========  ==========================================================  =================================

An explicit ``dislike`` gets ``negative_weight`` in every scheme. Per (user, item) the latest
interaction wins (a dislike after a like overrides it). ``movierecs
evaluate --weightings`` compares the schemes on a temporal split; the default (``rating``, with
iALS alpha 0.25) is the one ``bench/selection.py`` picks on a validation split of ml-100k (see
docs/BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from movierecs.columns import Columns

EVENT_RATING = {"like": 5.0, "watch": 4.0, "click": 3.0, "dislike": 1.0}


class Weighting(BaseModel):
    """How ratings and events become iALS confidence (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["binary", "rating", "centered", "positive"] = "rating"
    threshold: float = Field(default=3.5, ge=0.0, le=5.0)
    # iALS reads |alpha * w| as confidence that the preference is 0; at |c| <= 1 that equals "unseen",
    # so a dislike needs |alpha * w| > 1 to push the title (and titles like it) away: -16 at the
    # default alpha 0.25 is a confidence of 4 (what -4 was at alpha 1).
    negative_weight: float = Field(default=-16.0, le=0.0, description="dislikes; centered: below-threshold ratings too")


def rating_equivalent(types: pd.Series, values: pd.Series) -> np.ndarray:
    """Map (type, value) pairs to a 0.5–5 rating equivalent; NaN for rows that carry no preference."""
    types_arr = types.astype(str).to_numpy()
    vals = values.to_numpy(dtype="float64", na_value=np.nan)
    out = np.full(len(types_arr), np.nan)
    is_rating = (types_arr == "rating") | (types_arr == "weight")
    out[is_rating] = vals[is_rating]
    for kind, r in EVENT_RATING.items():
        out[types_arr == kind] = r
    return out


def apply_weighting(interactions: pd.DataFrame, weighting: Weighting) -> pd.DataFrame:
    """Weighted, deduplicated interactions: ``user_id, item_id, weight, datetime``.

    Rows with weight 0 are kept: they mark an item as *seen* (never recommended again) without
    carrying a preference; fitting and fold-in ignore them.

    Examples
    --------
    >>> frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10],
    ...     "type": ["rating", "rating", "like"], "value": [5.0, 2.0, None],
    ...     "datetime": pd.to_datetime([1, 2, 3], unit="s")})
    >>> apply_weighting(frame, Weighting(scheme="positive"))["weight"].tolist()
    [1.0, 0.0, 1.0]
    """
    frame = interactions
    r = rating_equivalent(frame[Columns.Type], frame["value"])
    is_raw_weight = (frame[Columns.Type].astype(str) == "weight").to_numpy()
    keep = ~np.isnan(r)
    if weighting.scheme == "binary":
        w = np.ones_like(r)
    elif weighting.scheme == "rating":
        w = r.copy()
    elif weighting.scheme == "centered":
        w = np.where(r >= weighting.threshold, r - weighting.threshold + 0.5, weighting.negative_weight)
    else:  # positive
        w = np.where(r >= weighting.threshold, 1.0, 0.0)
    w = np.where(is_raw_weight, r, w)
    # an explicit dislike is negative in every scheme: it pushes away and never counts as popular
    w = np.where((frame[Columns.Type].astype(str) == "dislike").to_numpy(), weighting.negative_weight, w)
    out = pd.DataFrame(
        {
            Columns.User: frame[Columns.User].to_numpy()[keep],
            Columns.Item: frame[Columns.Item].to_numpy()[keep],
            Columns.Weight: w[keep].astype("float32"),
            Columns.Datetime: frame[Columns.Datetime].to_numpy()[keep],
        }
    )
    out = out.sort_values(Columns.Datetime, kind="stable")
    out = out.drop_duplicates([Columns.User, Columns.Item], keep="last")
    return out.reset_index(drop=True)
