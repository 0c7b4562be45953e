"""The interaction event and its one codec: what the API accepts, the bus carries and the stores keep.

Wire format (DESIGN.md §3, contract): JSON with ``event_id`` (UUID, always set on the bus),
``user_id``, ``item_id``, ``type``, ``value`` and ``ts`` (ISO-8601). Every producer and consumer
goes through this module: :meth:`Event.to_json` / :meth:`Event.kafka_key` to write,
:func:`decode` for one record off the bus (the consumer, the replicas' tail, the dead-letter
reasons) and :func:`decode_request` for an API body of one event or a list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from movierecs.exceptions import BatchTooLargeError, InvalidEventsError

#: The largest viewer or title id: JavaScript's Number.MAX_SAFE_INTEGER. Above it a JSON number read
#: as a double is no longer exact (two ids could become one), and schema validators comparing as
#: doubles disagree with the API about the bound.
MAX_ID = 2**53 - 1
#: Most events one API request may carry.
MAX_BATCH = 1000
#: Longest error text carried in a dead-letter header.
MAX_ERROR_CHARS = 1000


def _json_number(value: Any) -> Any:
    """JSON numbers only: ``true``, ``false`` and ``"5"`` are not ids or values (a client sending
    them has a bug); ``5.0`` is the integer 5, as JSON Schema reads it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


PositiveId = Annotated[int, BeforeValidator(_json_number), Field(ge=1, le=MAX_ID)]
EventValue = Annotated[float, BeforeValidator(_json_number), Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class EventType(StrEnum):
    like = "like"
    dislike = "dislike"
    watch = "watch"
    rating = "rating"
    click = "click"
    impression = "impression"


class Event(BaseModel):
    """One viewer interaction. ``event_id`` makes storage idempotent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    user_id: PositiveId
    item_id: PositiveId
    type: EventType
    value: EventValue | None = None
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("ts")
    @classmethod
    def _utc(cls, ts: datetime) -> datetime:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        ts = ts.astimezone(UTC)
        if not datetime(1970, 1, 2, tzinfo=UTC) <= ts <= datetime(2105, 12, 31, tzinfo=UTC):
            raise ValueError("ts must lie between 1970-01-02 and 2105-12-31 (ClickHouse DateTime range)")
        return ts

    @model_validator(mode="after")
    def _rating_needs_value(self) -> Event:
        if self.type is EventType.rating and self.value is None:
            raise ValueError("a 'rating' event needs a numeric 'value' (e.g. 1..5)")
        return self

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        data: Any = orjson.loads(raw)
        return cls.model_validate(data)

    def kafka_key(self) -> bytes:
        return str(self.user_id).encode()


@dataclass(frozen=True, slots=True)
class Forget:
    """A viewer asked to be forgotten (DELETE /v1/users/{id}). On Kafka it is a tombstone: a record
    on the interactions topic with key = the user id and no value."""

    user_id: int


def tombstone_user(key: bytes | None, value: bytes | None) -> int | None:
    """The viewer a tombstone record forgets, or None when the record is not a tombstone.

    Examples
    --------
    >>> tombstone_user(b"42", None), tombstone_user(b"42", b"{}"), tombstone_user(b"x", None)
    (42, None, None)
    """
    if value or not key or not key.isdigit():
        return None
    user_id = int(key)
    return user_id if 1 <= user_id <= MAX_ID else None


class RejectReason(StrEnum):
    """Why a record is not an event (the ``reason`` label of the consumer's dlq_total)."""

    empty = "empty"  # null or empty value
    bad_json = "bad_json"  # not UTF-8 JSON
    schema = "schema"  # JSON, but not a valid event (missing/extra fields, bad types or ranges)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    error: str


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc'])) or '(event)'}: {err['msg']}" for err in exc.errors())


def decode(value: bytes | None) -> Event | Rejection:
    """The event a bus record carries, or why it is not one.

    Examples
    --------
    >>> decode(b'{"user_id": 1, "item_id": 2, "type": "like"}').type.value
    'like'
    >>> decode(b"{oops").reason.value
    'bad_json'
    >>> decode(b"").reason.value
    'empty'
    """
    if not value:
        return Rejection(RejectReason.empty, "the record has no value")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Rejection(RejectReason.bad_json, f"invalid JSON: {exc}"[:MAX_ERROR_CHARS])
    if not isinstance(data, dict):
        return Rejection(RejectReason.schema, f"an event is a JSON object, got {type(data).__name__}")
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        return Rejection(RejectReason.schema, f"invalid event: {_problems(exc)}"[:MAX_ERROR_CHARS])
    except OverflowError as exc:  # a ts whose UTC form is outside datetime's range
        return Rejection(RejectReason.schema, f"invalid event: ts: {exc}"[:MAX_ERROR_CHARS])


def decode_request(
    body: bytes, max_batch: int = MAX_BATCH, now: datetime | None = None, max_future: timedelta | None = None
) -> list[Event]:
    """The events of an API body: one event object or a non-empty list of at most ``max_batch``.

    ``event_id`` (a fresh UUID) and ``ts`` (now) are assigned where absent. ``ts`` must be an
    ISO-8601 string here (a client's number is ambiguous: seconds or milliseconds?). With ``now``
    and ``max_future``, an event dated more than ``max_future`` after ``now`` is refused (one dated
    2105 would otherwise drag the next training watermark past every new like).

    Raises
    ------
    InvalidEventsError
        Malformed JSON or any invalid event; ``errors`` lists every problem with its location
        (``("body", n, field)``). Nothing is accepted then.
    BatchTooLargeError
        A list of more than ``max_batch`` events.

    Examples
    --------
    >>> [e.item_id for e in decode_request(b'[{"user_id": 1, "item_id": 2, "type": "like"}]')]
    [2]
    >>> decode_request(b'{"user_id": 1, "item_id": 2, "type": "purchase"}')
    Traceback (most recent call last):
    ...
    movierecs.exceptions.InvalidEventsError: invalid events: body.type: Input should be 'like', ...
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventsError([_error("json_invalid", ("body",), f"invalid JSON: {exc}")]) from exc
    is_list = isinstance(data, list)
    batch = data if is_list else [data]
    if is_list and len(batch) > max_batch:
        raise BatchTooLargeError(len(batch), max_batch)
    if not batch:
        raise InvalidEventsError([_error("too_short", ("body",), "empty batch")])
    errors: list[dict[str, Any]] = []
    events: list[Event] = []
    for n, raw in enumerate(batch):
        loc: tuple[str | int, ...] = ("body", n) if is_list else ("body",)
        if isinstance(raw, dict):
            if not isinstance(raw.get("ts", ""), str | None):
                errors.append(_error("string_type", (*loc, "ts"), "ts must be an ISO-8601 string"))
                continue
            # null means "assign it", as leaving the field out does
            raw = {k: v for k, v in raw.items() if not (v is None and k in ("event_id", "ts"))}
        try:
            event = Event.model_validate(raw)
            if now is not None and max_future is not None and event.ts > now + max_future:
                ahead = int((event.ts - now).total_seconds())
                errors.append(
                    _error(
                        "value_error",
                        (*loc, "ts"),
                        f"ts is {ahead}s in the future; at most {int(max_future.total_seconds())}s ahead is accepted",
                    )
                )
                continue
            events.append(event)
        except ValidationError as exc:
            errors += [
                {**e, "loc": (*loc, *e["loc"]), "input": None}
                for e in exc.errors(include_url=False, include_context=False)
            ]
        except OverflowError as exc:  # a ts whose UTC form is outside datetime's range
            errors.append(_error("value_error", (*loc, "ts"), str(exc)))
    if errors:
        raise InvalidEventsError(errors)
    return events


def _error(kind: str, loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": None}
