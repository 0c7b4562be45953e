"""Pure consumer rules: decode/validate, dead-letter headers, offsets, batching, backoff, lag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest

from movierecs.events import MAX_ERROR_CHARS, Event, EventType, Rejection, RejectReason, decode
from movierecs.streaming.handlers import Backoff, BatchPolicy, dlq_headers, lag, next_offsets, split_batch

TS = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rec:
    value: bytes | None
    topic: str = "t"
    partition: int = 0
    offset: int = 0
    timestamp: int = 1_700_000_000_000
    key: bytes | None = b"1"


def good(**over: object) -> bytes:
    body: dict[str, object] = {"event_id": str(uuid.uuid4()), "user_id": 7, "item_id": 9, "type": "like",
                               "ts": TS.isoformat()}  # fmt: skip
    body.update(over)
    return orjson.dumps(body)


def test_valid_event_round_trips_the_wire_format() -> None:
    event = Event(user_id=3, item_id=4, type="rating", value=4.5, ts=TS)
    decoded = decode(event.to_json())
    assert decoded == event


def test_event_id_is_optional_on_input() -> None:
    decoded = decode(b'{"user_id": 1, "item_id": 2, "type": "watch"}')
    assert isinstance(decoded, Event)
    assert decoded.type is EventType.watch


@pytest.mark.parametrize("value", [None, b""])
def test_empty_records_are_rejected(value: bytes | None) -> None:
    rejected = decode(value)
    assert isinstance(rejected, Rejection)
    assert rejected.reason is RejectReason.empty


@pytest.mark.parametrize("raw", [b"{oops", b"\xff\xfe", b'{"user_id": 1,', b"nan"])
def test_bad_json_is_rejected(raw: bytes) -> None:
    rejected = decode(raw)
    assert isinstance(rejected, Rejection)
    assert rejected.reason is RejectReason.bad_json
    assert "JSON" in rejected.error


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (good(user_id=0), "user_id"),
        (good(item_id="abc"), "item_id"),
        (good(type="purchase"), "type"),
        (good(type="rating"), "value"),  # a rating needs a value
        (good(event_id="not-a-uuid"), "event_id"),
        (good(ts="1960-01-01T00:00:00Z"), "ts"),
        (good(extra=1), "extra"),
        (b"[1, 2]", "object"),
        (b"42", "object"),
    ],
)
def test_schema_violations_are_rejected_with_the_field(raw: bytes, field: str) -> None:
    rejected = decode(raw)
    assert isinstance(rejected, Rejection)
    assert rejected.reason is RejectReason.schema
    assert field in rejected.error


def test_error_text_is_bounded() -> None:
    rejected = decode(orjson.dumps({f"f{i}": i for i in range(500)}))
    assert isinstance(rejected, Rejection)
    assert len(rejected.error) <= MAX_ERROR_CHARS


def test_split_keeps_order_and_never_drops_a_record() -> None:
    records = [Rec(good(user_id=1), offset=0), Rec(b"{", offset=1), Rec(good(user_id=2), offset=2),
               Rec(None, offset=3, key=None)]  # fmt: skip
    split = split_batch(records)
    assert [e.user_id for e in split.events] == [1, 2]
    assert [(r.offset, rej.reason) for r, rej in split.rejected] == [(1, RejectReason.bad_json),
                                                                     (3, RejectReason.empty)]  # fmt: skip


def test_dlq_headers_carry_reason_and_source() -> None:
    record = Rec(b"{", topic="movierecs.interactions", partition=2, offset=41, timestamp=123)
    headers = dict(dlq_headers(record, Rejection(RejectReason.bad_json, "invalid JSON: x")))
    assert headers == {
        "movierecs.reason": b"bad_json",
        "movierecs.error": b"invalid JSON: x",
        "movierecs.source.topic": b"movierecs.interactions",
        "movierecs.source.partition": b"2",
        "movierecs.source.offset": b"41",
        "movierecs.source.timestamp": b"123",
    }


def test_next_offsets_is_highest_plus_one_per_partition() -> None:
    records = [Rec(b"", partition=0, offset=5), Rec(b"", partition=1, offset=9), Rec(b"", partition=0, offset=7),
               Rec(b"", partition=0, offset=6)]  # fmt: skip
    assert next_offsets(records) == {("t", 0): 8, ("t", 1): 10}
    assert next_offsets([]) == {}


def test_batch_policy_flushes_on_size_or_age() -> None:
    policy = BatchPolicy(max_size=3, max_wait_s=0.5)
    assert not policy.due(0, None, 10.0)
    assert not policy.due(2, 10.0, 10.4)
    assert policy.due(2, 10.0, 10.5)
    assert policy.due(3, 10.0, 10.0)
    assert policy.wait_s(0, None, 10.0, idle_s=0.25) == 0.25
    assert policy.wait_s(1, 10.0, 10.2) == pytest.approx(0.3)
    assert policy.wait_s(1, 10.0, 11.0) == 0.0
    with pytest.raises(ValueError, match="max_size"):
        BatchPolicy(max_size=0)


def test_backoff_is_exponential_and_capped() -> None:
    backoff = Backoff(initial_s=0.2, factor=2.0, max_s=1.0)
    assert [backoff.delay(a) for a in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(-1) == 0.2


def test_lag_is_highwater_minus_position() -> None:
    assert lag({0: 10, 1: 5, 2: None, 3: 7}, {0: 4, 1: 6, 2: 3}) == {0: 6, 1: 0}


def test_tombstones_are_viewers_to_forget_not_dead_letters() -> None:
    records = [
        Rec(good(item_id=2), offset=0),
        Rec(None, offset=1, key=b"77", timestamp=1_700_000_123_000),  # a tombstone
        Rec(None, offset=2, key=b"not-a-viewer"),  # no value and no viewer: invalid
    ]
    split = split_batch(records)
    assert [e.item_id for e in split.events] == [2]
    assert split.forgotten == [(77, 1_700_000_123_000)]
    assert [r.offset for r, _ in split.rejected] == [2]
