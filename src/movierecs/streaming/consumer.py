"""The consumer: an event stream (a Kafka consumer group, or the in-process bus) → the interaction store.

Loop: read a batch (size or time bound) → decode/validate each record → dead-letter the invalid
ones (with the reason) → write the valid ones to the store → THEN commit the batch's offsets.
A crash anywhere before the commit redelivers the batch; storage is idempotent on ``event_id``, so
redelivery never double-counts. While the store (or the dead-letter produce) fails, the batch is
retried with capped exponential backoff, the stream is held (fetching paused, group membership
kept) and nothing is committed. SIGTERM or SIGINT finishes the batch in hand, commits it and exits.

The stream and the store are ports (:class:`~movierecs.ports.EventStream`,
:class:`~movierecs.ports.InteractionStore`); :mod:`movierecs.composition` builds them
(``build_consumer`` for ``movierecs consume``, ``memory_sink`` for the embedded mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from movierecs.events import Event, Rejection
from movierecs.exceptions import BusUnavailableError
from movierecs.ports import EventStream, InteractionStore, StreamRecord
from movierecs.streaming.handlers import Backoff, BatchPolicy, Split, split_batch
from movierecs.streaming.metrics import ConsumerMetrics, MetricsServer

log = logging.getLogger(__name__)

StoreFactory = Callable[[], InteractionStore]
#: How often the loop checks a batch in flight (and, while it takes long, holds the stream).
_TICK_S = 0.1
#: A batch in flight for longer than this holds the stream even when nothing failed yet.
_HOLD_AFTER_S = 1.0
#: Offset commits tried while stopping (a failure while running is covered by the next batch's).
_COMMIT_ATTEMPTS = 3


class _StopRequestedError(Exception):
    """Shutdown was requested while a batch could not be written: exit without committing it."""


class Consumer:
    """One reader of the event stream; :meth:`run` until :meth:`request_stop`.

    Parameters
    ----------
    stream
        Where records come from and offsets go to (Kafka group, or the in-process bus).
    store_factory
        Builds the interaction store (called in a worker thread, again after a failed write).
    policy, backoff
        Batching and retry rules.
    metrics
        Prometheus series (default: a fresh registry).
    shutdown_grace_s
        After a stop request, how long a failing write is still retried before exiting uncommitted.
    io_timeout_s
        A store call (connect, migrate, write) that takes longer counts as failed and is retried.
    """

    def __init__(
        self,
        stream: EventStream,
        store_factory: StoreFactory,
        *,
        policy: BatchPolicy | None = None,
        backoff: Backoff | None = None,
        metrics: ConsumerMetrics | None = None,
        shutdown_grace_s: float = 10.0,
        io_timeout_s: float = 30.0,
    ) -> None:
        self.stream = stream
        self.store_factory = store_factory
        self.policy = policy or BatchPolicy()
        self.backoff = backoff or Backoff()
        self.metrics = metrics or ConsumerMetrics()
        self.shutdown_grace_s = shutdown_grace_s
        self.io_timeout_s = io_timeout_s
        self.stop_event = asyncio.Event()
        self._store: InteractionStore | None = None
        self._stop_at: float | None = None
        self._in_retry = False
        self.state = "starting"
        self.last_progress = time.monotonic()

    # ---- lifecycle -----------------------------------------------------------------------------
    def request_stop(self) -> None:
        if not self.stop_event.is_set():
            log.info("stop requested: finishing the batch in hand, committing, exiting")
            self._stop_at = time.monotonic()
            self.stop_event.set()

    def health(self) -> tuple[bool, dict[str, object]]:
        stalled = time.monotonic() - self.last_progress
        return self.state != "failed", {"state": self.state, "seconds_since_progress": round(stalled, 1)}

    async def run(self) -> None:
        """Consume until :meth:`request_stop`; the batch in hand is written and committed first.

        Pipelined by one batch: while batch N is written and committed (a worker thread does the
        store I/O), batch N+1 is read and decoded; N+1 is written only after N was committed.
        """
        pending: asyncio.Task[None] | None = None
        try:
            if not await self._connect():
                return
            self.state = "running"
            while True:
                records = await self._collect()
                split = split_batch(records) if records else None
                if pending is not None:
                    await self._wait(pending)
                    pending = None
                if split is not None:
                    pending = asyncio.create_task(self._handle(records, split), name="consumer-batch")
                self._update_lag()
                self.last_progress = time.monotonic()
                if self.stop_event.is_set():
                    break
            if pending is not None:
                await self._wait(pending)
                pending = None
        except _StopRequestedError:
            log.warning("exiting with an unwritten batch (not committed; it will be redelivered)")
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            self.state = "stopping"
            await self._close()
            self.state = "stopped"

    async def _connect(self) -> bool:
        """Start the stream; retry with backoff while the bus is unavailable. False: stopped first."""
        attempt = 0
        while not self.stop_event.is_set():
            try:
                await self.stream.start()
                return True
            except (BusUnavailableError, OSError, TimeoutError) as exc:
                delay = self.backoff.delay(attempt)
                attempt += 1
                self.state = "waiting_for_kafka"
                log.warning("event bus unavailable (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
        return False

    async def _close(self) -> None:
        try:
            await asyncio.wait_for(self.stream.stop(), timeout=25)
        except Exception as exc:
            log.warning("stopping the event stream failed (%s: %s)", type(exc).__name__, exc)
        self._drop_store()

    async def _wait(self, task: asyncio.Task[None]) -> None:
        """Wait for a batch's write+commit; while it takes long (store down, retrying), hold the
        stream so that the group keeps this member and nothing more is fetched."""
        held = False
        waited = 0.0
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_TICK_S)
                if done:
                    task.result()
                    return
                waited += _TICK_S
                if not self._in_retry and waited < _HOLD_AFTER_S:
                    continue
                held = True
                await self.stream.hold()
                self._update_lag()
        finally:
            if held:
                await self.stream.release()

    # ---- one batch -----------------------------------------------------------------------------
    async def _collect(self) -> list[StreamRecord]:
        records: list[StreamRecord] = []
        first_at: float | None = None
        policy = self.policy
        while not self.stop_event.is_set():
            now = time.monotonic()
            if policy.due(len(records), first_at, now):
                break
            wait = policy.wait_s(len(records), first_at, now)
            records.extend(await self.stream.read(policy.max_size - len(records), wait))
            if records and first_at is None:
                first_at = time.monotonic()
        return records

    async def _handle(self, records: Sequence[StreamRecord], split: Split) -> None:
        """Dead-letter the invalid records, write the valid ones, THEN commit (at least once)."""
        self.metrics.batch_size.observe(len(records))
        if split.rejected:
            await self._retrying("dead-letter produce", lambda: self._dead_letter(split.rejected))
        if split.events:
            await self._retrying("store write", lambda: self._write(split.events))
        if split.forgotten:  # after the batch's events: a tombstone deletes what came before it
            await self._retrying("forget viewers", lambda: self._forget(split.forgotten))
        await self._commit(records)

    async def _forget(self, forgotten: Sequence[tuple[int, int]]) -> None:
        """Apply tombstones: delete the viewers' events and record them as forgotten (idempotent)."""
        store = await self._connected_store()
        for user_id, at_ms in forgotten:
            at = datetime.fromtimestamp(max(at_ms, 0) / 1000, UTC)
            try:
                await _in_thread(store.forget_user, user_id, at, timeout=self.io_timeout_s)
            except BaseException:
                self._drop_store()
                raise
        log.info("forgot %d viewer(s) in the interaction store", len(forgotten))

    async def _connected_store(self) -> InteractionStore:
        store = self._store
        if store is None:
            store = await _in_thread(self.store_factory, timeout=self.io_timeout_s, on_late_result=_close_quietly)
            try:
                await _in_thread(store.migrate, timeout=self.io_timeout_s)
            except BaseException:
                self._store = store
                self._drop_store()
                raise
            self._store = store
        return store

    async def _write(self, events: Sequence[Event]) -> None:
        store = await self._connected_store()
        started = time.perf_counter()
        try:
            await _in_thread(store.write, events, timeout=self.io_timeout_s)
        except BaseException:
            self._drop_store()  # reconnect (and re-migrate: a restarted server may have lost the table)
            raise
        self.metrics.insert_seconds.observe(time.perf_counter() - started)
        self.metrics.events.inc(len(events))

    async def _dead_letter(self, rejected: Sequence[tuple[StreamRecord, Rejection]]) -> None:
        await self.stream.dead_letter(rejected)
        for _, rejection in rejected:
            self.metrics.dlq.labels(rejection.reason.value).inc()
        log.warning("dead-lettered %d invalid record(s); first: %s", len(rejected), rejected[0][1].error[:200])

    async def _retrying(self, what: str, action: Callable[[], Any]) -> None:
        """Run ``action`` until it succeeds with capped exponential backoff; past the shutdown grace
        raise _StopRequestedError (the batch stays uncommitted and is redelivered)."""
        attempt = 0
        try:
            while True:
                try:
                    await action()
                    if attempt:
                        log.info("%s succeeded after %d retries", what, attempt)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.metrics.retries.inc()
                    if self._stop_at is not None and time.monotonic() - self._stop_at > self.shutdown_grace_s:
                        raise _StopRequestedError from exc
                    delay = self.backoff.delay(attempt)
                    attempt += 1
                    self.state = f"retrying {what}"
                    self._in_retry = True
                    log.warning(
                        "%s failed (%s: %s); retry %d in %.1fs, fetching paused, offsets not committed",
                        what,
                        type(exc).__name__,
                        str(exc)[:300],
                        attempt,
                        delay,
                    )
                    await asyncio.sleep(delay)
        finally:
            self._in_retry = False
            if attempt:
                self.state = "running"

    async def _commit(self, records: Sequence[StreamRecord]) -> None:
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                await self.stream.commit(records)
                self.metrics.commits.labels("ok").inc()
                return
            except BusUnavailableError as exc:
                # Written but not committed: the records will be redelivered and deduplicated.
                self.metrics.commits.labels("failed").inc()
                log.warning("offset commit failed (%s); attempt %d", exc, attempt + 1)
                if not self.stop_event.is_set():
                    return  # the next batch's commit covers these offsets
                await asyncio.sleep(self.backoff.delay(attempt))

    def _update_lag(self) -> None:
        for partition, behind in self.stream.lag().items():
            self.metrics.lag.labels(str(partition)).set(behind)

    def _drop_store(self) -> None:
        """Forget the store; close it in a thread (a hung server must not block the loop)."""
        store, self._store = self._store, None
        if store is not None:
            threading.Thread(target=_close_quietly, args=(store,), daemon=True).start()


def _close_quietly(store: Any) -> None:
    with contextlib.suppress(Exception):
        store.close()


async def _in_thread(
    fn: Callable[..., Any], *args: Any, timeout: float, on_late_result: Callable[[Any], None] | None = None
) -> Any:
    """``fn(*args)`` in a worker thread, given up after ``timeout`` seconds (a store that stopped
    answering mid-request must not stall the consumer; the abandoned call finishes on its own)."""
    future = asyncio.get_running_loop().run_in_executor(None, fn, *args)
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        if on_late_result is not None:
            future.add_done_callback(
                lambda f: on_late_result(f.result()) if not f.cancelled() and f.exception() is None else None
            )
        raise TimeoutError(f"{getattr(fn, '__qualname__', fn)} did not return within {timeout:.0f}s") from None


async def run_consumer(consumer: Consumer, *, metrics_port: int, install_signal_handlers: bool = True) -> None:
    """Run ``consumer`` until SIGTERM/SIGINT (or :meth:`Consumer.request_stop`); Prometheus /metrics
    and /healthz on ``metrics_port`` (0 picks a free port, negative disables)."""
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, consumer.request_stop)
    server = MetricsServer(consumer.metrics, consumer.health, port=metrics_port) if metrics_port >= 0 else None
    if server is not None:
        await server.start()
    try:
        await consumer.run()
    finally:
        if server is not None:
            await server.stop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
