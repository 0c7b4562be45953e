"""A plain record the stream tests feed to the consumer and the Kafka stream (fits StreamRecord)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"1"
    timestamp: int = 1_700_000_000_000
