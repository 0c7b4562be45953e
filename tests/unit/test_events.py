"""Event validation: ids, rating values, timestamp range, wire format."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from movierecs.events import MAX_ID, Event, EventType, Rejection, RejectReason, decode, decode_request
from movierecs.exceptions import BatchTooLargeError, InvalidEventsError

TS = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_valid_event_defaults() -> None:
    event = Event(user_id=1, item_id=MAX_ID, type="like", ts=TS)
    assert event.type is EventType.like
    assert isinstance(event.event_id, uuid.UUID)
    assert event.value is None
    assert Event(user_id=1, item_id=2, type="like").event_id != event.event_id


@pytest.mark.parametrize("field", ["user_id", "item_id"])
@pytest.mark.parametrize("bad", [0, -5, MAX_ID + 1, "abc", 1.5])
def test_bad_ids_are_rejected(field: str, bad: object) -> None:
    kwargs: dict[str, object] = {"user_id": 1, "item_id": 1, "type": "like", "ts": TS, field: bad}
    with pytest.raises(ValidationError, match=field):
        Event(**kwargs)  # type: ignore[arg-type]


def test_rating_needs_a_value() -> None:
    with pytest.raises(ValidationError, match="needs a numeric 'value'"):
        Event(user_id=1, item_id=1, type="rating", ts=TS)
    assert Event(user_id=1, item_id=1, type="rating", value=4.5, ts=TS).value == 4.5


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 1e7])
def test_non_finite_or_huge_values_are_rejected(value: float) -> None:
    with pytest.raises(ValidationError):
        Event(user_id=1, item_id=1, type="rating", value=value, ts=TS)


def test_unknown_type_and_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Event(user_id=1, item_id=1, type="purchase", ts=TS)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Event(user_id=1, item_id=1, type="like", ts=TS, score=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "ts",
    [datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, tzinfo=UTC), datetime(2106, 1, 1, tzinfo=UTC)],
)
def test_timestamps_outside_the_store_range_are_rejected(ts: datetime) -> None:
    with pytest.raises(ValidationError, match="1970-01-02"):
        Event(user_id=1, item_id=1, type="like", ts=ts)


def test_timestamps_become_utc() -> None:
    naive = Event(user_id=1, item_id=1, type="like", ts=datetime(2024, 5, 1, 12, 0))
    assert naive.ts == TS
    assert naive.ts.tzinfo is not None
    plus2 = timezone(timedelta(hours=2))
    shifted = Event(user_id=1, item_id=1, type="like", ts=datetime(2024, 5, 1, 14, 0, tzinfo=plus2))
    assert shifted.ts == TS
    assert shifted.ts.utcoffset() == timedelta(0)
    edge = Event(user_id=1, item_id=1, type="like", ts=datetime(1970, 1, 2, tzinfo=UTC))
    assert edge.ts.year == 1970


def test_json_round_trip_and_kafka_key() -> None:
    event = Event(user_id=42, item_id=7, type="rating", value=3.0, ts=TS)
    raw = event.to_json()
    assert b'"event_id"' in raw
    assert Event.from_json(raw) == event
    assert Event.from_json(raw.decode()) == event
    assert event.kafka_key() == b"42"


def test_events_are_immutable() -> None:
    event = Event(user_id=1, item_id=1, type="like", ts=TS)
    with pytest.raises(ValidationError):
        event.user_id = 2  # type: ignore[misc]


# ---- the codec: one decoder for API bodies (decode_request) and bus records (decode) ------------
def test_decode_request_one_event_or_a_list_assigns_ids_and_times() -> None:
    (one,) = decode_request(b'{"user_id": 1, "item_id": 2, "type": "like"}')
    assert isinstance(one.event_id, uuid.UUID)
    assert one.ts.tzinfo is not None
    many = decode_request(
        b'[{"user_id": 1, "item_id": 2, "type": "like", "ts": "2024-05-01T14:00:00+02:00"},'
        b' {"user_id": 3, "item_id": 4, "type": "rating", "value": 4}]'
    )
    assert [(e.user_id, e.item_id) for e in many] == [(1, 2), (3, 4)]
    assert many[0].ts == TS.replace(hour=12)
    assert many[0].event_id != many[1].event_id


def test_decode_request_reports_every_bad_event_with_its_position() -> None:
    body = b'[{"user_id": 1, "item_id": 2, "type": "like"}, {"user_id": 0, "item_id": 2, "type": "nope"}]'
    with pytest.raises(InvalidEventsError) as caught:
        decode_request(body)
    locs = {tuple(e["loc"]) for e in caught.value.errors}
    assert ("body", 1, "user_id") in locs
    assert ("body", 1, "type") in locs
    assert all(e["loc"][1] == 1 for e in caught.value.errors)  # the valid first event is not blamed


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"{oops", "json_invalid"),
        (b"[]", "too_short"),
        (b'{"user_id": 1, "item_id": 2, "type": "like", "ts": 1714564800}', "string_type"),
        (b'{"user_id": 1, "item_id": 2, "type": "like", "ts": "9999-12-31T23:59:59-14:00"}', "value_error"),
    ],
)
def test_decode_request_refuses_malformed_bodies(body: bytes, kind: str) -> None:
    with pytest.raises(InvalidEventsError) as caught:
        decode_request(body)
    assert caught.value.errors[0]["type"] == kind


def test_decode_request_bounds_the_batch() -> None:
    event = b'{"user_id": 1, "item_id": 2, "type": "like"}'
    assert len(decode_request(b"[" + b",".join([event] * 3) + b"]", max_batch=3)) == 3
    with pytest.raises(BatchTooLargeError, match="at most 3"):
        decode_request(b"[" + b",".join([event] * 4) + b"]", max_batch=3)


def test_bus_records_round_trip_through_the_codec() -> None:
    event = Event(user_id=42, item_id=7, type="watch", ts=TS)
    assert decode(event.to_json()) == event
    rejected = decode(b'{"user_id": 42, "item_id": 7, "type": "watch", "score": 1}')
    assert isinstance(rejected, Rejection)
    assert rejected.reason is RejectReason.schema
    assert "score" in rejected.error
    overflow = decode(b'{"user_id": 1, "item_id": 2, "type": "like", "ts": "0001-01-01T00:00:00+01:00"}')
    assert isinstance(overflow, Rejection)
    assert overflow.reason is RejectReason.schema


def test_decode_request_treats_null_ids_and_times_as_absent() -> None:
    (event,) = decode_request(b'{"event_id": null, "user_id": 1, "item_id": 2, "type": "like", "ts": null}')
    assert isinstance(event.event_id, uuid.UUID)
    assert event.ts.year >= 2026


@pytest.mark.parametrize(
    "field", ['"user_id": true', '"user_id": "1"', '"value": false', '"user_id": 9007199254740992']
)
def test_decode_request_is_strict_about_json_types_and_the_id_range(field: str) -> None:
    body = '{"user_id": 1, "item_id": 2, "type": "rating", "value": 4, ' + field + "}"
    with pytest.raises(InvalidEventsError):
        decode_request(body.encode())
