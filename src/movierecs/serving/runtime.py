"""Runtime: the API process's long-lived parts — the served models, the lists, the event bus tail.

The composition root builds the ports (:class:`ApiPorts`); the runtime only starts and stops
them. Every replica tails the event bus (no consumer group), so a like sent to any replica reaches
every replica's fold-in state. The tail starts ``tail_window_s`` before start-up (never before the
model's watermark), so start-up does not grow with the events since training: what a viewer did
before that is read from the interaction store when they ask (:mod:`movierecs.serving.stored`).
In the embedded mode (``memory://`` bus) the ports also carry a sink that writes the bus's events to
the interaction store, the consumer's job on a real stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from movierecs.events import Event, Forget
from movierecs.models.bundle import Bundle, BundleLoader
from movierecs.ports import Catalog, EventBus, InteractionStore
from movierecs.serving.feed import Feed
from movierecs.serving.live import LiveModels
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.online import OnlineState
from movierecs.serving.profiles import Profiles
from movierecs.serving.stored import EPOCH, StoredEvents
from movierecs.serving.titles import Titles
from movierecs.settings import Settings

log = logging.getLogger(__name__)
SINK_STOP_S = 15.0  # how long stop() waits for the sink to write the batch in hand


class Sink(Protocol):
    """A background writer (the embedded consumer): runs until asked to stop."""

    async def run(self) -> None: ...

    def request_stop(self) -> None: ...


@dataclass(frozen=True)
class ApiPorts:
    """What the API talks to, built by :func:`movierecs.composition.build_api`.

    Building them must not connect; :meth:`Runtime.start` does, and serves titles from the model
    bundle when the catalog is unreachable.
    """

    bus: EventBus
    bundles: BundleLoader
    catalog: Catalog | None = None
    sink: Sink | None = None
    store: InteractionStore | None = None  # viewers' events since the watermark, read on demand


class Runtime:
    """Started in the app's lifespan; the routes reach the holders through it."""

    def __init__(self, settings: Settings, ports: ApiPorts, metrics: ApiMetrics) -> None:
        self.settings, self.ports, self.metrics = settings, ports, metrics
        self._feed: Feed | None = None
        self._profiles: Profiles | None = None
        self._stored: StoredEvents | None = None
        self._index_task: asyncio.Task[None] | None = None
        self._tail_task: asyncio.Task[None] | None = None
        self._sink_task: asyncio.Task[None] | None = None

    @property
    def feed(self) -> Feed:
        if self._feed is None:
            raise RuntimeError("the API runtime is not started")
        return self._feed

    @property
    def profiles(self) -> Profiles:
        if self._profiles is None:
            raise RuntimeError("the API runtime is not started")
        return self._profiles

    @property
    def stored(self) -> StoredEvents:
        if self._stored is None:
            raise RuntimeError("the API runtime is not started")
        return self._stored

    @property
    def models(self) -> LiveModels:
        return self.feed.models

    @property
    def titles(self) -> Titles:
        return self.feed.titles

    @property
    def bus(self) -> EventBus:
        return self.ports.bus

    async def start(self, bundle: Bundle | None = None) -> None:
        """Load the model(s), read the catalog, start the bus, its tail and the sink."""
        if bundle is None:
            bundle = await asyncio.to_thread(self.ports.bundles.load)
        challenger = await asyncio.to_thread(self._load_challenger) if self._ab_enabled else None
        models = LiveModels(
            bundle,
            self.metrics,
            challenger=challenger,
            challenger_percent=self.settings.ab_challenger_percent,
            ab_salt=self.settings.ab_salt,
        )
        titles = Titles(bundle)
        s = self.settings
        online = OnlineState(max_users=s.online_max_viewers, max_events_per_user=s.online_max_events_per_viewer)
        feed = self._feed = Feed(
            models, titles, self.metrics, s.response_cache_users, max_routes=s.fold_in_cache_viewers, online=online
        )
        self._profiles = Profiles(self.ports.catalog, models, on_change=feed.forget_user, forgotten=feed.forgotten)
        store = self.ports.store if s.viewer_store_reads else None
        self._stored = StoredEvents(
            store,
            online,
            lambda: models.watermark,
            self.metrics,
            feed.viewer_changed,
            on_forgotten=feed.forgotten.add,
            timeout_s=s.store_read_timeout_ms / 1000,
        )
        if store is not None and not await self._stored.load_index():
            self._index_task = asyncio.create_task(self._stored.keep_indexing(), name="viewer-index")
        log.info("model loaded", extra={"model_version": bundle.version, "watermark": bundle.watermark})
        catalog = self.ports.catalog
        if catalog is not None:
            try:
                await catalog.migrate()
                titles.set_catalog(await catalog.items(), bundle)
            except Exception:
                log.exception("catalog unavailable; serving titles from the model bundle")
        await self.bus.start()
        self._tail_task = asyncio.create_task(self._tail(), name="tail")
        if self.ports.sink is not None:
            self._sink_task = asyncio.create_task(self.ports.sink.run(), name="sink")

    async def stop(self) -> None:
        """Stop the sink (it writes the batch in hand), the bus and its tail, then the catalog."""
        if self.ports.sink is not None:
            self.ports.sink.request_stop()
        await self.bus.stop()
        if self._sink_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._sink_task, SINK_STOP_S)
        for task in (self._tail_task, self._index_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.ports.catalog is not None:
            await self.ports.catalog.close()
        if self.ports.store is not None:
            await asyncio.to_thread(self.ports.store.close)

    # ---- events --------------------------------------------------------------------------------
    async def publish(self, events: Sequence[Event]) -> None:
        """Hand events to the bus; raises BusUnavailableError when it does not acknowledge them."""
        await self.bus.publish(events)

    def tail_start(self, now: datetime | None = None) -> datetime:
        """Where the tail starts: ``tail_window_s`` before ``now``, never before the watermark."""
        start = (now or datetime.now(UTC)) - timedelta(seconds=self.settings.tail_window_s)
        watermark = self.models.watermark
        if self._stored is None or self._stored.store is None:  # nothing to read back: replay it all
            return watermark or EPOCH
        return max(start, watermark) if watermark is not None else start

    async def _tail(self) -> None:
        """Apply every event on the bus since :meth:`tail_start` to the fold-in state; restart on errors."""
        backoff = 0.5
        since = self.tail_start()
        while True:
            try:
                async for event in self.bus.tail(since):
                    if isinstance(event, Forget):
                        self.forget_locally(event.user_id)
                    else:
                        self.feed.apply_event(event)
                    backoff = 0.5
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event bus tail failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    # ---- the right to be forgotten ---------------------------------------------------------------
    async def forget(self, user_id: int) -> None:
        """DELETE /v1/users/{id}: a tombstone on the bus first (every replica and the consumer act on
        it; raises BusUnavailableError, then nothing was done), then this replica, the catalog and the
        interaction store at once. A store or catalog failure is logged: the consumer applies the
        tombstone to the store too, and the catalog row goes on the next try."""
        await self.bus.forget(user_id)
        self.forget_locally(user_id)
        if self.ports.catalog is not None:
            try:
                await self.ports.catalog.delete_user(user_id)
            except Exception:
                log.exception("deleting a forgotten viewer's demographics failed; retry the DELETE")
        if self.ports.store is not None:
            try:
                await asyncio.to_thread(self.ports.store.forget_user, user_id, datetime.now(UTC))
            except Exception:
                log.exception("deleting a forgotten viewer's events failed; the consumer's tombstone will")

    def forget_locally(self, user_id: int) -> None:
        self.feed.forget_viewer(user_id)
        self.profiles.forget(user_id)

    # ---- model ---------------------------------------------------------------------------------
    @property
    def _ab_enabled(self) -> bool:
        return self.settings.ab_challenger_percent > 0

    def _load_challenger(self) -> Bundle | None:
        """The A/B challenger (``models:/<name>@<challenger alias>``); None, logged, if it can't load."""
        uri = f"models:/{self.settings.model_name}@{self.settings.ab_challenger_alias}"
        try:
            return self.ports.bundles.load(uri)
        except Exception:
            log.exception("A/B challenger %s unavailable; every viewer gets the champion", uri)
            return None

    async def reload(self, model: str | None) -> tuple[str, str]:
        """Load ``model`` (default: the configured one) and swap; (new version, previous version)."""
        challenger = self._load_challenger if self._ab_enabled else None
        return await self.feed.reload(lambda: self.ports.bundles.load(model), challenger)

    async def readiness(self) -> dict[str, bool]:
        """The model is loaded, the bus tail is running and the catalog (if any) answers."""
        checks = {"model": self._feed is not None}
        checks["event_bus"] = self._tail_task is not None and not self._tail_task.done()
        if self.ports.catalog is not None:
            try:
                await asyncio.wait_for(self.ports.catalog.get_user(1), timeout=2.0)
                checks["catalog"] = True
            except Exception:
                checks["catalog"] = False
        return checks
