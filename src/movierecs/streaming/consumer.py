"""``movierecs consume``: Kafka interactions topic → interaction store (ClickHouse), at least once.

Loop: fetch a batch (size or time bound) → decode/validate each record → dead-letter the invalid
ones (with the reason) → write the valid ones to the store → THEN commit the batch's offsets.
A crash anywhere before the commit redelivers the batch; storage is idempotent on ``event_id``, so
redelivery never double-counts. While the store (or the dead-letter produce) fails, the batch is
retried with capped exponential backoff, fetching is paused and nothing is committed. SIGTERM or
SIGINT finishes the batch in hand, commits it and exits.

Run: ``python -m movierecs.streaming.consumer [--group G] [--batch-size N] [--batch-wait-ms MS]
[--metrics-port P]`` (the ``movierecs consume`` command calls :func:`main`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from movierecs.adapters.kafka import ensure_topics, producer_config
from movierecs.events import Event
from movierecs.exceptions import BusUnavailableError, UnsupportedUrlError
from movierecs.ports import InteractionStore
from movierecs.settings import Settings
from movierecs.streaming.handlers import (
    Backoff,
    BatchPolicy,
    Rejection,
    Split,
    dlq_headers,
    lag,
    next_offsets,
    split_batch,
)
from movierecs.streaming.metrics import ConsumerMetrics, MetricsServer

log = logging.getLogger(__name__)

GROUP_ID = "movierecs-consumer"
StoreFactory = Callable[[str], InteractionStore]


def _default_store_factory(url: str) -> InteractionStore:
    from movierecs.adapters.factory import make_interaction_store

    return make_interaction_store(url)


class _StopRequestedError(Exception):
    """Shutdown was requested while a batch could not be written: exit without committing it."""


class Consumer:
    """One consumer-group member; :meth:`run` until ``stop`` is set.

    Parameters
    ----------
    settings
        Kafka bootstrap (``event_bus_url``), topics, store URL.
    store_factory
        Builds the interaction store from ``settings.interactions`` (default: the adapter factory).
    policy, backoff
        Batching and retry rules.
    shutdown_grace_s
        After a stop request, how long a failing write is still retried before exiting uncommitted.
    io_timeout_s
        A store call (connect, migrate, write) that takes longer counts as failed and is retried.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        group_id: str = GROUP_ID,
        policy: BatchPolicy | None = None,
        backoff: Backoff | None = None,
        store_factory: StoreFactory | None = None,
        metrics: ConsumerMetrics | None = None,
        shutdown_grace_s: float = 10.0,
        io_timeout_s: float = 30.0,
    ) -> None:
        url = settings.event_bus_url
        if not url.startswith("kafka://"):
            raise UnsupportedUrlError(
                f"the consumer reads Kafka; MOVIERECS_EVENT_BUS_URL is {url!r} (use kafka://host:port; "
                "with memory:// the API writes events to the store itself)"
            )
        self.settings = settings
        self.bootstrap = url.removeprefix("kafka://")
        self.topic, self.dlq_topic = settings.kafka_topic, settings.kafka_dlq_topic
        self.group_id = group_id
        self.policy = policy or BatchPolicy()
        self.backoff = backoff or Backoff()
        self.store_factory = store_factory or _default_store_factory
        self.metrics = metrics or ConsumerMetrics()
        self.shutdown_grace_s = shutdown_grace_s
        self.io_timeout_s = io_timeout_s
        self.stop_event = asyncio.Event()
        self._store: InteractionStore | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._carry: list[ConsumerRecord[Any, Any]] = []  # fetched while paused; next batch's head
        self._positions: dict[TopicPartition, int] = {}  # next offset to fetch
        self._ends: dict[TopicPartition, int] = {}  # end offsets asked for while paused
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
        store I/O), batch N+1 is fetched and decoded; N+1 is written only after N was committed.
        """
        pending: asyncio.Task[None] | None = None
        try:
            await self._connect()
            if self._consumer is None:
                return
            self.state = "running"
            while True:
                records = await self._collect()
                split = split_batch(records) if records else None
                if pending is not None:
                    await self._wait(pending)
                    pending = None
                if records and split is not None:
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

    async def _wait(self, task: asyncio.Task[None]) -> None:
        """Wait for a batch's write+commit; while it takes long (store down, retrying), keep polling
        with every partition paused so the group keeps this member and nothing more is fetched."""
        assert self._consumer is not None
        paused: set[TopicPartition] = set()
        waited, next_lag_check = 0.0, 1.0
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.1)
                if done:
                    task.result()
                    return
                waited += 0.1
                if not self._in_retry and waited < 1.0:
                    continue
                new = set(self._consumer.assignment()) - paused
                if new:
                    self._consumer.pause(*new)
                    paused |= new
                fetched = await self._consumer.getmany(timeout_ms=0)
                for tp, batch in fetched.items():  # only from partitions assigned in between
                    self._carry.extend(batch)
                    self._positions[tp] = batch[-1].offset + 1
                if waited >= next_lag_check:  # paused partitions are not fetched: ask for the ends
                    next_lag_check = waited + 2.0
                    with contextlib.suppress(KafkaError, OSError, TimeoutError):
                        ends = await asyncio.wait_for(self._consumer.end_offsets(list(paused)), timeout=5)
                        self._ends.update(ends)
                        self._update_lag()
        finally:
            if paused:
                self._consumer.resume(*(set(self._consumer.assignment()) & paused))

    async def _connect(self) -> None:
        """Create topics, the group consumer and the dead-letter producer; retry while Kafka is down."""
        attempt = 0
        while not self.stop_event.is_set():
            consumer = producer = None
            try:
                await ensure_topics(self.bootstrap, [self.topic, self.dlq_topic], self.settings.kafka_partitions)
                consumer = AIOKafkaConsumer(
                    self.topic,
                    bootstrap_servers=self.bootstrap,
                    group_id=self.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    client_id="movierecs-consumer",
                    max_partition_fetch_bytes=4 * 1024 * 1024,
                    fetch_max_wait_ms=200,
                    session_timeout_ms=6_000,  # Kafka's minimum: a crashed member is replaced fast
                    heartbeat_interval_ms=1_500,
                    metadata_max_age_ms=30_000,
                )
                producer = AIOKafkaProducer(**producer_config(self.bootstrap, request_timeout_s=10.0))
                async with asyncio.timeout(20):
                    await consumer.start()
                    await producer.start()
                self._consumer, self._producer = consumer, producer
                log.info("consuming %s as group %s from %s", self.topic, self.group_id, self.bootstrap)
                return
            except (KafkaError, OSError, TimeoutError, BusUnavailableError) as exc:
                for client in (consumer, producer):
                    if client is not None:
                        with contextlib.suppress(Exception):
                            await client.stop()
                delay = self.backoff.delay(attempt)
                attempt += 1
                self.state = "waiting_for_kafka"
                log.warning("Kafka unavailable (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)

    async def _close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._consumer.stop(), timeout=10)
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), timeout=10)
        self._drop_store()

    # ---- one batch -----------------------------------------------------------------------------
    async def _collect(self) -> list[ConsumerRecord[Any, Any]]:
        assert self._consumer is not None
        records, self._carry = self._carry, []
        first_at = time.monotonic() if records else None
        policy = self.policy
        while not self.stop_event.is_set():
            now = time.monotonic()
            if policy.due(len(records), first_at, now):
                break
            wait = policy.wait_s(len(records), first_at, now)
            fetched = await self._consumer.getmany(
                timeout_ms=int(wait * 1000), max_records=policy.max_size - len(records)
            )
            for tp, batch in fetched.items():
                records.extend(batch)
                self._positions[tp] = batch[-1].offset + 1
            if records and first_at is None:
                first_at = time.monotonic()
        return records

    async def _handle(self, records: list[ConsumerRecord[Any, Any]], split: Split) -> None:
        """Dead-letter the invalid records, write the valid ones, THEN commit (at least once)."""
        self.metrics.batch_size.observe(len(records))
        if split.rejected:
            await self._retrying("dead-letter produce", lambda: self._dead_letter(split.rejected))
        if split.events:
            await self._retrying("store write", lambda: self._write(split.events))
        await self._commit(records)

    async def _write(self, events: Sequence[Event]) -> None:
        store = self._store
        if store is None:
            store = await _in_thread(
                self.store_factory, self.settings.interactions, timeout=self.io_timeout_s, on_late_result=_close_quietly
            )
            try:
                await _in_thread(store.migrate, timeout=self.io_timeout_s)
            except BaseException:
                self._store = store
                self._drop_store()
                raise
            self._store = store
        started = time.perf_counter()
        try:
            await _in_thread(store.write, events, timeout=self.io_timeout_s)
        except BaseException:
            self._drop_store()  # reconnect (and re-migrate: a restarted server may have lost the table)
            raise
        self.metrics.insert_seconds.observe(time.perf_counter() - started)
        self.metrics.events.inc(len(events))

    async def _dead_letter(self, rejected: list[tuple[ConsumerRecord[Any, Any], Rejection]]) -> None:
        assert self._producer is not None
        futures = []
        for record, rejection in rejected:
            futures.append(
                await self._producer.send(
                    self.dlq_topic, value=record.value, key=record.key, headers=dlq_headers(record, rejection)
                )
            )
        await asyncio.gather(*futures)
        for _, rejection in rejected:
            self.metrics.dlq.labels(rejection.reason.value).inc()
        log.warning(
            "sent %d invalid record(s) to %s; first: %s", len(rejected), self.dlq_topic, rejected[0][1].error[:200]
        )

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

    async def _commit(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        offsets = {
            tp: OffsetAndMetadata(offset, "")
            for (topic, partition), offset in next_offsets(records).items()
            if (tp := TopicPartition(topic, partition)) in assigned
        }
        if not offsets:
            return
        for attempt in range(3):
            try:
                await self._consumer.commit(offsets)
                self.metrics.commits.labels("ok").inc()
                return
            except KafkaError as exc:
                # Written but not committed: the records will be redelivered and deduplicated.
                self.metrics.commits.labels("failed").inc()
                log.warning("offset commit failed (%s: %s); attempt %d", type(exc).__name__, exc, attempt + 1)
                if not self.stop_event.is_set():
                    return  # the next batch's commit covers these offsets
                await asyncio.sleep(self.backoff.delay(attempt))

    def _update_lag(self) -> None:
        if self._consumer is None:
            return
        assigned = self._consumer.assignment()
        highwaters = {tp.partition: max(self._consumer.highwater(tp) or 0, self._ends.get(tp, 0)) for tp in assigned}
        positions = {tp.partition: self._positions[tp] for tp in assigned if tp in self._positions}
        for partition, behind in lag(highwaters, positions).items():
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


async def run_consumer(
    settings: Settings,
    *,
    group_id: str = GROUP_ID,
    batch_size: int = 10_000,
    batch_wait_s: float = 0.5,
    metrics_port: int | None = None,
    store_factory: StoreFactory | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Consume until SIGTERM/SIGINT; metrics and /healthz on ``metrics_port`` (default from settings;
    0 picks a free port, negative disables)."""
    consumer = Consumer(
        settings, group_id=group_id, policy=BatchPolicy(batch_size, batch_wait_s), store_factory=store_factory
    )
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, consumer.request_stop)
    port = settings.consumer_metrics_port if metrics_port is None else metrics_port
    server = MetricsServer(consumer.metrics, consumer.health, port=port) if port >= 0 else None
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


def main(settings: Settings | None = None, **kwargs: Any) -> None:
    """Blocking entry point of ``movierecs consume`` (kwargs as :func:`run_consumer`)."""
    asyncio.run(run_consumer(settings or Settings(), **kwargs))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m movierecs.streaming.consumer",
        description="Kafka interactions topic -> interaction store, at least once.",
    )
    parser.add_argument("--group", default=GROUP_ID, help="consumer group id (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=10_000, help="records per batch at most")
    parser.add_argument("--batch-wait-ms", type=int, default=500, help="longest a batch waits to fill")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="Prometheus /metrics and /healthz port (default: settings; 0 = any free port)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    from movierecs.logs import configure_logging

    args = _parse_args(None)
    _settings = Settings()
    configure_logging(_settings.log_level, _settings.log_json)
    main(
        _settings,
        group_id=args.group,
        batch_size=args.batch_size,
        batch_wait_s=args.batch_wait_ms / 1000,
        metrics_port=args.metrics_port,
    )
