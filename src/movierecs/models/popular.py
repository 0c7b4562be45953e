"""Popularity for cold start: global, trending (time-decayed) and per demographic segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from movierecs.columns import Columns
from movierecs.domain.segments import SEGMENT_LEVELS, segment_keys
from movierecs.models.base import Profile, Recommender
from movierecs.models.trainset import TrainingSet


class PopularConfig(BaseModel):
    """How the popularity lists are built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trending_weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of the trending score in the global list"
    )
    # validation (bench/selection.py) prefers trending_weight 1 with a 14-day half-life for cold viewers;
    # the weight stays 0 for now because the promotion gate's baseline is this very list (#13)
    half_life_days: float = Field(default=14.0, gt=0.0, description="trending: decay half-life")
    segments: bool = Field(default=True, description="use demographic segments when a profile is known")
    shrinkage: float = Field(default=20.0, ge=0.0, description="segment scores shrink to global by this")
    min_segment_users: int = Field(default=5, ge=1, description="smaller segments fall back a level")


class PopularRecommender(Recommender[PopularConfig]):
    """Most-interacted items; per segment (age band × gender, then age, then gender) when known.

    Items count as interacted when their weight is >= 0: explicit dislikes don't make a title
    popular. Segment scores are shrunk toward the global share:
    ``(c_seg,i + β p_i) / (n_seg + β)`` with ``p_i`` the share of all users who interacted with i.
    """

    kind: ClassVar[str] = "popular"
    config_class: ClassVar[type[BaseModel]] = PopularConfig

    def __init__(self, config: PopularConfig | None = None) -> None:
        super().__init__(config)
        self.global_scores = np.empty(0)
        self.trending_scores = np.empty(0)
        self.segment_names: list[str] = []
        self._segment_index: dict[str, int] = {}
        self.segment_scores = np.empty((0, 0))
        self.profiles: dict[int, dict[str, Any]] = {}

    def _fit(self, data: TrainingSet) -> None:
        inter = data.interactions[data.interactions[Columns.Weight] >= 0]
        n_items = len(self.items)
        item_idx = self.items.to_internal(inter[Columns.Item].to_numpy())
        n_users = max(inter[Columns.User].nunique(), 1)
        share = np.bincount(item_idx, minlength=n_items) / n_users
        age_days = (data.watermark - inter[Columns.Datetime]).dt.total_seconds().to_numpy() / 86400.0
        decay = np.exp2(-np.maximum(age_days, 0.0) / self.config.half_life_days)
        trending = np.bincount(item_idx, weights=decay, minlength=n_items)
        self.trending_scores = trending / max(trending.max(), 1e-12)
        w = self.config.trending_weight
        self.global_scores = (1 - w) * share / max(share.max(), 1e-12) + w * self.trending_scores
        self._fit_segments(data, inter, item_idx, share)

    def _fit_segments(self, data: TrainingSet, inter: pd.DataFrame, item_idx: np.ndarray, share: np.ndarray) -> None:
        users = data.users.dropna(subset=[Columns.User])
        self.profiles = {
            int(row[Columns.User]): {c: _clean(row.get(c)) for c in (Columns.Age, Columns.Gender, Columns.Occupation)}
            for row in users.to_dict("records")
        }
        names: list[str] = []
        rows: list[np.ndarray] = []
        if self.config.segments and self.profiles:
            keys_by_user = {uid: segment_keys(p) for uid, p in self.profiles.items()}
            inter_users = inter[Columns.User].to_numpy()
            for level in range(len(SEGMENT_LEVELS)):
                key_of = {uid: keys[level] for uid, keys in keys_by_user.items() if keys[level]}
                user_keys = pd.Series(inter_users).map(key_of)
                for key, positions in user_keys.groupby(user_keys, sort=True).groups.items():
                    pos = np.asarray(positions)
                    n_seg = len(np.unique(inter_users[pos]))
                    if n_seg < self.config.min_segment_users:
                        continue
                    counts = np.bincount(item_idx[pos], minlength=len(self.items))
                    beta = self.config.shrinkage
                    rows.append((counts + beta * share) / (n_seg + beta))
                    names.append(str(key))
        self._set_segment_names(names)
        self.segment_scores = np.vstack(rows) if rows else np.empty((0, len(self.items)))

    def _set_segment_names(self, names: list[str]) -> None:
        self.segment_names = names
        self._segment_index = {name: i for i, name in enumerate(names)}

    def segment_of(self, profile: Profile | None) -> int:
        """Row of the most specific segment with enough users for this profile; -1 if none."""
        if not profile or not self.segment_names:
            return -1
        for key in segment_keys(profile):
            if key and key in self._segment_index:
                return self._segment_index[key]
        return -1

    def profile_of(self, user_id: int, profile: Profile | None) -> Profile | None:
        return profile if profile is not None else self.profiles.get(user_id)

    def _scores(self, user_idx: int, profile: Profile | None) -> np.ndarray | None:
        seg = self.segment_of(profile)
        return self.segment_scores[seg] if seg >= 0 else self.global_scores

    def _profile(self, user_id: int, profile: Profile | None) -> Profile | None:
        return self.profile_of(user_id, profile)

    def _state(self) -> dict[str, np.ndarray]:
        uids = np.array(sorted(self.profiles), dtype=np.int64)
        return {
            "global_scores": self.global_scores,
            "trending_scores": self.trending_scores,
            "segment_scores": self.segment_scores,
            "profile_users": uids,
        }

    def _meta(self) -> dict[str, Any]:
        return {
            "segment_names": self.segment_names,
            "profiles": [self.profiles[int(u)] for u in sorted(self.profiles)],
        }

    def _load_state(self, state: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        n_items = len(self.items)
        self.global_scores = state["global_scores"]
        self.trending_scores = state["trending_scores"]
        self.segment_scores = state["segment_scores"]
        self._set_segment_names(list(meta.get("segment_names", [])))
        profiles = meta.get("profiles", [])
        self.profiles = {int(u): dict(p) for u, p in zip(state["profile_users"], profiles, strict=True)}
        if self.global_scores.shape != (n_items,) or self.trending_scores.shape != (n_items,):
            raise ValueError("popularity vectors do not match the item map")
        if self.segment_scores.shape != (len(self.segment_names), n_items) and len(self.segment_names):
            raise ValueError("segment scores do not match the segment names / item map")


def _clean(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    return value
