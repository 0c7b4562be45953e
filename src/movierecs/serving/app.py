"""FastAPI app factory: create_app(settings) wires the model, the catalog and the event bus."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter, ValidationError

from movierecs import __version__, logs
from movierecs.events import Event, EventType
from movierecs.exceptions import (
    BundleValidationError,
    BusUnavailableError,
    DataError,
    RegistryError,
    UnknownGenreError,
    UnknownItemError,
)
from movierecs.models.bundle import Bundle
from movierecs.serving.deps import RuntimeDep, ServiceDep, require_admin
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.middleware import RequestContextMiddleware
from movierecs.serving.params import RECOMMENDATION_PARAMETERS, parse_recommendation_params
from movierecs.serving.runtime import Runtime
from movierecs.serving.schemas import (
    EventIn,
    EventsAccepted,
    GenresOut,
    ItemOut,
    ItemsOut,
    ModelOut,
    RecommendationsOut,
    ReloadIn,
    ReloadOut,
    SimilarOut,
    StrategiesOut,
    UserIn,
    UserOut,
)
from movierecs.settings import Settings

log = logging.getLogger(__name__)
MAX_BATCH = 1000
MAX_BODY_BYTES = 2 * 1024 * 1024
UserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="positive integer viewer id")]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="positive integer title id")]
K = Annotated[int, Query(ge=1, le=100, description="number of items, 1..100")]
_event_adapter = TypeAdapter(EventIn)
_EVENT_SCHEMA = EventIn.model_json_schema()
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


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def create_app(settings: Settings | None = None, bundle: Bundle | None = None) -> FastAPI:
    """Build the API. ``bundle`` preloads a model (tests); otherwise the configured one is loaded."""
    settings = settings or Settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings, metrics)
        await runtime.start(bundle)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="MovieRecs API",
        version=__version__,
        description="Personalised movie recommendations: iALS with instant feedback fold-in, "
        'popularity cold start. Errors are `{"detail": ...}` with a 4xx status.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log, slow_ms=settings.slow_request_ms)
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(
        should_group_status_codes=False, excluded_handlers=["/metrics"], registry=metrics.registry
    ).instrument(app)

    @app.exception_handler(UnknownGenreError)
    async def _unknown_genre(_request: Request, exc: UnknownGenreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "valid_genres": exc.valid}, status_code=422)

    @app.exception_handler(UnknownItemError)
    async def _unknown_item(_request: Request, exc: UnknownItemError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "unknown_item_ids": exc.item_ids}, status_code=422)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "not ready"}})
    async def readyz(runtime: RuntimeDep) -> Response:
        """Ready when the model is loaded and the stores/bus are reachable."""
        checks = await runtime.readiness()
        ok = all(checks.values())
        return _json({"ready": ok, "checks": checks}, 200 if ok else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/v1/recommendations/{user_id}",
        response_model=RecommendationsOut,
        tags=["recommendations"],
        openapi_extra={"parameters": RECOMMENDATION_PARAMETERS},
        responses={422: {"description": "bad user_id, k, genres or exclude_seen"}},
    )
    async def recommendations(request: Request) -> Response:
        """A viewer's feed. Unknown viewers get popularity (their segment's when demographics are known)."""
        p = parse_recommendation_params(request.path_params, request.query_params)
        runtime: Runtime = request.app.state.runtime
        service = runtime.service
        profile = await runtime.profile(p.user_id) if service.needs_profile(p.user_id) else None
        body, version = service.recommendations_json(p.user_id, p.k, p.genres, p.exclude_seen, profile)
        logs.user_id.set(p.user_id)
        logs.model_version.set(version)
        return Response(body, media_type="application/json")

    @app.get(
        "/v1/items/{item_id}/similar",
        response_model=SimilarOut,
        tags=["items"],
        responses={404: {"description": "unknown item"}},
    )
    async def similar(item_id: ItemId, service: ServiceDep, k: K = 10) -> Response:
        """Titles closest to this one in the model's item factors."""
        if item_id not in service.items:
            raise HTTPException(404, f"item {item_id} is not in the catalog")
        live, idx, scores = service.similar(item_id, k)
        ids = live.bundle.model.items.to_external(idx).tolist()
        title = service.items[item_id].title
        return _json(
            {
                "item_id": item_id,
                "model_version": live.version,
                "items": [
                    {
                        "item_id": i,
                        "score": round(float(s), 6),
                        "title": service.items[i].title,
                        "year": service.items[i].year,
                        "genres": service.items[i].genres,
                        "reason": f"similar to {title}",
                    }
                    for i, s in zip(ids, scores.tolist(), strict=True)
                ],
            }
        )

    @app.get("/v1/items", response_model=ItemsOut, tags=["items"])
    async def search_items(
        service: ServiceDep,
        q: Annotated[str, Query(max_length=200, description="part of the title")] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> ItemsOut:
        """Search titles by name."""
        return ItemsOut(
            items=[
                ItemOut(item_id=i, title=info.title, year=info.year, genres=info.genres)
                for i, info in service.search_items(q, limit)
            ]
        )

    @app.get("/v1/genres", response_model=GenresOut, tags=["items"])
    async def genres(service: ServiceDep) -> GenresOut:
        return GenresOut(genres=service.live.bundle.model.genre_names)

    @app.get("/v1/model", response_model=ModelOut, tags=["model"])
    async def model_info(service: ServiceDep) -> ModelOut:
        """The served model: version, training time, watermark and offline metrics."""
        meta = service.live.bundle.meta
        model = service.live.bundle.model
        return ModelOut(
            model_version=service.live.version,
            trained_at=str(meta.get("trained_at", "")),
            watermark=str(meta.get("watermark", "")),
            dataset=str(meta.get("dataset", "")),
            n_users=len(model.users),
            n_items=len(model.items),
            metrics={k: float(v) for k, v in dict(meta.get("metrics", {})).items()},
        )

    @app.get("/v1/stats/strategies", response_model=StrategiesOut, tags=["model"])
    async def strategies(service: ServiceDep) -> StrategiesOut:
        """How many lists each strategy served since start."""
        return StrategiesOut(counts=dict(service.strategy_counts))

    @app.post(
        "/v1/events",
        status_code=202,
        response_model=EventsAccepted,
        tags=["events"],
        openapi_extra={"requestBody": _EVENTS_BODY},
        responses={
            413: {"description": "batch over 1000 events"},
            422: {"description": "malformed JSON, an invalid event or an unknown item_id; nothing was accepted"},
            503: {"description": "event bus unavailable; retry after Retry-After seconds"},
        },
    )
    async def post_events(request: Request, runtime: RuntimeDep) -> Response:
        """One event or a list of up to 1000; 202 once the bus acknowledged them all."""
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes; send at most {MAX_BATCH} events")
        events = _parse_events(body)
        service = runtime.service
        try:
            service.check_items([e.item_id for e in events])
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
            service.apply_event(e)
            metrics.events.labels(e.type.value, "accepted").inc()
        return _json({"accepted": len(events), "event_ids": [str(e.event_id) for e in events]}, 202)

    @app.put("/v1/users/{user_id}", response_model=UserOut, tags=["users"])
    async def put_user(user_id: UserId, body: UserIn, runtime: RuntimeDep) -> UserOut:
        """Set a viewer's demographics (used for cold-start segment popularity)."""
        await runtime.put_profile(user_id, body.model_dump())
        return UserOut(user_id=user_id, **body.model_dump())

    @app.get(
        "/v1/users/{user_id}",
        response_model=UserOut,
        tags=["users"],
        responses={404: {"description": "no demographics for this viewer"}},
    )
    async def get_user(user_id: UserId, runtime: RuntimeDep) -> UserOut:
        profile = await runtime.profile(user_id)
        if profile is None:
            raise HTTPException(404, f"no demographics for user {user_id}")
        return UserOut(user_id=user_id, **{k: profile.get(k) for k in ("age", "gender", "occupation")})

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadOut,
        tags=["admin"],
        dependencies=[Depends(require_admin)],
        responses={
            401: {"description": "missing/invalid token"},
            403: {"description": "disabled"},
            409: {"description": "bundle failed validation; the old model keeps serving"},
            503: {"description": "registry unreachable"},
        },
    )
    async def reload(runtime: RuntimeDep, body: ReloadIn | None = None) -> ReloadOut:
        """Load the registry's current version of the alias (or ``model``) and swap atomically."""
        try:
            version, previous = await runtime.reload(body.model if body else None)
        except (BundleValidationError, DataError) as exc:
            metrics.reloads.labels("refused").inc()
            raise HTTPException(409, f"model refused, still serving the previous one: {exc}") from exc
        except RegistryError as exc:
            metrics.reloads.labels("error").inc()
            raise HTTPException(
                503, f"registry unavailable, still serving the previous model: {exc}", headers={"Retry-After": "10"}
            ) from exc
        except Exception as exc:  # unreadable bundle files (BadZipFile...), registry lookups (MlflowException)
            log.exception("model reload refused")
            metrics.reloads.labels("refused").inc()
            raise HTTPException(409, f"model refused, still serving the previous one: {exc}") from exc
        metrics.reloads.labels("success").inc()
        return ReloadOut(model_version=version, previous_version=previous)

    return app


def _parse_events(body: bytes) -> list[Event]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"invalid JSON: {exc}", "input": None}]
        ) from exc
    batch = data if isinstance(data, list) else [data]
    if isinstance(data, list) and len(data) > MAX_BATCH:
        raise HTTPException(413, f"batch of {len(data)} events; send at most {MAX_BATCH} per request")
    if not batch:
        raise RequestValidationError([{"type": "too_short", "loc": ("body",), "msg": "empty batch", "input": []}])
    errors: list[dict[str, Any]] = []
    events: list[Event] = []
    for n, raw in enumerate(batch):
        loc = ("body", n) if isinstance(data, list) else ("body",)
        try:
            parsed = _event_adapter.validate_python(raw)
            events.append(
                Event(
                    event_id=uuid.UUID(parsed.event_id) if parsed.event_id else uuid.uuid4(),
                    user_id=parsed.user_id,
                    item_id=parsed.item_id,
                    type=EventType(parsed.type),
                    value=parsed.value,
                    ts=datetime.fromisoformat(parsed.ts) if parsed.ts else datetime.now(UTC),
                )
            )
        except ValidationError as exc:
            errors += [
                {**e, "loc": (*loc, *e["loc"]), "input": None}
                for e in exc.errors(include_url=False, include_context=False)
            ]
        except (ValueError, OverflowError) as exc:  # OverflowError: ts whose UTC form is out of datetime range
            errors.append({"type": "value_error", "loc": loc, "msg": str(exc), "input": None})
    if errors:
        raise RequestValidationError(errors)
    return events
