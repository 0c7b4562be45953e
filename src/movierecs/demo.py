"""`make demo`: the whole loop embedded — data, stores, train, register, promote, API (+ UI)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Any

from rich.console import Console

from movierecs.settings import Settings

DATASET = "ml-100k"


def prepare(settings: Settings, console: Console) -> dict[str, Any]:
    """Idempotent: download if absent, load stores if empty, train+promote if no champion."""
    from movierecs.composition import training_ports
    from movierecs.data.fetch import fetch_dataset
    from movierecs.data.loaders import load_dataset
    from movierecs.models.hybrid import HybridConfig
    from movierecs.training.lifecycle import TRAIN_PROTOCOL, train_register_promote

    ports = training_ports(settings)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    data_dir = settings.resolved_data_dir()
    _, fetched = fetch_dataset(DATASET, data_dir, settings.download_base_url, console)
    console.print(f"data: {DATASET} {'downloaded to' if fetched else 'found in'} {data_dir}")
    timings["data"] = time.perf_counter() - tick

    stored = ports.stored_interactions()
    if stored == 0:
        tick = time.perf_counter()
        with console.status("loading the embedded stores"):
            counts = ports.load(load_dataset(DATASET, data_dir))
        timings["load"] = time.perf_counter() - tick
        console.print(
            f"stores: {counts['interactions']} interactions, {counts['items']} titles, {counts['users']} viewers loaded"
        )
    else:
        console.print(f"stores: {stored} interactions already loaded")

    registry = ports.registry()
    champion = registry.version_for_alias(settings.model_alias)
    if champion is None:
        tick = time.perf_counter()
        with console.status("training (extract from the store, evaluate, fit)") as status:
            raw = ports.read_data()
            result = train_register_promote(
                raw,
                HybridConfig(),
                TRAIN_PROTOCOL,
                registry,
                dataset_name=DATASET,
                promote_to=settings.model_alias,
                step=lambda msg: status.update(msg),
            )
        timings["train"] = time.perf_counter() - tick
        assert result.registered is not None
        assert result.promotion is not None
        if result.promotion.promoted:
            console.print(f"promoted version {result.promotion.version} to {result.promotion.alias}")
        m = result.outcome.metrics
        console.print(
            f"model: version {result.registered.version}, NDCG@10 {m['ndcg_at_10']:.3f} "
            f"(popularity {m['baseline.ndcg_at_10']:.3f})"
        )
    else:
        console.print(f"model: version {champion.version} is {settings.model_alias} already")
    return timings


def run_demo(settings: Settings, console: Console, host: str, port: int, ui_port: int) -> None:
    import uvicorn

    from movierecs.composition import build_api

    started = time.perf_counter()
    if not settings.admin_token:
        import secrets

        from pydantic import SecretStr

        settings = settings.model_copy(update={"admin_token": SecretStr(secrets.token_urlsafe(16))})
    # a laptop demo: reloading a bundle folder is allowed (a deployment takes registry URIs only)
    settings = settings.model_copy(update={"allow_local_models": True})
    prepare(settings, console)
    api_url = f"http://{host}:{port}"
    ui: subprocess.Popen[bytes] | None = None
    if ui_port:
        try:
            from movierecs.ui.launch import run_ui

            ui = run_ui(api_url, host, ui_port)
        except Exception as exc:  # the API still runs without the UI
            console.print(f"[yellow]UI not started:[/] {exc}")
    assert settings.admin_token is not None
    token = settings.admin_token.get_secret_value()
    console.print(
        f"\n[bold]MovieRecs is up[/] (ready in {time.perf_counter() - started:.1f}s)\n"
        f"  API      {api_url}  (OpenAPI docs: {api_url}/docs, metrics: {api_url}/metrics)\n"
        + (f"  UI       http://{host}:{ui_port}\n" if ui else "")
        + f"  MLflow   {settings.tracking_uri}\n"
        f"  try:     curl '{api_url}/v1/recommendations/1?k=5'\n"
        f"           curl -X POST {api_url}/v1/events -H 'content-type: application/json' "
        f'-d \'{{"user_id": 5000, "item_id": 50, "type": "like"}}\'\n'
        f"           curl '{api_url}/v1/recommendations/5000?k=5'\n"
        f"  admin:   curl -X POST {api_url}/v1/admin/reload -H 'Authorization: Bearer {token}'\n"
        + (
            f"  keys:    API keys from {settings.api_keys_file}\n"
            if settings.api_keys_file
            else f"  keys:    off: anyone who reaches {host}:{port} may read and post (MOVIERECS_API_KEYS_FILE)\n"
        )
        + "  Ctrl-C stops everything.\n"
    )
    try:
        uvicorn.run(build_api(settings), host=host, port=port, log_config=None, access_log=False)
    finally:
        if ui is not None:
            ui.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                ui.wait(timeout=10)
        console.print("stopped")
