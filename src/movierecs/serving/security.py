"""Who may call what: API keys with scopes, a per-key rate limit and a bounded request body.

Keys (``MOVIERECS_API_KEYS_FILE``): one line per key, ``<name> <scopes> <sha256-hex of the key>``,
scopes a comma list of ``read`` (GET routes), ``write`` (POST /v1/events, PUT and DELETE
/v1/users) and ``admin`` (/v1/admin/*); blank lines and ``#`` comments are ignored. Only hashes are
stored, so the file leaks no key. ``MOVIERECS_ADMIN_TOKEN`` is one more key with every scope.

Without a keys file, /v1 is open (the demo on 127.0.0.1) and only /v1/admin/* needs a key (the
admin token; without one, admin is disabled). ``/healthz``, ``/readyz``, ``/metrics`` and the
OpenAPI pages are always open: the cluster's NetworkPolicy guards them.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from movierecs.exceptions import BodyTooLargeError, DataError

SCOPES = frozenset({"read", "write", "admin"})
_HASH = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]


def key_hash(key: str) -> str:
    """The sha256 hex digest a keys file stores for ``key``.

    Examples
    --------
    >>> key_hash("secret")[:16]
    '2bb80d537b1da3e3'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = sorted(scopes - SCOPES)
    if not scopes or unknown:
        raise DataError(f"scopes must be a comma list of {', '.join(sorted(SCOPES))}; got {text!r}")
    return scopes


class KeyRing:
    """API keys by the sha256 of their secret; :meth:`lookup` turns a bearer token into a key."""

    def __init__(self, keys: dict[str, ApiKey] | None = None, enforced: bool = False) -> None:
        self._by_hash = dict(keys or {})
        self.enforced = enforced  # a keys file is configured: every /v1 route needs a key

    @classmethod
    def from_settings(cls, keys_file: Path | None, admin_token: str | None) -> KeyRing:
        ring = cls.from_lines(keys_file.read_text().splitlines(), str(keys_file)) if keys_file else cls()
        if admin_token:
            ring._by_hash[key_hash(admin_token)] = ApiKey("admin-token", SCOPES)
        return ring

    @classmethod
    def from_lines(cls, lines: Iterable[str], where: str = "keys file") -> KeyRing:
        """Parse a keys file; a bad line is a :class:`DataError` naming its line (never its content)."""
        keys: dict[str, ApiKey] = {}
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 3 or not _NAME.match(parts[0]) or not _HASH.match(parts[2].lower()):
                raise DataError(f"{where}, line {number}: expected '<name> <scopes> <sha256-hex>'")
            try:
                scopes = parse_scopes(parts[1])
            except DataError as exc:
                raise DataError(f"{where}, line {number}: {exc}") from None
            keys[parts[2].lower()] = ApiKey(parts[0], scopes)
        return cls(keys, enforced=True)

    def lookup(self, token: str) -> ApiKey | None:
        return self._by_hash.get(key_hash(token)) if token else None

    def keys(self) -> list[ApiKey]:
        return list(self._by_hash.values())

    @property
    def names(self) -> set[str]:
        return {k.name for k in self._by_hash.values()}

    @property
    def has_admin(self) -> bool:
        return any("admin" in k.scopes for k in self._by_hash.values())


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs; None for the open routes.

    Examples
    --------
    >>> [required_scope(m, p) for m, p in [("GET", "/v1/recommendations/1"), ("POST", "/v1/events"),
    ...     ("DELETE", "/v1/users/7"), ("POST", "/v1/admin/reload"), ("GET", "/healthz")]]
    ['read', 'write', 'write', 'admin', None]
    """
    if not path.startswith("/v1/"):
        return None
    if path.startswith("/v1/admin/"):
        return "admin"
    return "read" if method in ("GET", "HEAD") else "write"


@dataclass
class TokenBucket:
    """``rate`` requests a second with bursts of ``burst``, per key name; ``clock`` is injectable.

    Examples
    --------
    >>> now = [0.0]
    >>> bucket = TokenBucket(rate=1.0, burst=2, clock=lambda: now[0])
    >>> [bucket.take("k") for _ in range(3)]
    [0.0, 0.0, 1.0]
    >>> now[0] = 1.0; bucket.take("k")
    0.0
    """

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (tokens, at)

    def take(self, name: str) -> float:
        """0.0 when a token was taken, else the seconds until the next one is there."""
        now = self.clock()
        tokens, at = self._state.get(name, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._state[name] = (tokens - 1.0, now)
            return 0.0
        self._state[name] = (tokens, now)
        return (1.0 - tokens) / self.rate


Scope = dict[str, Any]


class SecurityMiddleware:
    """Pure ASGI: body-size limit, then key and scope, then the key's rate limit.

    ``max_body`` is enforced on the declared ``Content-Length`` at once and on the bytes actually
    received (chunked bodies): reading past it raises :class:`BodyTooLargeError` (413).
    """

    def __init__(self, app: Any, keys: KeyRing, limiter: TokenBucket | None, max_body: int) -> None:
        self.app, self.keys, self.limiter, self.max_body = app, keys, limiter, max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_body:
            await _reply(send, 413, f"body over {self.max_body} bytes")
            return
        needed = required_scope(scope["method"], scope["path"])
        if needed is not None and (self.keys.enforced or needed == "admin"):
            denied = self._check(needed, headers.get(b"authorization", b""))
            if denied is not None:
                await _reply(send, *denied)
                return
        await self.app(scope, _bounded(receive, self.max_body), send)

    def _check(self, needed: str, authorization: bytes) -> tuple[int, str, dict[str, str]] | None:
        bearer = {"WWW-Authenticate": "Bearer"}
        if needed == "admin" and not self.keys.has_admin:
            return 403, "admin endpoints are disabled: set MOVIERECS_ADMIN_TOKEN or an admin key", {}
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        key = self.keys.lookup(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            return 401, "missing or invalid API key (Authorization: Bearer <key>)", bearer
        if needed not in key.scopes:
            return 403, f"this key lacks the '{needed}' scope", {}
        if self.limiter is not None:
            wait = self.limiter.take(key.name)
            if wait > 0:
                return 429, "rate limit exceeded for this key", {"Retry-After": str(max(1, math.ceil(wait)))}
        return None


def _bounded(receive: Any, limit: int) -> Any:
    seen = 0

    async def receive_bounded() -> dict[str, Any]:
        nonlocal seen
        message: dict[str, Any] = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(limit)
        return message

    return receive_bounded


async def _reply(send: Any, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = orjson.dumps({"detail": detail})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
