"""The consumer's /metrics and /healthz endpoint (series names are relied on by dashboards/alerts)."""

from __future__ import annotations

import asyncio

import orjson

from movierecs.streaming.metrics import ConsumerMetrics, MetricsServer


async def get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_metrics_and_health_are_served() -> None:
    metrics = ConsumerMetrics()
    metrics.events.inc(5)
    metrics.dlq.labels("bad_json").inc()
    metrics.lag.labels("0").set(7)
    metrics.batch_size.observe(100)
    metrics.insert_seconds.observe(0.02)
    metrics.retries.inc()
    healthy = {"ok": True}
    server = MetricsServer(metrics, lambda: (healthy["ok"], {"state": "running"}), host="127.0.0.1", port=0)
    port = await server.start()
    try:
        status, body = await get(port, "/metrics")
        assert status == 200
        text = body.decode()
        for series in ('movierecs_consumer_lag{partition="0"} 7.0', "movierecs_consumer_events_total 5.0",
                       'movierecs_consumer_dlq_total{reason="bad_json"} 1.0', "movierecs_consumer_retries_total 1.0",
                       "movierecs_consumer_batch_size_bucket", "movierecs_consumer_insert_seconds_bucket"):  # fmt: skip
            assert series in text
        status, body = await get(port, "/healthz")
        assert (status, orjson.loads(body)) == (200, {"ok": True, "state": "running"})
        healthy["ok"] = False
        assert (await get(port, "/healthz"))[0] == 503
        assert (await get(port, "/nope"))[0] == 404
    finally:
        await server.stop()
