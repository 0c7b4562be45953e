"""Runtime: the API process's long-lived parts — model, catalog, event bus and background tasks.

Every replica tails the event bus from the model's training watermark (no consumer group), so a
like sent to any replica reaches every replica's fold-in state. In the embedded mode (``memory://``
bus) the API also runs the sink that writes events to the interaction store, the consumer's job
on a real stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from movierecs.events import Event
from movierecs.models.bundle import Bundle
from movierecs.ports import Catalog, EventBus, InteractionStore
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.service import RecommendationService
from movierecs.settings import Settings

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


class Runtime:
    def __init__(self, settings: Settings, metrics: ApiMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.catalog: Catalog | None = None
        self.bus: EventBus | None = None
        self.store: InteractionStore | None = None
        self._service: RecommendationService | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._profiles: dict[int, dict[str, Any] | None] = {}

    @property
    def service(self) -> RecommendationService:
        if self._service is None:
            raise RuntimeError("the API runtime is not started")
        return self._service

    async def start(self, bundle: Bundle | None = None) -> None:
        from movierecs.adapters.factory import make_event_bus
        from movierecs.wiring import resolve_bundle

        if bundle is None:
            bundle = await asyncio.to_thread(resolve_bundle, self.settings, None)
        challenger = await asyncio.to_thread(self._load_challenger) if self._ab_enabled else None
        self._service = RecommendationService(
            bundle,
            self.metrics,
            challenger=challenger,
            challenger_percent=self.settings.ab_challenger_percent,
            ab_salt=self.settings.ab_salt,
            cache_users=self.settings.response_cache_users,
        )
        log.info("model loaded", extra={"model_version": bundle.version, "watermark": bundle.watermark})
        try:
            from movierecs.adapters.factory import make_catalog

            self.catalog = make_catalog(self.settings.catalog)
            await self.catalog.migrate()
            self._service.set_catalog(await self.catalog.items())
        except Exception:
            log.exception("catalog unavailable; serving titles from the model bundle")
        self.bus = make_event_bus(self.settings)
        await self.bus.start()
        self._tasks.append(asyncio.create_task(self._tail(), name="tail"))
        if self.settings.event_bus_url.startswith("memory://") and self.settings.embedded_sink:
            self._tasks.append(asyncio.create_task(self._sink(), name="sink"))

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.catalog is not None:
            await self.catalog.close()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)

    # ---- events --------------------------------------------------------------------------------
    async def publish(self, events: Sequence[Event]) -> None:
        assert self.bus is not None
        await self.bus.publish(events)

    async def _tail(self) -> None:
        """Apply every event on the bus since the watermark to the fold-in state; restart on errors."""
        assert self.bus is not None
        backoff = 0.5
        while True:
            since = self.service.live.watermark or EPOCH
            try:
                async for event in self.bus.tail(since):
                    self.service.apply_event(event)
                    backoff = 0.5
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event bus tail failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _sink(self) -> None:
        """Embedded mode: write the in-process bus's events to the interaction store in batches."""
        assert self.bus is not None
        try:
            from movierecs.adapters.factory import make_interaction_store

            store = await asyncio.to_thread(make_interaction_store, self.settings.interactions)
            self.store = store
            await asyncio.to_thread(store.migrate)
        except Exception:
            log.exception("embedded interaction store unavailable; events are not persisted")
            return
        batch: list[Event] = []
        queue: asyncio.Queue[Event] = asyncio.Queue()

        async def pump() -> None:
            assert self.bus is not None
            async for event in self.bus.tail(EPOCH):
                await queue.put(event)

        pumper = asyncio.create_task(pump())
        try:
            while True:
                batch.append(await queue.get())
                with contextlib.suppress(asyncio.TimeoutError):
                    while len(batch) < 5000:
                        batch.append(await asyncio.wait_for(queue.get(), timeout=0.2))
                try:
                    await asyncio.to_thread(store.write, batch)
                    batch = []
                except Exception:
                    log.exception("writing %d events to the interaction store failed; will retry", len(batch))
                    await asyncio.sleep(1.0)
        finally:
            pumper.cancel()

    # ---- viewers -------------------------------------------------------------------------------
    async def profile(self, user_id: int) -> dict[str, Any] | None:
        if user_id in self._profiles:
            return self._profiles[user_id]
        profile = None
        if self.catalog is not None:
            try:
                profile = await self.catalog.get_user(user_id)
            except Exception:
                log.exception("catalog lookup failed for a viewer profile")
                return None
        if profile is None:
            profile = self.service.live.bundle.model.popular.profiles.get(user_id)
        if len(self._profiles) > 100_000:
            self._profiles.clear()
        self._profiles[user_id] = dict(profile) if profile else None
        return self._profiles[user_id]

    async def put_profile(self, user_id: int, profile: dict[str, Any]) -> None:
        if self.catalog is not None:
            await self.catalog.put_user(user_id, profile.get("age"), profile.get("gender"), profile.get("occupation"))
        self._profiles[user_id] = profile
        self.service.forget_user(user_id)

    # ---- model ---------------------------------------------------------------------------------
    @property
    def _ab_enabled(self) -> bool:
        return self.settings.ab_challenger_percent > 0

    def _load_challenger(self) -> Bundle | None:
        """The A/B challenger (``models:/<name>@<challenger alias>``); None, logged, if it can't load."""
        from movierecs.wiring import resolve_bundle

        uri = f"models:/{self.settings.model_name}@{self.settings.ab_challenger_alias}"
        try:
            return resolve_bundle(self.settings, uri)
        except Exception:
            log.exception("A/B challenger %s unavailable; every viewer gets the champion", uri)
            return None

    async def reload(self, model: str | None) -> tuple[str, str]:
        from movierecs.wiring import resolve_bundle

        challenger = self._load_challenger if self._ab_enabled else None
        return await self.service.reload(lambda: resolve_bundle(self.settings, model), challenger)

    async def readiness(self) -> dict[str, bool]:
        checks = {"model": self._service is not None}
        checks["event_bus"] = self.bus is not None and all(not t.done() for t in self._tasks[:1])
        if self.catalog is not None:
            try:
                await asyncio.wait_for(self._catalog_ping(), timeout=2.0)
                checks["catalog"] = True
            except Exception:
                checks["catalog"] = False
        return checks

    async def _catalog_ping(self) -> None:
        assert self.catalog is not None
        await self.catalog.get_user(1)
