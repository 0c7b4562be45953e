"""EventBus on Kafka (aiokafka): the API produces events, every API replica tails all partitions.

Wire format (DESIGN.md §3, contract): topic ``movierecs.interactions``, key = user_id as a decimal
string, value = :meth:`Event.to_json` with ``event_id`` always set.

Written for real Kafka and for the Tansu broker of the local stack, whose quirks shape two choices:
idempotent producers are unsupported there (``enable_idempotence=False``; duplicates from retries
are harmless, storage is idempotent on ``event_id``), and its ListOffsets(latest) lags by one
batch, so :meth:`KafkaEventBus.tail` seeks with ``offsets_for_times`` and treats the end offset only
as a lower bound (records older than ``since`` at the start of a partition are skipped by their
timestamp). Tansu answers "no record at or after this time" with offset 0 and timestamp -1 where
Kafka answers null; both mean "start at the end".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from movierecs.events import Event, Forget, Rejection, decode, tombstone_user
from movierecs.exceptions import BusUnavailableError

log = logging.getLogger(__name__)

#: How often an idle tail checks that its partitions were not recreated under it.
RESET_CHECK_S = 2.0
#: After a failed connection attempt, publishes fail at once for this long (no retry storm).
CONNECT_COOLDOWN_S = 1.0
#: Kafka error code of CreateTopics for "topic already exists".
_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno


def producer_config(bootstrap: str, request_timeout_s: float, linger_ms: int = 2) -> dict[str, object]:
    """Settings every MovieRecs producer uses: acks from all replicas, no idempotence (Tansu)."""
    return {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": linger_ms,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": int(request_timeout_s * 1000),
        "retry_backoff_ms": 100,
        "client_id": "movierecs-producer",
    }


async def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int, timeout_s: float = 10.0) -> None:
    """Create ``topics`` with ``partitions`` partitions where missing; an existing topic is left as is.

    Raises
    ------
    BusUnavailableError
        The broker could not be reached or refused to create a topic within ``timeout_s``.
    """
    wanted = list(dict.fromkeys(topics))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), client_id="movierecs-admin"
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if not missing:
                return
            try:
                response = await admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
            except TopicAlreadyExistsError:  # a concurrent creator won the race
                return
            for topic, code, message in (err[:3] for err in response.topic_errors):
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise BusUnavailableError(f"creating Kafka topic {topic!r} failed: error {code} {message}")
            log.info("created Kafka topics %s with %d partitions", missing, partitions)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BusUnavailableError(
            f"Kafka at {bootstrap} is unreachable ({type(exc).__name__}: {exc}); check the broker"
        ) from exc
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


class KafkaEventBus:
    """:class:`~movierecs.ports.EventBus` over Kafka.

    Parameters
    ----------
    bootstrap
        ``host:port[,host:port]`` of the brokers.
    topic
        Interactions topic; created at start (with ``dlq_topic``) if missing.
    partitions
        Partition count of topics this bus creates.
    dlq_topic
        Dead-letter topic of the consumer service; default ``<topic>.dlq``.
    request_timeout_s
        Longest a publish waits for acknowledgements before it raises
        :class:`~movierecs.exceptions.BusUnavailableError` (the API answers 503 then).

    The producer starts lazily: when the broker is down at :meth:`start`, the bus logs it and
    every :meth:`publish` retries the connection (bounded by ``request_timeout_s``), so the API
    starts and answers 503 until the broker is back.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        dlq_topic: str | None = None,
        request_timeout_s: float = 5.0,
        linger_ms: int = 2,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.dlq_topic = dlq_topic or f"{topic}.dlq"
        self.partitions = partitions
        self.request_timeout_s = request_timeout_s
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._topics_ready = False
        self._failed_at = -1e9  # monotonic time of the last failed connection attempt
        self._lock = asyncio.Lock()
        self._stopped = asyncio.Event()

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and create topics; never blocks longer than ``request_timeout_s`` nor raises."""
        self._stopped.clear()
        try:
            await self._ensure_producer()
        except BusUnavailableError as exc:
            log.warning("Kafka unavailable at start; publishing will retry on demand: %s", exc)

    async def stop(self) -> None:
        self._stopped.set()
        async with self._lock:
            await self._close_producer()

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=self.request_timeout_s)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is not None and self._topics_ready:
                return self._producer
            since_failure = time.monotonic() - self._failed_at
            if since_failure < CONNECT_COOLDOWN_S:  # a burst of requests while Kafka is down fails fast
                raise BusUnavailableError(
                    f"Kafka at {self.bootstrap} was unreachable {since_failure:.1f}s ago; retry shortly"
                )
            try:
                if not self._topics_ready:
                    await ensure_topics(
                        self.bootstrap, [self.topic, self.dlq_topic], self.partitions, timeout_s=self.request_timeout_s
                    )
                    self._topics_ready = True
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        **producer_config(self.bootstrap, self.request_timeout_s, self.linger_ms)
                    )
                    try:
                        await asyncio.wait_for(producer.start(), timeout=self.request_timeout_s)
                    except BaseException as exc:
                        with contextlib.suppress(Exception):
                            await producer.stop()
                        if isinstance(exc, KafkaError | OSError | TimeoutError):
                            raise BusUnavailableError(
                                f"cannot connect a Kafka producer to {self.bootstrap}: {exc}"
                            ) from exc
                        raise
                    self._producer = producer
            except BusUnavailableError:
                self._failed_at = time.monotonic()
                raise
            return self._producer

    # ---- publish -------------------------------------------------------------------------------
    async def forget(self, user_id: int) -> None:
        """Publish a viewer's tombstone (key = user id, no value), acknowledged like an event."""
        await self.publish([Forget(user_id)])

    async def publish(self, events: Sequence[Event | Forget]) -> None:
        """Return once Kafka acknowledged every event (acks=all), else raise BusUnavailableError.

        Never takes much longer than ``request_timeout_s`` (connecting included). A :class:`Forget`
        goes out as a tombstone on the same topic and partition as the viewer's events."""
        if not events:
            return
        if self._stopped.is_set():
            raise BusUnavailableError("the Kafka event bus is stopped")
        try:
            async with asyncio.timeout(self.request_timeout_s + 1.0):
                producer = await self._ensure_producer()
                futures = [
                    await producer.send(self.topic, value=None, key=str(e.user_id).encode())
                    if isinstance(e, Forget)
                    else await producer.send(self.topic, value=e.to_json(), key=e.kafka_key())
                    for e in events
                ]
                await asyncio.gather(*futures)
        except (KafkaError, OSError, TimeoutError) as exc:
            # Unknown outcome: some events may have been written. The caller retries (same event_ids
            # when the client resends them), and storage is idempotent on event_id.
            self._topics_ready = False  # a broker restarted without data loses its topics
            raise BusUnavailableError(
                f"Kafka did not acknowledge {len(events)} event(s) within {self.request_timeout_s:.0f}s: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # ---- tail ----------------------------------------------------------------------------------
    def tail(self, since: datetime) -> AsyncIterator[Event | Forget]:
        """Every event published at or after ``since`` on all partitions, then new ones, forever.

        No consumer group: each caller (API replica) reads everything. Survives broker restarts:
        reconnects with capped backoff and resumes from its own positions.
        """
        return self._tail(since)

    async def _tail(self, since: datetime) -> AsyncIterator[Event | Forget]:
        since_ms = int(since.timestamp() * 1000)
        positions: dict[TopicPartition, int] = {}
        skipping: set[TopicPartition] = set()  # partitions still skipping records older than since
        backoff = 0.5
        bad = 0
        last_seen: dict[TopicPartition, int] = {}  # timestamp of the last record read, per partition
        next_check = 0.0
        while not self._stopped.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                request_timeout_ms=int(max(self.request_timeout_s, 5) * 2000),
                client_id="movierecs-tail",
                fetch_max_wait_ms=200,
                metadata_max_age_ms=10_000,
            )
            try:
                async with asyncio.timeout(self.request_timeout_s * 2):
                    await consumer.start()
                    tps = await self._assign_all(consumer)
                new = [tp for tp in tps if tp not in positions]
                for tp in tps:
                    if tp in positions:
                        consumer.seek(tp, positions[tp])
                if new:
                    await self._seek_since(consumer, new, since_ms, positions, skipping)
                backoff = 0.5
                while not self._stopped.is_set():
                    batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                    for tp, records in batches.items():
                        for record in records:
                            positions[tp] = record.offset + 1
                            last_seen[tp] = record.timestamp
                            if tp in skipping:
                                if record.timestamp < since_ms:
                                    continue
                                skipping.discard(tp)
                            forgotten = tombstone_user(record.key, record.value)
                            if forgotten is not None:
                                yield Forget(forgotten)
                                continue
                            event = decode(record.value)
                            if isinstance(event, Rejection):
                                bad += 1
                                if bad <= 10 or bad % 1000 == 0:
                                    log.warning(
                                        "skipping an undecodable record at %s:%d offset %d (%d so far)",
                                        tp.topic,
                                        tp.partition,
                                        record.offset,
                                        bad,
                                    )
                                continue
                            yield event
                    if not batches and time.monotonic() >= next_check:  # idle: cheap sanity check
                        next_check = time.monotonic() + RESET_CHECK_S
                        await self._detect_reset(consumer, tps, positions, last_seen)
                    if not batches and len(tps) < self.partitions:
                        new_tps = await self._assign_all(consumer)  # partitions added meanwhile
                        added = [tp for tp in new_tps if tp not in positions]
                        if added:
                            await self._seek_since(consumer, added, since_ms, positions, skipping)
                        tps = new_tps
            except (KafkaError, OSError, TimeoutError, BusUnavailableError) as exc:
                log.warning(
                    "Kafka tail of %s interrupted (%s: %s); reconnecting in %.1fs",
                    self.topic,
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _assign_all(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        await consumer.topics()  # refresh metadata
        parts = consumer.partitions_for_topic(self.topic)
        if not parts:
            await ensure_topics(
                self.bootstrap, [self.topic, self.dlq_topic], self.partitions, timeout_s=self.request_timeout_s
            )
            await consumer.topics()
            parts = consumer.partitions_for_topic(self.topic)
            if not parts:
                raise BusUnavailableError(f"Kafka topic {self.topic!r} has no partitions yet")
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        return tps

    @staticmethod
    async def _detect_reset(
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        positions: dict[TopicPartition, int],
        last_seen: dict[TopicPartition, int],
    ) -> None:
        """Re-read a partition that was recreated (a broker with memory storage restarted, or the
        topic was deleted and created again): its high watermark fell below our position, or the
        last record we read (by timestamp) is no longer before our position."""
        reset = [tp for tp in tps if (hw := consumer.highwater(tp)) is not None and hw < positions.get(tp, 0)]
        probe = {tp: last_seen[tp] for tp in tps if tp in last_seen and tp not in reset}
        if probe:
            found = await consumer.offsets_for_times(probe)
            for tp in probe:
                hit = found.get(tp)
                if hit is None or hit.timestamp < 0 or hit.offset >= positions.get(tp, 0):
                    reset.append(tp)
        for tp in reset:
            log.warning(
                "Kafka partition %s:%d was recreated (we were at offset %d); reading it from the start",
                tp.topic,
                tp.partition,
                positions.get(tp, 0),
            )
            consumer.seek(tp, 0)
            positions[tp] = 0
            last_seen.pop(tp, None)

    @staticmethod
    async def _seek_since(
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        since_ms: int,
        positions: dict[TopicPartition, int],
        skipping: set[TopicPartition],
    ) -> None:
        found = await consumer.offsets_for_times({tp: max(since_ms, 0) for tp in tps})
        missing = [tp for tp in tps if found.get(tp) is None or found[tp].timestamp < 0]
        ends = await consumer.end_offsets(missing) if missing else {}
        for tp in tps:
            hit = found.get(tp)
            offset = hit.offset if hit is not None and hit.timestamp >= 0 else ends.get(tp, 0)
            consumer.seek(tp, offset)
            positions[tp] = offset
            skipping.add(tp)
