"""FastAPI app factory: create_app assembles routers, middleware, error handlers and the lifespan.

Ports come in built (:func:`movierecs.composition.build_api`); nothing here chooses a backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from movierecs import __version__
from movierecs.models.bundle import Bundle
from movierecs.serving import errors
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.middleware import RequestContextMiddleware
from movierecs.serving.routes import admin, events, items, ops, recommendations, users
from movierecs.serving.runtime import ApiPorts, Runtime
from movierecs.serving.security import KeyRing, SecurityMiddleware, TokenBucket, required_scope
from movierecs.settings import Settings


def create_app(settings: Settings, ports: ApiPorts, bundle: Bundle | None = None) -> FastAPI:
    """Build the API over ``ports``. ``bundle`` preloads a model (tests); else ``ports.bundles`` loads it."""
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings, ports, metrics)
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
    app.state.metrics = metrics
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    keys = KeyRing.from_settings(settings.api_keys_file, token)
    limiter = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst) if settings.rate_limit_per_s else None
    app.add_middleware(SecurityMiddleware, keys=keys, limiter=limiter, max_body=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log, slow_ms=settings.slow_request_ms)
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(
        should_group_status_codes=False, excluded_handlers=["/metrics"], registry=metrics.registry
    ).instrument(app)
    errors.install(app)
    # Mounted flat (the routers' routes join the app's own list) rather than with include_router,
    # whose lazily resolved wrapper costs ~13 µs per request here (routing plus the instrumentator's
    # route lookup), over 10% of the hot route. The routers carry no prefix, dependencies or
    # dependency overrides that include_router would have applied. The order is the OpenAPI order.
    for router in (
        ops.router,
        recommendations.router,
        items.router,
        ops.model_router,
        events.router,
        users.router,
        admin.router,
    ):
        app.router.routes.extend(router.routes)
    document_security(app, keys.enforced)
    return app


def document_security(app: FastAPI, keys_enforced: bool) -> None:
    """Declare in the OpenAPI document what :class:`SecurityMiddleware` enforces: the bearer scheme,
    each operation's scope, and the 401/403/413/429 answers it may give."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        doc.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (MOVIERECS_API_KEYS_FILE) or MOVIERECS_ADMIN_TOKEN; "
                "scopes read, write, admin",
            }
        }
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if method in ("post", "put", "patch"):
                    responses.setdefault("400", {"description": "the body could not be parsed"})
                    responses.setdefault("413", {"description": "request body too large"})
                scope = required_scope(method.upper(), path)
                if scope is None or not (keys_enforced or scope == "admin"):
                    continue
                operation["security"] = [{"apiKey": [scope]}]
                responses.setdefault("401", {"description": "missing or invalid API key"})
                responses.setdefault("403", {"description": f"the key lacks the '{scope}' scope"})
                responses.setdefault("429", {"description": "rate limit exceeded; retry after Retry-After seconds"})
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
