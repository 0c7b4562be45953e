"""RecommendationService: the model holder, the viewers' online state and the catalog cache.

Routes only parse, call this and map results. The model is swapped by one reference assignment,
so a request in flight finishes on the model it started with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd

from movierecs.columns import Columns
from movierecs.domain.ab import CHALLENGER, CHAMPION, arm_for
from movierecs.events import Event
from movierecs.exceptions import UnknownItemError
from movierecs.models.bundle import Bundle
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.online import OnlineState

log = logging.getLogger(__name__)
CLICK_WINDOW = timedelta(hours=24)
CLICK_TYPES = {"like", "click", "watch"}


@dataclass(frozen=True)
class ItemInfo:
    title: str
    year: int | None
    genres: list[str]


@dataclass(frozen=True)
class CachedList:
    live: Live
    body: bytes
    strategy: str
    item_ids: np.ndarray


@dataclass(frozen=True)
class Live:
    """What one request reads: a bundle and its derived lookups, swapped as a unit."""

    bundle: Bundle
    version: str
    watermark: datetime | None


def _watermark(bundle: Bundle) -> datetime | None:
    if not bundle.watermark:
        return None
    ts = pd.Timestamp(bundle.watermark)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


class RecommendationService:
    def __init__(
        self,
        bundle: Bundle,
        metrics: ApiMetrics,
        catalog_items: pd.DataFrame | None = None,
        challenger: Bundle | None = None,
        challenger_percent: float = 0.0,
        ab_salt: str = "movierecs",
        cache_users: int = 50_000,
    ) -> None:
        self.metrics = metrics
        self.online = OnlineState()
        self.live = self._make_live(bundle)
        self.challenger = self._make_live(challenger) if challenger is not None else None
        self.challenger_percent, self.ab_salt = challenger_percent, ab_salt
        self.items: dict[int, ItemInfo] = {}
        self.strategy_counts: Counter[str] = Counter()
        self._vectors: dict[tuple[str, int], np.ndarray] = {}
        self._served: OrderedDict[int, dict[int, tuple[str, str, datetime]]] = OrderedDict()
        self._reload_lock = asyncio.Lock()
        # rendered responses per viewer; dropped on the viewer's next event or profile change, and on
        # reload (a cached entry also remembers the model it was computed with)
        self._cache: OrderedDict[int, dict[tuple[Any, ...], CachedList]] = OrderedDict()
        self._cache_users = cache_users
        self.set_catalog(catalog_items)
        metrics.set_model(self.live.version, bundle.meta)

    # ---- model ---------------------------------------------------------------------------------
    @staticmethod
    def _make_live(bundle: Bundle) -> Live:
        return Live(bundle, bundle.version, _watermark(bundle))

    async def reload(
        self, loader: Callable[[], Bundle], challenger_loader: Callable[[], Bundle | None] | None = None
    ) -> tuple[str, str]:
        """Load bundles off the event loop, validate them (the loaders raise), then swap."""
        async with self._reload_lock:
            bundle = await asyncio.to_thread(loader)
            challenger = await asyncio.to_thread(challenger_loader) if challenger_loader else None
            previous = self.live.version
            self.live = self._make_live(bundle)
            if challenger is not None:
                self.challenger = self._make_live(challenger)
            self._vectors = {}
            self._cache.clear()
            watermark = self.watermark
            if watermark is not None:
                self.online.forget_before(watermark)
            self._merge_bundle_items(bundle)
            self.metrics.set_model(self.live.version, bundle.meta)
            return self.live.version, previous

    @property
    def watermark(self) -> datetime | None:
        """Events after the oldest served model's watermark are kept for fold-in."""
        marks = [live.watermark for live in (self.live, self.challenger) if live is not None]
        return None if any(m is None for m in marks) else min(m for m in marks if m is not None)

    def live_for(self, user_id: int) -> tuple[Live, str]:
        """The model serving this viewer and its A/B arm (stable per viewer)."""
        if self.challenger is None:
            return self.live, CHAMPION
        arm = arm_for(user_id, self.challenger_percent, self.ab_salt)
        return (self.challenger, arm) if arm == CHALLENGER else (self.live, arm)

    # ---- catalog -------------------------------------------------------------------------------
    def set_catalog(self, items: pd.DataFrame | None) -> None:
        self.items = {}
        self._merge_bundle_items(self.live.bundle)
        if items is not None and len(items):
            for row in items.to_dict("records"):
                year = row.get(Columns.Year)
                genres = row.get(Columns.Genres)
                self.items[int(row[Columns.Item])] = ItemInfo(
                    str(row.get(Columns.Title) or f"Item {row[Columns.Item]}"),
                    None if year is None or pd.isna(year) else int(year),
                    [str(g) for g in genres] if isinstance(genres, list | tuple | np.ndarray) else [],
                )

    def _merge_bundle_items(self, bundle: Bundle) -> None:
        model = bundle.model
        for idx, item_id in enumerate(model.items.external.tolist()):
            if item_id not in self.items:
                year = int(model.years[idx])
                self.items[item_id] = ItemInfo(
                    str(model.titles[idx]), year if year >= 0 else None, model.item_genres(idx)
                )

    def check_items(self, item_ids: Sequence[int]) -> None:
        unknown = sorted({i for i in item_ids if i not in self.items})
        if unknown:
            raise UnknownItemError(unknown)

    def search_items(self, query: str, limit: int) -> list[tuple[int, ItemInfo]]:
        q = query.lower().strip()
        hits = [(i, info) for i, info in self.items.items() if q in info.title.lower()]
        hits.sort(key=lambda pair: (not pair[1].title.lower().startswith(q), pair[1].title))
        return hits[:limit]

    # ---- recommendations -----------------------------------------------------------------------
    def recommend(
        self, user_id: int, k: int, genres: Sequence[str], exclude_seen: bool, profile: dict[str, Any] | None
    ) -> tuple[Live, Any]:
        live, arm = self.live_for(user_id)
        model = live.bundle.model
        allowed = model.genre_mask(genres) if genres else None
        online = None
        vector = None
        if self.online.has(user_id):
            ext_items, weights = self.online.history(user_id, model.config.weighting)
            idx = model.items.to_internal(ext_items)
            known = idx >= 0
            online = (idx[known], weights[known])
            vector = self._vectors.get((arm, user_id))
            if vector is None and len(online[0]):
                start = time.perf_counter()
                vector = model.fold_in_vector(user_id, online)
                self.metrics.foldin_seconds.observe(time.perf_counter() - start)
                self._vectors[(arm, user_id)] = vector
        served = model.serve(user_id, k, exclude_seen, allowed, profile, online, vector)
        self._count_served(user_id, served.strategy, model.items.to_external(served.items), live.version, arm)
        return live, served

    def recommendations_json(
        self, user_id: int, k: int, genres: Sequence[str], exclude_seen: bool, profile: dict[str, Any] | None
    ) -> tuple[bytes, str]:
        """The rendered response body of GET /v1/recommendations, cached per viewer state."""
        live, arm = self.live_for(user_id)
        key = (k, tuple(genres), exclude_seen, tuple(sorted(profile.items())) if profile else None)
        entry = self._cache.get(user_id, {}).get(key)
        if entry is not None and entry.live is live:
            self._count_served(user_id, entry.strategy, entry.item_ids, live.version, arm)
            return entry.body, live.version
        live, served = self.recommend(user_id, k, genres, exclude_seen, profile)
        item_ids = live.bundle.model.items.to_external(served.items)
        info = self.items
        body = orjson.dumps(
            {
                "user_id": user_id,
                "model_version": live.version,
                "strategy": served.strategy,
                "items": [
                    {
                        "item_id": i,
                        "score": round(sc, 6),
                        "title": info[i].title,
                        "year": info[i].year,
                        "genres": info[i].genres,
                        "reason": r,
                    }
                    for i, sc, r in zip(item_ids.tolist(), served.scores.tolist(), served.reasons, strict=True)
                ],
            }
        )
        if self._cache_users:
            self._cache.setdefault(user_id, {})[key] = CachedList(live, body, served.strategy, item_ids)
            self._cache.move_to_end(user_id)
            if len(self._cache) > self._cache_users:
                self._cache.popitem(last=False)
        return body, live.version

    def forget_user(self, user_id: int) -> None:
        """Drop what is cached for a viewer (their demographics changed)."""
        self._cache.pop(user_id, None)

    def _count_served(self, user_id: int, strategy: str, item_ids: np.ndarray, version: str, arm: str) -> None:
        self.strategy_counts[strategy] += 1
        self.metrics.recommendations.labels(strategy, version).inc()
        self._remember_served(user_id, item_ids, version, arm)

    def needs_profile(self, user_id: int) -> bool:
        """True when the viewer would get popularity (so demographics matter)."""
        model = self.live_for(user_id)[0].bundle.model
        idx = model.users.index_of(user_id)
        return not (idx >= 0 and model.ials.has_user_vector[idx]) and not self.online.has(user_id)

    def similar(self, item_id: int, k: int) -> tuple[Live, np.ndarray, np.ndarray]:
        live = self.live
        idx, scores = live.bundle.model.similar(item_id, k)
        return live, idx, scores

    # ---- events --------------------------------------------------------------------------------
    def apply_event(self, event: Event) -> None:
        """Fold a viewer's event into their online history (idempotent on event_id)."""
        if self.online.apply(event, self.watermark):
            self._vectors.pop((CHAMPION, event.user_id), None)
            self._vectors.pop((CHALLENGER, event.user_id), None)
            self._cache.pop(event.user_id, None)
            self.metrics.online_users.set(len(self.online))
            self._count_click(event)

    def _remember_served(self, user_id: int, item_ids: np.ndarray, version: str, arm: str) -> None:
        now = datetime.now(UTC)
        shown = self._served.setdefault(user_id, {})
        for item in item_ids.tolist():
            shown[item] = (version, arm, now)
        self._served.move_to_end(user_id)
        if len(self._served) > 100_000:
            self._served.popitem(last=False)
        self.metrics.impressions.labels(version, arm).inc(len(item_ids))

    def _count_click(self, event: Event) -> None:
        if event.type.value not in CLICK_TYPES:
            return
        shown = self._served.get(event.user_id, {}).pop(event.item_id, None)
        if shown and event.ts - shown[2] <= CLICK_WINDOW:
            self.metrics.clicks.labels(shown[0], shown[1]).inc()
