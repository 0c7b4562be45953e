"""iALS through rectools' ImplicitALSWrapperModel (implicit's AlternatingLeastSquares)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from movierecs.columns import Columns
from movierecs.domain.foldin import fold_in
from movierecs.models.base import Profile, Recommender
from movierecs.models.trainset import TrainingSet


class IALSConfig(BaseModel):
    """iALS hyper-parameters (defaults: chosen on a validation split of ml-100k by ``bench/selection.py``;
    see docs/BENCHMARKS.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factors: int = Field(default=64, ge=1, le=1024)
    regularization: float = Field(default=10.0, ge=0.0)
    alpha: float = Field(default=0.25, gt=0.0, description="confidence = alpha * weight")
    iterations: int = Field(default=15, ge=1, le=500)
    seed: int = 42
    num_threads: int = Field(default=1, ge=0, description="0 = all cores")


class IALSRecommender(Recommender[IALSConfig]):
    """Personalised scores ``x_u · y_i`` for users with a non-zero-weight history."""

    kind: ClassVar[str] = "ials"
    config_class: ClassVar[type[BaseModel]] = IALSConfig

    def __init__(self, config: IALSConfig | None = None) -> None:
        super().__init__(config)
        self.user_factors = np.empty((0, self.config.factors), dtype=np.float32)
        self.item_factors = np.empty((0, self.config.factors), dtype=np.float32)
        self.has_user_vector = np.empty(0, dtype=bool)
        self.has_item_vector = np.empty(0, dtype=bool)
        self.gram = np.empty((self.config.factors, self.config.factors), dtype=np.float64)

    def _fit(self, data: TrainingSet) -> None:
        # Imported here: importing rectools/implicit costs ~1 s and the API's cold-start path
        # never needs it.
        from implicit.als import AlternatingLeastSquares
        from rectools.dataset import Dataset
        from rectools.models import ImplicitALSWrapperModel

        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        signal = data.interactions[data.interactions[Columns.Weight] != 0]
        cfg = self.config
        n_users, n_items = len(self.users), len(self.items)
        self.user_factors = np.zeros((n_users, cfg.factors), dtype=np.float32)
        self.item_factors = np.zeros((n_items, cfg.factors), dtype=np.float32)
        self.has_user_vector = np.zeros(n_users, dtype=bool)
        self.has_item_vector = np.zeros(n_items, dtype=bool)
        if not signal.empty:
            dataset = Dataset.construct(signal[list(Columns.Interactions)])
            wrapper = ImplicitALSWrapperModel(
                AlternatingLeastSquares(
                    factors=cfg.factors,
                    regularization=cfg.regularization,
                    alpha=cfg.alpha,
                    iterations=cfg.iterations,
                    random_state=cfg.seed,
                    num_threads=cfg.num_threads,
                )
            )
            wrapper.fit(dataset)
            user_vecs, item_vecs = wrapper.get_vectors()
            u_rows = self.users.to_internal(dataset.user_id_map.external_ids)
            i_rows = self.items.to_internal(dataset.item_id_map.external_ids)
            self.user_factors[u_rows] = user_vecs
            self.item_factors[i_rows] = item_vecs
            self.has_user_vector[u_rows] = True
            self.has_item_vector[i_rows] = True
        self._prepare()

    def _prepare(self) -> None:
        self.gram = self.item_factors.T.astype(np.float64) @ self.item_factors.astype(np.float64)
        # float32 like the factors (a float64 penalty would double the work of every score vector)
        self._item_mask_penalty = np.where(self.has_item_vector, 0.0, -np.inf).astype(np.float32)
        self._all_items_have_vectors = bool(self.has_item_vector.all())
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self.item_unit = self.item_factors / np.maximum(norms, 1e-12)

    def scores_for_vector(self, vector: np.ndarray) -> np.ndarray:
        """Scores of every item for an arbitrary user vector (e.g. a folded-in one)."""
        result: np.ndarray = self.item_factors @ vector.astype(np.float32, copy=False)
        if not self._all_items_have_vectors:
            result += self._item_mask_penalty
        return result

    def _scores(self, user_idx: int, profile: Profile | None) -> np.ndarray | None:
        if user_idx < 0 or not self.has_user_vector[user_idx]:
            return None
        return self.scores_for_vector(self.user_factors[user_idx])

    def fold_in(self, item_idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """User vector for a history of (item index, weight) pairs (see :mod:`movierecs.domain.foldin`)."""
        known = (item_idx >= 0) & self.has_item_vector[np.maximum(item_idx, 0)]
        return fold_in(
            self.item_factors, self.gram, item_idx[known], weights[known], self.config.regularization, self.config.alpha
        )

    def similar(self, item_idx: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items closest to ``item_idx`` by cosine of item factors (the item itself excluded)."""
        from movierecs.domain.ranking import top_k

        if item_idx < 0 or not self.has_item_vector[item_idx]:
            return np.empty(0, dtype=np.int64), np.empty(0)
        sims = self.item_unit @ self.item_unit[item_idx] + self._item_mask_penalty
        return top_k(sims, k, exclude=np.array([item_idx]))

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "has_user_vector": self.has_user_vector,
            "has_item_vector": self.has_item_vector,
        }

    def _load_state(self, state: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        f = self.config.factors
        self.user_factors = state["user_factors"]
        self.item_factors = state["item_factors"]
        self.has_user_vector = state["has_user_vector"]
        self.has_item_vector = state["has_item_vector"]
        if self.user_factors.shape != (len(self.users), f):
            raise ValueError(f"user factors {self.user_factors.shape} != ({len(self.users)}, {f})")
        if self.item_factors.shape != (len(self.items), f):
            raise ValueError(f"item factors {self.item_factors.shape} != ({len(self.items)}, {f})")
        if not (np.isfinite(self.user_factors).all() and np.isfinite(self.item_factors).all()):
            raise ValueError("factors contain NaN or infinity")
        self._prepare()
