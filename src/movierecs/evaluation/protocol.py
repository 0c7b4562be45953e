"""How a dataset is split for evaluation; the split is on raw interactions, before weighting,
so that every weighting scheme is scored against the same held-out interactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.domain.split import global_time_split, per_user_temporal_split
from movierecs.domain.weighting import Weighting
from movierecs.models.trainset import TrainingSet


class EvalProtocol(BaseModel):
    """Split and slicing of an offline evaluation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Literal["user_temporal", "global_time"] = "user_temporal"
    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    k: int = Field(default=10, ge=1, le=100)
    cold_below: int = Field(default=5, ge=1, description="cold slice: fewer train interactions")
    heavy_from: int = Field(default=100, ge=2, description="heavy slice: at least this many")


@dataclass(frozen=True)
class SplitData:
    """Raw train part (weighted per model later) and the held-out (user, item) pairs."""

    train_raw: RawData
    test: pd.DataFrame  # user_id, item_id (every held-out interaction is relevant)
    protocol: EvalProtocol

    def training_set(self, weighting: Weighting) -> TrainingSet:
        return TrainingSet.from_raw(self.train_raw, weighting)


def make_split(raw: RawData, protocol: EvalProtocol) -> SplitData:
    inter = raw.interactions
    if protocol.split == "user_temporal":
        train, test = per_user_temporal_split(inter, protocol.test_fraction)
    else:
        train, test = global_time_split(inter, protocol.test_fraction)
    test_pairs = test[[Columns.User, Columns.Item]].drop_duplicates().reset_index(drop=True)
    train_raw = RawData(train.reset_index(drop=True), raw.items, raw.users, raw.name)
    return SplitData(train_raw, test_pairs, protocol)
