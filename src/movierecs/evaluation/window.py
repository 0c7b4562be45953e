"""Score already fitted models on a time window of interactions none of them was fit on (the gate)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.domain.weighting import Weighting
from movierecs.evaluation.protocol import EvalProtocol
from movierecs.evaluation.report import evaluate_models
from movierecs.models.base import Recommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.models.trainset import TrainingSet


def score_window(
    models: Mapping[str, Recommender[Any]],
    raw: RawData,
    start: pd.Timestamp,
    end: pd.Timestamp,
    weighting: Weighting,
    protocol: EvalProtocol,
) -> tuple[pd.DataFrame, int]:
    """Metrics per model and slice on the interactions with ``start < ts <= end``, next to a global
    popularity baseline (``popular``) fit on the history up to ``start``.

    The models are scored as they are (no refit); the history up to ``start`` only defines the
    slices, the "seen" items of novelty/serendipity and the baseline. Returns the table and the
    number of interactions in the window (0: nothing to score, the table is empty).
    """
    ts = raw.interactions[Columns.Datetime]
    window = raw.interactions[(ts > start) & (ts <= end)]
    history = RawData(raw.interactions[ts <= start].reset_index(drop=True), raw.items, raw.users, raw.name)
    if window.empty or history.interactions.empty:
        return pd.DataFrame(columns=["model", "slice", "n_users"]), len(window)
    train = TrainingSet.from_raw(history, weighting)
    baseline = PopularRecommender(PopularConfig(segments=False)).fit(train)
    test = window[[Columns.User, Columns.Item]].drop_duplicates().reset_index(drop=True)
    table = evaluate_models({**models, "popular": baseline}, train, test, protocol, user_profiles(raw.users))
    return table, len(window)


def user_profiles(users: pd.DataFrame) -> dict[int, dict[str, object]]:
    """Demographics per viewer id, as the models' ``profiles`` argument takes them."""
    if users.empty:
        return {}
    cols = [c for c in (Columns.Age, Columns.Gender, Columns.Occupation) if c in users.columns]
    return {int(r[Columns.User]): {c: r[c] for c in cols} for r in users.to_dict("records")}
