"""EventStream on a Kafka consumer group (aiokafka): what ``movierecs consume`` reads.

One group member over the interactions topic, manual commits (the consumer writes THEN commits),
and a producer for the dead-letter topic. While the consumer holds the stream (a batch is being
written and the store is slow or down), every assigned partition is paused and the group consumer
keeps polling with a zero timeout: heartbeats and rebalances go on, nothing new is fetched, and
anything already in flight is buffered for the next :meth:`KafkaEventStream.read`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from movierecs.adapters.kafka import ensure_topics, producer_config
from movierecs.events import Rejection
from movierecs.exceptions import BusUnavailableError
from movierecs.ports import StreamRecord
from movierecs.streaming.handlers import dlq_headers, lag, next_offsets

log = logging.getLogger(__name__)

#: While held, end offsets (paused partitions fetch no highwater) are refreshed this often.
END_OFFSETS_EVERY_S = 2.0
#: Longest start (topics, group join, producer) before it counts as "Kafka unavailable".
START_TIMEOUT_S = 20.0


class KafkaEventStream:
    """:class:`~movierecs.ports.EventStream` over one Kafka consumer group.

    Parameters
    ----------
    bootstrap
        ``host:port[,host:port]`` of the brokers.
    topic
        Interactions topic; created at :meth:`start` (with ``dlq_topic``) if missing.
    group_id
        Consumer group: committed offsets are per group, and partitions are shared among its members.
    dlq_topic
        Where invalid records go (original value and key, reason in the headers); default ``<topic>.dlq``.
    partitions
        Partition count of the topics this stream creates.
    """

    def __init__(
        self, bootstrap: str, topic: str, *, group_id: str, dlq_topic: str | None = None, partitions: int = 3
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.dlq_topic = dlq_topic or f"{topic}.dlq"
        self.partitions = partitions
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._carry: list[ConsumerRecord[Any, Any]] = []  # fetched while held; the next read's head
        self._positions: dict[TopicPartition, int] = {}  # next offset to fetch
        self._ends: dict[TopicPartition, int] = {}  # end offsets asked for while held
        self._paused: set[TopicPartition] = set()
        self._next_ends_at = 0.0

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Create the topics, join the group, start the dead-letter producer.

        Raises
        ------
        BusUnavailableError
            Kafka could not be reached within ``START_TIMEOUT_S`` (nothing is left running).
        """
        consumer = producer = None
        try:
            await ensure_topics(self.bootstrap, [self.topic, self.dlq_topic], self.partitions)
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
            async with asyncio.timeout(START_TIMEOUT_S):
                await consumer.start()
                await producer.start()
        except (KafkaError, OSError, TimeoutError, BusUnavailableError) as exc:
            for client in (consumer, producer):
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.stop()
            if isinstance(exc, BusUnavailableError):
                raise
            raise BusUnavailableError(f"Kafka at {self.bootstrap}: {type(exc).__name__}: {exc}") from exc
        self._consumer, self._producer = consumer, producer
        log.info("consuming %s as group %s from %s", self.topic, self.group_id, self.bootstrap)

    async def stop(self) -> None:
        consumer, producer, self._consumer, self._producer = self._consumer, self._producer, None, None
        for client in (consumer, producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), timeout=10)

    # ---- reading -------------------------------------------------------------------------------
    async def read(self, max_records: int, timeout_s: float) -> Sequence[StreamRecord]:
        """Up to ``max_records`` records: the ones buffered while held first (at once), else a fetch
        that waits at most ``timeout_s`` for any."""
        if self._carry:
            out, self._carry = self._carry[:max_records], self._carry[max_records:]
            return out
        consumer = self._started()
        fetched = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        records: list[StreamRecord] = []
        for tp, batch in fetched.items():
            records.extend(batch)
            self._positions[tp] = batch[-1].offset + 1
        return records

    async def hold(self) -> None:
        """Pause every assigned partition (new ones too), poll so the group keeps this member, buffer
        what was in flight; every ``END_OFFSETS_EVERY_S`` ask for the paused partitions' ends (lag)."""
        consumer = self._started()
        new = set(consumer.assignment()) - self._paused
        if new:
            consumer.pause(*new)
            self._paused |= new
        fetched = await consumer.getmany(timeout_ms=0)
        for tp, batch in fetched.items():  # only from partitions assigned in between
            self._carry.extend(batch)
            self._positions[tp] = batch[-1].offset + 1
        now = time.monotonic()
        if now >= self._next_ends_at and self._paused:
            self._next_ends_at = now + END_OFFSETS_EVERY_S
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                self._ends.update(await asyncio.wait_for(consumer.end_offsets(list(self._paused)), timeout=5))

    async def release(self) -> None:
        paused, self._paused = self._paused, set()
        self._next_ends_at = 0.0
        if self._consumer is not None and paused:
            still = set(self._consumer.assignment()) & paused
            if still:
                self._consumer.resume(*still)

    def lag(self) -> dict[int, int]:
        if self._consumer is None:
            return {}
        assigned = self._consumer.assignment()
        highwaters: dict[int, int | None] = {
            tp.partition: max(self._consumer.highwater(tp) or 0, self._ends.get(tp, 0)) for tp in assigned
        }
        positions = {tp.partition: self._positions[tp] for tp in assigned if tp in self._positions}
        return lag(highwaters, positions)

    # ---- writing back --------------------------------------------------------------------------
    async def commit(self, records: Sequence[StreamRecord]) -> None:
        """Commit the offsets after ``records`` on the partitions still assigned to this member
        (a revoked partition's records are redelivered to its new owner: harmless, idempotent).

        Raises
        ------
        BusUnavailableError
            The commit failed (broker down, rebalance in progress); the records are redelivered.
        """
        consumer = self._started()
        assigned = consumer.assignment()
        offsets = {
            tp: OffsetAndMetadata(offset, "")
            for (topic, partition), offset in next_offsets(records).items()
            if (tp := TopicPartition(topic, partition)) in assigned
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            raise BusUnavailableError(f"Kafka offset commit failed: {type(exc).__name__}: {exc}") from exc

    async def dead_letter(self, rejected: Sequence[tuple[StreamRecord, Rejection]]) -> None:
        """Produce each rejected record to the dead-letter topic (original value and key, the reason
        and the source position in the headers); return once every one is acknowledged."""
        if self._producer is None:
            raise BusUnavailableError("the Kafka event stream is not started")
        futures = [
            await self._producer.send(
                self.dlq_topic, value=record.value, key=record.key, headers=dlq_headers(record, rejection)
            )
            for record, rejection in rejected
        ]
        await asyncio.gather(*futures)

    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise BusUnavailableError("the Kafka event stream is not started")
        return self._consumer
