"""Pure-ASGI middleware: a request id per request (X-Request-ID in and out) and a JSON access log."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from movierecs import logs

access = logging.getLogger("movierecs.access")
Scope = dict[str, Any]


class RequestContextMiddleware:
    def __init__(self, app: Any, access_log: bool = True, slow_ms: float = 250.0) -> None:
        self.app = app
        self.access_log = access_log
        self.slow_s = slow_ms / 1000

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming else uuid.uuid4().hex
        tokens = (logs.request_id.set(request_id), logs.user_id.set(None), logs.model_version.set(None))
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            elapsed = time.perf_counter() - start
            # fast successful reads are counted by the metrics; a line each would cost more than the
            # request itself at full load
            notable = scope.get("method") != "GET" or status >= 400 or elapsed >= self.slow_s
            if self.access_log and notable and path not in ("/metrics", "/healthz", "/readyz"):
                access.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "request_id": request_id,
                        "user_id": logs.user_id.get(),
                        "model_version": logs.model_version.get(),
                    },
                )
            logs.request_id.reset(tokens[0])
            logs.user_id.reset(tokens[1])
            logs.model_version.reset(tokens[2])
