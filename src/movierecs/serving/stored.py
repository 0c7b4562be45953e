"""A viewer's events since the watermark, read back from the interaction store when memory lacks them.

A replica holds only some viewers in memory (:class:`~movierecs.serving.online.OnlineState` is
bounded) and tails the bus only from shortly before it started. Everything else a viewer did since
the model's watermark is in the interaction store (the consumer, or the embedded sink, writes every
event there). At start-up the replica reads which viewers were active since the watermark (one
``SELECT DISTINCT user_id``, 8 bytes a viewer); when such a viewer, or one dropped from memory,
asks for a list, their events are read with one point query (the table's sort key starts with
``user_id``) and merged before the list is computed. So a like survives eviction, restarts and
scale-out.

Reads are bounded (``timeout_s``; at most ``max_concurrent`` at a time); after a failure the store
is left alone for ``cooldown_s`` and viewers are served from what memory holds, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from movierecs.ports import InteractionStore
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.online import OnlineState

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


class StoredEvents:
    """Reads viewers' events from the store into the online state.

    Parameters
    ----------
    store
        The interaction store; None: nothing is read (a viewer dropped from memory loses their
        events since the watermark until the next retrain).
    online
        Where the events go; its ``stored`` index says whom to read.
    watermark
        The served models' watermark (events after it are the viewer's online history).
    on_change
        Called with a viewer whose history changed (drops their cached lists and vectors).
    """

    def __init__(
        self,
        store: InteractionStore | None,
        online: OnlineState,
        watermark: Callable[[], datetime | None],
        metrics: ApiMetrics,
        on_change: Callable[[int], None],
        *,
        on_forgotten: Callable[[int], None] = lambda _user_id: None,
        timeout_s: float = 0.5,
        cooldown_s: float = 5.0,
        max_concurrent: int = 4,
    ) -> None:
        self.store, self.online, self.watermark = store, online, watermark
        self.metrics, self.on_change, self.on_forgotten = metrics, on_change, on_forgotten
        self.timeout_s, self.cooldown_s = timeout_s, cooldown_s
        self._slots = asyncio.Semaphore(max_concurrent)
        self._failed_at = -1e9

    async def load_index(self, timeout_s: float = 10.0) -> bool:
        """Read which viewers have events since the watermark; False (logged) when the store fails
        or takes longer than ``timeout_s``.

        Until it succeeds, every viewer not in memory is read from the store (slower, never wrong).
        """
        if self.store is None:
            return False
        since = self.watermark() or EPOCH
        started = time.perf_counter()
        store = self.store
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.to_thread(store.migrate)  # idempotent; a fresh store has no table yet
                ids = await asyncio.to_thread(store.active_users, since)
                forgotten = await asyncio.to_thread(store.forgotten_users)
        except Exception as exc:
            self.online.stored.everyone = True
            log.warning("reading the viewers active since %s failed (%s); reading every viewer on demand", since, exc)
            return False
        self.online.stored.replace(ids.tolist())
        for user_id in forgotten.tolist():
            self.on_forgotten(user_id)
        self.online.stored.everyone = False
        log.info("viewers with events since the watermark: %d (read in %.3fs)", len(ids), time.perf_counter() - started)
        return True

    async def keep_indexing(self, every_s: float = 30.0) -> None:
        """Retry :meth:`load_index` until it succeeds (run as a background task after a failed start)."""
        while not await self.load_index():
            await asyncio.sleep(every_s)

    def needed(self, user_id: int) -> bool:
        """Whether a request for this viewer must read the store first (cheap: no I/O)."""
        if self.store is None or not self.online.needs_store(user_id):
            return False
        return time.monotonic() - self._failed_at >= self.cooldown_s

    async def read(self, user_id: int) -> None:
        """Merge the viewer's stored events since the watermark; on failure serve without them."""
        assert self.store is not None
        watermark = self.watermark()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._slots:
                    frame = await asyncio.to_thread(self.store.user_events, user_id, watermark)
        except Exception as exc:  # TimeoutError included: a slow store must not stall the feed
            self._failed_at = time.monotonic()
            result = "timeout" if isinstance(exc, TimeoutError) else "error"
            self.metrics.store_reads.labels(result).inc()
            log.warning("reading viewer events from the store failed (%s); serving from memory", type(exc).__name__)
            return
        self.metrics.store_read_seconds.observe(time.perf_counter() - started)
        self.metrics.store_reads.labels("ok").inc()
        if self.online.merge_stored(user_id, frame, watermark):
            self.on_change(user_id)
