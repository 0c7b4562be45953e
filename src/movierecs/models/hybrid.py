"""The product model: iALS for viewers with history, popularity (segment, then global) for the rest.

Also the serving surface: genre filters, similar titles, online fold-in and a reason per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from movierecs.columns import Columns
from movierecs.domain.ranking import top_k
from movierecs.domain.weighting import Weighting
from movierecs.exceptions import UnknownGenreError
from movierecs.models.base import Profile, Recommender
from movierecs.models.ials import IALSConfig, IALSRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.models.trainset import TrainingSet

TRENDING_TOP = 50  # an item among the 50 most trending gets the reason "trending now"


class HybridConfig(BaseModel):
    """Sub-model configs plus the weighting that online events get at fold-in time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ials: IALSConfig = Field(default_factory=IALSConfig)
    popular: PopularConfig = Field(default_factory=PopularConfig)
    weighting: Weighting = Field(default_factory=Weighting)


@dataclass(frozen=True)
class Route:
    """How one viewer is served (:meth:`HybridRecommender.route`).

    ``strategy`` is ``ials``, ``ials_online`` or ``popular`` (segment or global, settled by
    :meth:`HybridRecommender.rank` with the viewer's demographics); ``vector`` is the user's factors,
    None for popularity; ``history`` is the training history merged with online events (item
    indices, weights), None when there were none (then the training history is read when ranking).
    ``anonymous``: the model's training data about this viewer is not used (they asked to be
    forgotten): no trained vector, history or training demographics.
    """

    user_id: int
    user_idx: int
    strategy: str
    vector: np.ndarray | None
    history: tuple[np.ndarray, np.ndarray] | None = None
    anonymous: bool = False

    @property
    def needs_profile(self) -> bool:
        """True when the viewer gets popularity, so their demographics pick the list."""
        return self.vector is None


@dataclass(frozen=True)
class Served:
    """One viewer's list: item indices, scores, the strategy used and a reason per item."""

    items: np.ndarray
    scores: np.ndarray
    strategy: str
    reasons: list[str]


class HybridRecommender(Recommender[HybridConfig]):
    """Routes each viewer: ``ials`` (history), ``popular_segment`` (demographics), ``popular``."""

    kind: ClassVar[str] = "hybrid"
    config_class: ClassVar[type[BaseModel]] = HybridConfig

    def __init__(self, config: HybridConfig | None = None) -> None:
        super().__init__(config)
        self.ials = IALSRecommender(self.config.ials)
        self.popular = PopularRecommender(self.config.popular)
        self.titles = np.empty(0, dtype=str)
        self.years = np.empty(0, dtype=np.int32)
        self.genre_names: list[str] = []
        self.genre_matrix = np.empty((0, 0), dtype=bool)

    # ---- fitting -------------------------------------------------------------------------------
    def _fit(self, data: TrainingSet) -> None:
        for child in (self.ials, self.popular):
            child.users, child.items, child.history = self.users, self.items, self.history
            child._fit(data)
            child.is_fitted = True
        self._set_item_meta(data.items)

    def _set_item_meta(self, items: pd.DataFrame) -> None:
        n = len(self.items)
        meta = items.drop_duplicates(Columns.Item).set_index(Columns.Item)
        meta = meta.reindex(self.items.external)
        titles = meta[Columns.Title].astype(object).where(meta[Columns.Title].notna(), None)
        self.titles = np.array(
            [t if isinstance(t, str) and t else f"Item {i}" for t, i in zip(titles, self.items.external, strict=True)],
            dtype=str,
        )
        years = pd.to_numeric(meta[Columns.Year], errors="coerce").fillna(-1)
        self.years = years.to_numpy(dtype=np.int32) if n else np.empty(0, dtype=np.int32)
        genre_lists = [g if isinstance(g, list | tuple | np.ndarray) else [] for g in meta[Columns.Genres]]
        self.genre_names = sorted({str(g) for gl in genre_lists for g in gl})
        col = {g: j for j, g in enumerate(self.genre_names)}
        self.genre_matrix = np.zeros((n, len(self.genre_names)), dtype=bool)
        for i, gl in enumerate(genre_lists):
            for g in gl:
                self.genre_matrix[i, col[str(g)]] = True

    # ---- routing -------------------------------------------------------------------------------
    def _scores(self, user_idx: int, profile: Profile | None) -> np.ndarray | None:
        scores = self.ials._scores(user_idx, profile)
        if scores is not None:
            return scores
        return self.popular._scores(user_idx, profile)

    def _profile(self, user_id: int, profile: Profile | None) -> Profile | None:
        return self.popular.profile_of(user_id, profile)

    def user_history(self, user_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, weights) of a known user's training history."""
        if user_idx < 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        start, end = self.history.indptr[user_idx], self.history.indptr[user_idx + 1]
        return self.history.indices[start:end].astype(np.int64), self.history.data[start:end]

    def route(
        self, user_id: int, online: tuple[np.ndarray, np.ndarray] | None = None, anonymous: bool = False
    ) -> Route:
        """Decide how a viewer is served: the one place where iALS, iALS online or popularity is chosen.

        ``online`` is the viewer's (item indices, weights) since the training watermark; when it has
        any item, the user vector is folded in from training history + online events
        (``ials_online``). A known viewer with trained factors gets ``ials``; anyone else, or a
        fold-in with no factor-bearing item, gets popularity (``Route.needs_profile``).
        """
        if anonymous:  # forgotten: served like a new viewer, from their events since then only
            return replace(self.route(-1, online), user_id=user_id, anonymous=True)
        user_idx = self.users.index_of(user_id)
        if online is not None and len(online[0]):
            items, weights = merge_history(*self.user_history(user_idx), *online)
            vector = self.ials.fold_in(items, weights)
            if np.any(vector):
                return Route(user_id, user_idx, "ials_online", vector, (items, weights))
            return Route(user_id, user_idx, "popular", None, (items, weights))  # no history item has factors
        if user_idx >= 0 and self.ials.has_user_vector[user_idx]:
            return Route(user_id, user_idx, "ials", self.ials.user_factors[user_idx])
        return Route(user_id, user_idx, "popular", None)

    def rank(
        self,
        route: Route,
        k: int = 10,
        exclude_seen: bool = True,
        allowed: np.ndarray | None = None,
        profile: Profile | None = None,
    ) -> Served:
        """The routed viewer's top ``k`` with strategy and reasons.

        For a popularity route, ``profile`` (or the viewer's training demographics) picks the segment:
        ``popular_segment`` when one matches, else ``popular``. ``profile`` is ignored otherwise.
        """
        self._check_ready(k)
        if route.vector is not None:
            scores = self.ials.scores_for_vector(route.vector)
            strategy = route.strategy
        else:
            known = profile if route.anonymous else self.popular.profile_of(route.user_id, profile)
            seg = self.popular.segment_of(known)
            strategy = "popular_segment" if seg >= 0 else "popular"
            scores = self.popular.segment_scores[seg] if seg >= 0 else self.popular.global_scores
        hist_items, hist_weights = route.history if route.history is not None else self.user_history(route.user_idx)
        items, item_scores = top_k(scores, k, hist_items if exclude_seen else None, allowed)
        return Served(items, item_scores, strategy, self.reasons(items, strategy, hist_items, hist_weights))

    def serve(
        self,
        user_id: int,
        k: int = 10,
        exclude_seen: bool = True,
        allowed: np.ndarray | None = None,
        profile: Profile | None = None,
        online: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Served:
        """One viewer's list with strategy and reasons: :meth:`route`, then :meth:`rank`."""
        self._check_ready(k)
        return self.rank(self.route(user_id, online), k, exclude_seen, allowed, profile)

    def fold_in_vector(self, user_id: int, online: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The user vector folded in from training history + ``online`` (item indices, weights)."""
        user_idx = self.users.index_of(user_id)
        items, weights = merge_history(*self.user_history(user_idx), *online)
        return self.ials.fold_in(items, weights)

    # ---- explanations, filters, similar titles -------------------------------------------------
    def reasons(self, items: np.ndarray, strategy: str, hist_items: np.ndarray, hist_weights: np.ndarray) -> list[str]:
        if strategy in ("ials", "ials_online"):
            liked = hist_items[hist_weights > 0]
            liked = liked[self.ials.has_item_vector[liked]] if len(liked) else liked
            if len(liked) == 0:
                return ["recommended for you"] * len(items)
            sims = self.ials.item_unit[items] @ self.ials.item_unit[liked].T
            nearest = liked[np.argmax(sims, axis=1)]
            return [f"because you liked {self.titles[j]}" for j in nearest]
        if strategy == "popular_segment":
            return ["popular with viewers like you"] * len(items)
        trending_rank = self._trending_rank()
        return ["trending now" if trending_rank[i] < TRENDING_TOP else "popular with all viewers" for i in items]

    def _trending_rank(self) -> np.ndarray:
        cached: np.ndarray | None = self.__dict__.get("_trend_rank")
        if cached is None:
            order = np.argsort(-self.popular.trending_scores, kind="stable")
            cached = np.empty(len(order), dtype=np.int64)
            cached[order] = np.arange(len(order))
            self.__dict__["_trend_rank"] = cached
        return cached

    def genre_mask(self, genres: Sequence[str]) -> np.ndarray:
        """Items having any of ``genres`` (case-insensitive); raises for an unknown genre."""
        lookup = {g.lower(): j for j, g in enumerate(self.genre_names)}
        unknown = [g for g in genres if g.lower() not in lookup]
        if unknown:
            raise UnknownGenreError(unknown, self.genre_names)
        cols = [lookup[g.lower()] for g in genres]
        mask: np.ndarray = self.genre_matrix[:, cols].any(axis=1)
        return mask

    def similar(self, item_id: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        return self.ials.similar(self.items.index_of(item_id), k)

    def item_genres(self, item_idx: int) -> list[str]:
        return [self.genre_names[j] for j in np.flatnonzero(self.genre_matrix[item_idx])]

    # ---- persistence ---------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        state = {f"ials.{k}": v for k, v in self.ials._state().items()}
        state |= {f"popular.{k}": v for k, v in self.popular._state().items()}
        return state | {"titles": self.titles, "years": self.years, "genre_matrix": self.genre_matrix}

    def _meta(self) -> dict[str, Any]:
        return {"popular": self.popular._meta(), "genre_names": self.genre_names}

    def _load_state(self, state: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        for prefix, child in (("ials.", self.ials), ("popular.", self.popular)):
            child.users, child.items, child.history = self.users, self.items, self.history
            sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            child._load_state(sub, meta.get(prefix.rstrip("."), {}))
            child.is_fitted = True
        self.titles, self.years = state["titles"], state["years"]
        self.genre_matrix = state["genre_matrix"]
        self.genre_names = list(meta.get("genre_names", []))
        n = len(self.items)
        if len(self.titles) != n or len(self.years) != n or self.genre_matrix.shape != (n, len(self.genre_names)):
            raise ValueError("item metadata does not match the item map")


def merge_history(
    items: np.ndarray, weights: np.ndarray, new_items: np.ndarray, new_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Training history updated by newer events: a newer weight for the same item replaces the old.

    Examples
    --------
    >>> i, w = merge_history(np.array([1, 2]), np.array([1.0, 1.0]), np.array([2, 5]), np.array([-1.0, 1.0]))
    >>> i.tolist(), w.tolist()
    ([1, 2, 5], [1.0, -1.0, 1.0])
    """
    new_items = np.asarray(new_items, dtype=np.int64)
    keep_old = ~np.isin(items, new_items)
    all_items = np.concatenate([items[keep_old], new_items])
    all_weights = np.concatenate([weights[keep_old], np.asarray(new_weights, dtype=np.float32)])
    order = np.argsort(all_items, kind="stable")
    return all_items[order], all_weights[order].astype(np.float32)
