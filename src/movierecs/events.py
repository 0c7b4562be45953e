"""The interaction event: what the API accepts, the bus carries and the stores keep.

Wire format (DESIGN.md §3, contract): JSON with ``event_id`` (UUID, always set on the bus),
``user_id``, ``item_id``, ``type``, ``value`` and ``ts`` (ISO-8601).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ID = 2**63 - 1
PositiveId = Annotated[int, Field(ge=1, le=MAX_ID)]


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
    value: float | None = Field(default=None, ge=-1e6, le=1e6, allow_inf_nan=False)
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
