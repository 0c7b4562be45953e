"""API schemas (separate from storage rows)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from movierecs.events import MAX_ID

#: The largest id the API accepts and documents (movierecs.events.MAX_ID).
DOCUMENTED_MAX_ID = MAX_ID

EventTypeName = Literal["like", "dislike", "watch", "rating", "click", "impression"]


class RecommendedItem(BaseModel):
    item_id: int
    score: float
    title: str
    year: int | None
    genres: list[str]
    reason: str


class RecommendationsOut(BaseModel):
    user_id: int
    model_version: str
    strategy: str = Field(description="ials | ials_online | popular_segment | popular")
    items: list[RecommendedItem]


class SimilarOut(BaseModel):
    item_id: int
    model_version: str
    items: list[RecommendedItem]


class EventIn(BaseModel):
    """One interaction; ``event_id`` (UUID) and ``ts`` (ISO-8601) are assigned when absent."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(
        default=None, description="UUID; makes retries idempotent", json_schema_extra={"format": "uuid"}
    )
    user_id: int = Field(ge=1, le=DOCUMENTED_MAX_ID)
    item_id: int = Field(ge=1, le=DOCUMENTED_MAX_ID)
    type: EventTypeName
    value: float | None = Field(default=None, ge=-1e6, le=1e6, description="required for type 'rating' (e.g. 1..5)")
    ts: str | None = Field(
        default=None,
        description="ISO-8601 time, 1970-01-02 to at most 5 minutes from now; default: now",
        json_schema_extra={"format": "date-time"},
    )


class EventsAccepted(BaseModel):
    accepted: int
    event_ids: list[str]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    age: int | None = Field(default=None, ge=1, le=120)
    gender: str | None = Field(default=None, max_length=16)
    occupation: str | None = Field(default=None, max_length=64)


class UserOut(UserIn):
    user_id: int


class ForgottenOut(BaseModel):
    user_id: int
    forgotten: bool = Field(description="true: the viewer's events, demographics and online state are being deleted")


class ItemOut(BaseModel):
    item_id: int
    title: str
    year: int | None
    genres: list[str]


class ItemsOut(BaseModel):
    items: list[ItemOut]


class GenresOut(BaseModel):
    genres: list[str]


class ModelOut(BaseModel):
    model_version: str
    trained_at: str
    watermark: str
    dataset: str
    n_users: int
    n_items: int
    metrics: dict[str, float]


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="bundle folder or models:/ URI; default: configured")


class ReloadOut(BaseModel):
    model_version: str
    previous_version: str


class StrategiesOut(BaseModel):
    counts: dict[str, int]
