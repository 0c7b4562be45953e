"""The recommender base class: public methods validate, private ``_fit``/``_scores`` do the work."""

from __future__ import annotations

import json
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel

from movierecs.columns import Columns
from movierecs.domain.idmap import IdMap
from movierecs.domain.ranking import top_k
from movierecs.exceptions import BundleValidationError, DataError, NotFittedError
from movierecs.models.trainset import TrainingSet

ConfigT = TypeVar("ConfigT", bound=BaseModel)
Profile = Mapping[str, Any]
STATE_FILE = "state.npz"
CONFIG_FILE = "model.json"


class Recommender(ABC, Generic[ConfigT]):
    """Base of every model: ``fit`` on a :class:`TrainingSet`, ``recommend`` for external user ids.

    Subclasses set ``kind`` and ``config_class`` and implement ``_fit``, ``_scores``, ``_state`` and
    ``_load_state``. The base owns the id maps and the (users × items) history matrix used to
    exclude seen items.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type[BaseModel]]

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_class()  # type: ignore[assignment]
        self.users = IdMap(np.empty(0, dtype=np.int64))
        self.items = IdMap(np.empty(0, dtype=np.int64))
        self.history = sp.csr_matrix((0, 0), dtype=np.float32)
        self.is_fitted = False

    # ---- configuration -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": self.config.model_dump(mode="json")}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        body = config.get("config", config)
        return cls(cls.config_class.model_validate(body))  # type: ignore[arg-type]

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, data: TrainingSet) -> Self:
        """Fit on ``data``; refitting replaces everything learnt before."""
        if data.interactions.empty:
            raise DataError("cannot fit on an empty interactions frame")
        self.users = IdMap.from_ids(data.interactions[Columns.User].to_numpy())
        self.items = IdMap.from_ids(data.interactions[Columns.Item].to_numpy())
        self.history = data.matrix(self.users, self.items)
        self._fit(data)
        self.is_fitted = True
        return self

    @abstractmethod
    def _fit(self, data: TrainingSet) -> None: ...

    # ---- recommending --------------------------------------------------------------------------
    def seen(self, user_idx: int) -> np.ndarray:
        """Item indices the user interacted with in training (any weight)."""
        if user_idx < 0:
            return np.empty(0, dtype=np.int64)
        start, end = self.history.indptr[user_idx], self.history.indptr[user_idx + 1]
        return self.history.indices[start:end].astype(np.int64)

    def recommend_one(
        self,
        user_id: int,
        k: int = 10,
        exclude_seen: bool = True,
        allowed: np.ndarray | None = None,
        profile: Profile | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Item *indices* and scores for one user, best first (empty if the model can't serve them)."""
        self._check_ready(k)
        user_idx = self.users.index_of(user_id)
        scores = self._scores(user_idx, self._profile(user_id, profile))
        if scores is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        exclude = self.seen(user_idx) if exclude_seen else None
        return top_k(scores, k, exclude, allowed)

    def recommend(
        self,
        user_ids: Sequence[int] | np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        allowed: np.ndarray | None = None,
        profiles: Mapping[int, Profile] | None = None,
    ) -> pd.DataFrame:
        """Recommendations for many users: columns ``user_id, item_id, rank, score``."""
        self._check_ready(k)
        out_users, out_items, out_ranks, out_scores = [], [], [], []
        for uid in np.asarray(user_ids, dtype=np.int64):
            profile = profiles.get(int(uid)) if profiles else None
            idx, scores = self.recommend_one(int(uid), k, exclude_seen, allowed, profile)
            out_users.append(np.full(len(idx), uid, dtype=np.int64))
            out_items.append(self.items.to_external(idx))
            out_ranks.append(np.arange(1, len(idx) + 1, dtype=np.int64))
            out_scores.append(scores.astype(np.float64))
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.empty(0, dtype=dt)  # noqa: E731
        return pd.DataFrame(
            {
                Columns.User: cat(out_users, np.int64),
                Columns.Item: cat(out_items, np.int64),
                Columns.Rank: cat(out_ranks, np.int64),
                Columns.Score: cat(out_scores, np.float64),
            }
        )

    def _profile(self, user_id: int, profile: Profile | None) -> Profile | None:
        """The demographics to use for a user: the given ones, else what the model knows (hook)."""
        return profile

    @abstractmethod
    def _scores(self, user_idx: int, profile: Profile | None) -> np.ndarray | None:
        """Scores over all items for a user (index -1 if unknown), or ``None`` if not servable."""

    def _check_ready(self, k: int) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")

    # ---- persistence ---------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _load_state(self, state: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        return None

    def _meta(self) -> dict[str, Any]:
        return {}

    def save(self, path: Path) -> Path:
        """Write the model to a folder (``model.json`` + ``state.npz``)."""
        if not self.is_fitted:
            raise NotFittedError("only a fitted model can be saved")
        path.mkdir(parents=True, exist_ok=True)
        arrays = {
            "users": self.users.external,
            "items": self.items.external,
            "history_indptr": self.history.indptr,
            "history_indices": self.history.indices,
            "history_data": self.history.data,
            **self._state(),
        }
        np.savez(path / STATE_FILE, **arrays)
        (path / CONFIG_FILE).write_text(json.dumps({**self.get_config(), "meta": self._meta()}, indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> Self:
        """Load a folder written by :meth:`save`, validating shapes and id maps."""
        try:
            config = json.loads((path / CONFIG_FILE).read_text())
            with np.load(path / STATE_FILE, allow_pickle=False) as npz:
                state = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise BundleValidationError(f"cannot read model files in {path}: {exc}") from exc
        kind = config.get("kind") if isinstance(config, dict) else None
        if kind != cls.kind:
            raise BundleValidationError(f"{path} holds a {kind!r} model, not {cls.kind!r}")
        try:
            model = cls.from_config(config)  # pydantic's ValidationError is a ValueError
            model.users = IdMap(state["users"])
            model.items = IdMap(state["items"])
            model.history = sp.csr_matrix(
                (state["history_data"], state["history_indices"], state["history_indptr"]),
                shape=(len(model.users), len(model.items)),
            )
            model.history.check_format(full_check=True)  # the constructor doesn't bound-check indices
            model._load_state(state, config.get("meta", {}))
        except (KeyError, ValueError, IndexError) as exc:
            raise BundleValidationError(f"inconsistent model state in {path}: {exc}") from exc
        model.is_fitted = True
        return model
