"""Viewers' interactions: POST /v1/events (one event or a batch), decoded by the one event codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response

from movierecs.events import MAX_BATCH, decode_request
from movierecs.exceptions import BusUnavailableError, UnknownItemError
from movierecs.serving.deps import MetricsDep, RuntimeDep, SettingsDep
from movierecs.serving.render import json_response
from movierecs.serving.schemas import EventIn, EventsAccepted

router = APIRouter()
_EVENT_SCHEMA = EventIn.model_json_schema()
# The body is read raw and decoded by movierecs.events; EventIn only documents it here.
_EVENTS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _EVENT_SCHEMA,
                    {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1, "maxItems": MAX_BATCH},
                ]
            }
        }
    },
}


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventsAccepted,
    tags=["events"],
    openapi_extra={"requestBody": _EVENTS_BODY},
    responses={
        413: {"description": "batch over 1000 events, or a body over the size limit"},
        422: {
            "description": "malformed JSON, an invalid event, one dated over 5 minutes ahead, or an unknown "
            "item_id; nothing was accepted"
        },
        503: {"description": "event bus unavailable; retry after Retry-After seconds"},
    },
)
async def post_events(request: Request, runtime: RuntimeDep, metrics: MetricsDep, settings: SettingsDep) -> Response:
    """One event or a list of up to 1000; 202 once the bus acknowledged them all."""
    body = await request.body()  # bounded while read (SecurityMiddleware: 413 past max_body_bytes)
    max_future = timedelta(seconds=settings.max_future_s)
    # InvalidEventsError: 422, BatchTooLargeError: 413
    events = decode_request(body, MAX_BATCH, now=datetime.now(UTC), max_future=max_future)
    try:
        runtime.titles.check([e.item_id for e in events])
    except UnknownItemError:
        for e in events:
            metrics.events.labels(e.type.value, "rejected").inc()
        raise
    try:
        await runtime.publish(events)
    except BusUnavailableError as exc:
        for e in events:
            metrics.events.labels(e.type.value, "unavailable").inc()
        raise HTTPException(
            503, f"event bus unavailable, nothing was accepted: {exc}", headers={"Retry-After": "5"}
        ) from exc
    for e in events:
        runtime.feed.apply_event(e)
        metrics.events.labels(e.type.value, "accepted").inc()
    return json_response({"accepted": len(events), "event_ids": [str(e.event_id) for e in events]}, 202)
