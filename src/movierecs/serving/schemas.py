"""API schemas (separate from storage rows)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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

    event_id: str | None = Field(default=None, description="UUID; makes retries idempotent")
    user_id: int = Field(ge=1, le=2**63 - 1)
    item_id: int = Field(ge=1, le=2**63 - 1)
    type: EventTypeName
    value: float | None = None
    ts: str | None = Field(default=None, description="ISO-8601 time; default: now")


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
