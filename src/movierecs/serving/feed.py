"""The lists the API serves: a viewer's recommendations (routed once per request) and similar titles.

A request first gets a :class:`Plan` — the viewer's model and A/B arm, computed once, and the
model's :class:`~movierecs.models.hybrid.Route` (iALS, iALS online or popularity), computed with
the viewer's online history merged once — then renders it, from the response cache when it can.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from movierecs.events import Event
from movierecs.models.bundle import Bundle
from movierecs.models.hybrid import Route, Served
from movierecs.serving import render
from movierecs.serving.cache import CachedList, ResponseCache
from movierecs.serving.live import Live, LiveModels
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.online import OnlineState, StoredViewers
from movierecs.serving.titles import Titles
from movierecs.serving.tracking import ServedTracker


@dataclass(frozen=True)
class Plan:
    """How one request serves one viewer: the model, the A/B arm and the model's route."""

    user_id: int
    live: Live
    arm: str
    route: Route


class Feed:
    """Viewers' lists over the served models, their online events and the catalog cache.

    Parameters
    ----------
    models, titles
        The served models and the item metadata that lists are rendered with.
    metrics
        Fold-in time, online viewers, and (through :class:`ServedTracker`) lists served and clicks.
    cache_users
        Viewers whose rendered lists are cached (0: no response cache).
    max_routes
        Online viewers whose routes (folded-in vectors) are kept between their events.
    online
        The viewers' events since the watermark (default: an :class:`OnlineState` with its defaults).
    """

    def __init__(
        self,
        models: LiveModels,
        titles: Titles,
        metrics: ApiMetrics,
        cache_users: int = 50_000,
        max_routes: int = 50_000,
        online: OnlineState | None = None,
    ) -> None:
        self.models, self.titles, self.metrics = models, titles, metrics
        self.online = online if online is not None else OnlineState()
        self.forgotten = StoredViewers()  # viewers who asked to be forgotten: the model's data on them is not used
        self.online.on_evict = lambda _user_id: metrics.online_evictions.inc()
        self.cache = ResponseCache(cache_users)
        self.tracker = ServedTracker(metrics)
        # online viewers' routes (the fold-in solve is the costly part); dropped on their next event
        self._routes: OrderedDict[int, tuple[Live, Route]] = OrderedDict()
        self._max_routes = max_routes

    # ---- one viewer's list ---------------------------------------------------------------------
    def plan(self, user_id: int) -> Plan:
        """The viewer's model, arm and route; the online history is read and folded in only here."""
        live, arm = self.models.for_viewer(user_id)
        model = live.bundle.model
        anonymous = user_id in self.forgotten
        if not self.online.has(user_id):
            return Plan(user_id, live, arm, model.route(user_id, anonymous=anonymous))
        cached = self._routes.get(user_id)
        if cached is not None and cached[0] is live:
            return Plan(user_id, live, arm, cached[1])
        ext_items, weights = self.online.history(user_id, model.config.weighting)
        idx = model.items.to_internal(ext_items)
        known = idx >= 0
        online = (idx[known], weights[known])
        start = time.perf_counter()
        route = model.route(user_id, online, anonymous=anonymous)
        if len(online[0]):
            self.metrics.foldin_seconds.observe(time.perf_counter() - start)
        if self._max_routes:
            self._routes[user_id] = (live, route)
            self._routes.move_to_end(user_id)
            if len(self._routes) > self._max_routes:
                self._routes.popitem(last=False)
        return Plan(user_id, live, arm, route)

    def recommend(
        self, plan: Plan, k: int, genres: Sequence[str], exclude_seen: bool, profile: dict[str, Any] | None
    ) -> tuple[Served, np.ndarray]:
        """The planned viewer's list and its external item ids (counted as served, not cached)."""
        model = plan.live.bundle.model
        allowed = model.genre_mask(genres) if genres else None
        served = model.rank(plan.route, k, exclude_seen, allowed, profile)
        item_ids = model.items.to_external(served.items)
        self.tracker.served(plan.user_id, served.strategy, item_ids, plan.live.version, plan.arm)
        return served, item_ids

    def recommendations_json(
        self, plan: Plan, k: int, genres: Sequence[str], exclude_seen: bool, profile: dict[str, Any] | None
    ) -> bytes:
        """The body of GET /v1/recommendations, cached per viewer, parameters and profile."""
        live = plan.live
        # genres arrive normalised (params: deduplicated, sorted case-insensitively); the key folds case
        folded = tuple(g.casefold() for g in genres)
        key = (k, folded, exclude_seen, tuple(sorted(profile.items())) if profile else None)
        entry = self.cache.get(plan.user_id, key, live)
        if entry is not None:
            self.metrics.response_cache.labels("hit").inc()
            self.tracker.served(plan.user_id, entry.strategy, entry.item_ids, live.version, plan.arm)
            return entry.body
        if self.cache.max_users:
            self.metrics.response_cache.labels("miss").inc()
        served, item_ids = self.recommend(plan, k, genres, exclude_seen, profile)
        body = render.recommendations(
            plan.user_id,
            live.version,
            served.strategy,
            item_ids.tolist(),
            served.scores.tolist(),
            served.reasons,
            self.titles.info,
        )
        self.cache.put(plan.user_id, key, CachedList(live, body, served.strategy, item_ids))
        return body

    def similar_json(self, item_id: int, k: int) -> bytes:
        """The body of GET /v1/items/{item_id}/similar (the champion's item factors)."""
        live = self.models.live
        model = live.bundle.model
        idx, scores = model.similar(item_id, k)
        ids = model.items.to_external(idx).tolist()
        return render.similar(item_id, live.version, ids, scores.tolist(), self.titles.info)

    # ---- changes -------------------------------------------------------------------------------
    def apply_event(self, event: Event) -> None:
        """Fold a viewer's event into their online history (idempotent on event_id)."""
        if self.online.apply(event, self.models.watermark):
            self.viewer_changed(event.user_id)
            self.tracker.interacted(event)

    def viewer_changed(self, user_id: int) -> None:
        """The viewer's history changed (an event, or events read from the store): drop what was
        computed from the old one."""
        self._routes.pop(user_id, None)
        self.cache.forget(user_id)
        self.metrics.online_users.set(len(self.online))

    def forget_user(self, user_id: int) -> None:
        """Drop the viewer's cached lists (their demographics changed)."""
        self.cache.forget(user_id)

    def forget_viewer(self, user_id: int) -> None:
        """The viewer asked to be forgotten: drop their events, lists and impressions, and serve them
        from now on as a new viewer (the served model's training data on them is ignored)."""
        self.forgotten.add(user_id)
        self.online.forget(user_id)
        self.tracker.forget(user_id)
        self.viewer_changed(user_id)

    async def reload(
        self, load: Callable[[], Bundle], load_challenger: Callable[[], Bundle | None] | None = None
    ) -> tuple[str, str]:
        """Swap in newly loaded models; (new version, previous version). See :meth:`LiveModels.reload`."""
        return await self.models.reload(load, load_challenger, on_swap=self._swapped)

    def _swapped(self) -> None:
        self._routes.clear()
        self.cache.clear()
        watermark = self.models.watermark
        if watermark is not None:
            self.online.forget_before(watermark)
        self.titles.add_bundle(self.models.live.bundle)
