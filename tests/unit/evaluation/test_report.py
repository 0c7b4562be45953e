"""evaluate_models on tiny hand-made data: a model that leaves viewers unserved scores 0 for them once.

rectools 0.19 averages ranking metrics over every viewer of the test interactions (an unserved one
counts 0), so "all" must be the users-weighted mean of the slices, for every model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from movierecs.columns import Columns
from movierecs.evaluation.protocol import EvalProtocol
from movierecs.evaluation.report import evaluate_models
from movierecs.models.base import Recommender
from movierecs.models.trainset import TrainingSet


class _Fixed(BaseModel):
    pass


class WarmOnly(Recommender[_Fixed]):
    """Recommends a fixed list, and only to viewers with at least ``min_train`` train interactions."""

    kind = "warm_only"
    config_class = _Fixed

    def __init__(self, items: list[int], min_train: int) -> None:
        super().__init__(_Fixed())
        self.fixed, self.min_train = items, min_train

    def _fit(self, data: TrainingSet) -> None:
        self.counts = data.interactions.groupby(Columns.User).size()

    def _scores(self, user_idx: int, profile: Any = None) -> np.ndarray:  # pragma: no cover - unused
        raise NotImplementedError

    def _state(self) -> dict[str, np.ndarray]:  # pragma: no cover - unused
        return {}

    def _load_state(self, state: dict[str, np.ndarray]) -> None:  # pragma: no cover - unused
        pass

    def recommend(self, users: Any, k: int = 10, **_: Any) -> pd.DataFrame:  # type: ignore[override]
        rows = [
            (u, item, rank + 1, 1.0 / (rank + 1))
            for u in users
            if self.counts.get(u, 0) >= self.min_train
            for rank, item in enumerate(self.fixed[:k])
        ]
        return pd.DataFrame(rows, columns=[Columns.User, Columns.Item, Columns.Rank, Columns.Score])


def _train() -> TrainingSet:
    ts = pd.Timestamp("2024-01-01")
    # users 1-2: 3 train rows (heavy at heavy_from=3), users 3-4: 1 row (warm), users 5-6: none (cold)
    rows = [(u, i) for u in (1, 2) for i in (10, 11, 12)] + [(3, 10), (4, 11)]
    inter = pd.DataFrame(rows, columns=[Columns.User, Columns.Item]).assign(
        **{Columns.Weight: 1.0, Columns.Datetime: ts}
    )
    return TrainingSet(inter, pd.DataFrame(), pd.DataFrame(), ts)


def test_all_is_the_users_weighted_mean_of_the_slices_when_some_users_are_unserved() -> None:
    train = _train()
    test = pd.DataFrame(
        {Columns.User: [1, 2, 3, 4, 5, 6], Columns.Item: [20, 21, 20, 22, 20, 21]},
    )
    protocol = EvalProtocol(k=2, cold_below=1, heavy_from=3)
    model = WarmOnly([20, 21], min_train=1).fit(train)  # serves users 1-4, never 5-6
    table = evaluate_models({"warm_only": model}, train, test, protocol).set_index("slice")
    assert dict(table["n_users"]) == {"all": 6, "cold": 2, "warm": 2, "heavy": 2}
    for name in ("recall@2", "ndcg@2", "map@2", "precision@2", "serendipity@2"):
        slices = table.loc[["cold", "warm", "heavy"]]
        expected = float((slices[name] * slices["n_users"]).sum() / slices["n_users"].sum())
        assert table.loc["all", name] == pytest.approx(expected), name
    # hand-computed: users 1, 2, 3 hit their one held-out title (recall 1), 4, 5, 6 do not -> 3/6
    assert table.loc["all", "recall@2"] == pytest.approx(0.5)
    assert table.loc["cold", "recall@2"] == 0.0
    assert table.loc["heavy", "recall@2"] == pytest.approx(1.0)
