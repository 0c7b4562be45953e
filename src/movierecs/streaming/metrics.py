"""Prometheus metrics of the consumer, served with ``/healthz`` on one small asyncio HTTP endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)


class ConsumerMetrics:
    """The consumer's series (own registry, so tests and several consumers per process don't clash)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.lag = Gauge(
            "movierecs_consumer_lag",
            "Records behind the end of the partition (fetch high watermark - position)",
            ["partition"],
            registry=r,
        )
        self.batch_size = Histogram(
            "movierecs_consumer_batch_size",
            "Records per batch handled (stored + dead-lettered)",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10_000, 20_000, 50_000),
            registry=r,
        )
        self.insert_seconds = Histogram(
            "movierecs_consumer_insert_seconds",
            "Duration of one successful interaction-store write",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.retries = Counter(
            "movierecs_consumer_retries_total",
            "Failed store writes or dead-letter produces that were retried",
            registry=r,
        )
        self.dlq = Counter("movierecs_consumer_dlq", "Records sent to the dead-letter topic", ["reason"], registry=r)
        self.events = Counter("movierecs_consumer_events", "Valid events written to the interaction store", registry=r)
        self.commits = Counter("movierecs_consumer_commits", "Offset commits", ["result"], registry=r)


class MetricsServer:
    """``GET /metrics`` (Prometheus text) and ``GET /healthz`` (JSON from ``health()``) on one port."""

    def __init__(
        self,
        metrics: ConsumerMetrics,
        health: Callable[[], tuple[bool, dict[str, object]]],
        host: str = "0.0.0.0",  # noqa: S104 - scraped by Prometheus from other pods
        port: int = 9100,
    ) -> None:
        self.metrics, self.health, self.host, self.port = metrics, health, host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (``port=0`` picks a free one)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("consumer metrics on http://%s:%d/metrics", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
            if path == "/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
            elif path in ("/healthz", "/readyz"):
                ok, detail = self.health()
                status = "200 OK" if ok else "503 Service Unavailable"
                ctype, body = "application/json", orjson.dumps({"ok": ok, **detail})
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found: try /metrics or /healthz\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
