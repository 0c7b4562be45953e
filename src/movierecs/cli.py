"""The ``movierecs`` command line: every stage is a command (same entry locally, in CI, in a pod)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from movierecs.data.loaders import DATASETS
from movierecs.exceptions import MovieRecsError, PromotionRefusedError
from movierecs.settings import Settings

if TYPE_CHECKING:
    from movierecs.composition import TrainingPorts
    from movierecs.data.container import RawData
    from movierecs.ports import RegisteredVersion
    from movierecs.training.lifecycle import DataSource

app = typer.Typer(
    no_args_is_help=True,
    help="MovieRecs: personalised movie feeds (iALS + popularity).",
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(no_args_is_help=True, help="Datasets: download and inspect.")
app.add_typer(data_app, name="data")
keys_app = typer.Typer(no_args_is_help=True, help="API keys: create them, list who holds which scopes.")
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)

DatasetOpt = Annotated[str | None, typer.Option(help=f"one of {', '.join(DATASETS)}")]
CsvOpt = Annotated[Path | None, typer.Option(help="generic interactions CSV (user_id,item_id,timestamp,rating|weight)")]


def _settings() -> Settings:
    return Settings()


def _limit_blas_threads() -> None:
    # iALS fit and fold-in are 3-20x slower with a multi-threaded OpenBLAS (see DESIGN.md §5)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")


@data_app.command("download")
def data_download(
    dataset: Annotated[str, typer.Option(help=f"one of {', '.join(DATASETS)}")] = "ml-100k",
    dest: Annotated[Path | None, typer.Option(help="target folder (default MOVIERECS_DATA_DIR)")] = None,
) -> None:
    """Download a MovieLens dataset from GroupLens, verify its checksum and unpack it."""
    from movierecs.data.fetch import fetch_dataset

    settings = _settings()
    data_dir = (dest or settings.resolved_data_dir()).expanduser()
    folder, fetched = fetch_dataset(dataset, data_dir, settings.download_base_url, console)
    console.print(f"{dataset}: {'downloaded and verified' if fetched else 'already present'} in {folder}")


@app.command()
def load(
    dataset: DatasetOpt = None,
    interactions: CsvOpt = None,
    items: Annotated[Path | None, typer.Option(help="items CSV: item_id,title[,year][,genres]")] = None,
    users: Annotated[Path | None, typer.Option(help="users CSV: user_id[,age][,gender][,occupation]")] = None,
) -> None:
    """Load a dataset into the configured stores (idempotent: loading twice doesn't duplicate)."""
    from movierecs.composition import training_ports

    if not dataset and not interactions:
        raise typer.BadParameter("give --dataset or --interactions")
    ports = training_ports(_settings())
    raw = ports.read_data(dataset, interactions, items, users)
    counts = ports.load(raw, progress=lambda msg: console.print(msg))
    console.print(json.dumps(counts))


@app.command()
def train(
    dataset: DatasetOpt = None,
    interactions: CsvOpt = None,
    register: Annotated[bool, typer.Option(help="log to MLflow and register a model version")] = True,
    output_dir: Annotated[Path | None, typer.Option(help="also write the model bundle here")] = None,
    tune: Annotated[int, typer.Option(help="Optuna trials on a validation split carved from train")] = 0,
    watermark: Annotated[str | None, typer.Option(help="ISO-8601: use interactions up to this time")] = None,
    weighting: Annotated[str | None, typer.Option(help="binary|rating|centered|positive")] = None,
    factors: Annotated[int | None, typer.Option(help="iALS factors")] = None,
    iterations: Annotated[int | None, typer.Option(help="iALS iterations")] = None,
    regularization: Annotated[float | None, typer.Option(help="iALS regularization")] = None,
    alpha: Annotated[float | None, typer.Option(help="iALS alpha (confidence scale)")] = None,
    promote_after: Annotated[bool, typer.Option("--promote", help="run the quality gate and promote")] = False,
    auto_tune: Annotated[
        bool, typer.Option(help="pick iALS regularization x alpha on a validation split (<= 2M interactions)")
    ] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write {version, run_id, metrics, ...} here (e.g. Airflow XCom)")
    ] = None,
) -> None:
    """Fit the hybrid model, evaluate it next to popularity, log to MLflow, register a version."""
    import pandas as pd

    from movierecs.composition import training_ports
    from movierecs.training.commands import parse_watermark, train_command

    _limit_blas_threads()
    settings = _settings()
    ports = training_ports(settings)
    mark = parse_watermark(watermark)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    cap = min(mark, now) if mark is not None else now  # a watermark never passes "now"
    with console.status("loading data"):
        raw = ports.read_data(dataset, interactions, until=cap).up_to(cap)
    train_command(
        settings,
        console,
        raw=raw,
        dataset_name=dataset or (interactions.name if interactions else "store"),
        registry=ports.registry() if register else None,
        output_dir=output_dir,
        tune=tune,
        watermark=mark,
        weighting=weighting,
        overrides={"factors": factors, "iterations": iterations, "regularization": regularization, "alpha": alpha},
        promote=promote_after,
        auto_tune=auto_tune,
        json_path=json_path,
    )


@app.command()
def evaluate(
    dataset: DatasetOpt = None,
    interactions: CsvOpt = None,
    split: Annotated[str, typer.Option(help="user_temporal | global_time")] = "user_temporal",
    test_fraction: Annotated[float, typer.Option(help="share of interactions held out")] = 0.2,
    k: Annotated[int, typer.Option(help="cut-off for every metric")] = 10,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the report as JSON")] = None,
    weightings: Annotated[bool, typer.Option(help="also compare the weighting schemes")] = False,
    model: Annotated[str | None, typer.Option(help="bundle dir or models:/ URI: take its config")] = None,
    version: Annotated[
        str | None,
        typer.Option(help="gate mode: score this registered version and the champion as registered (no refit)"),
    ] = None,
    alias: Annotated[str | None, typer.Option(help="gate mode: the champion's alias (default: settings')")] = None,
) -> None:
    """Offline evaluation: hybrid, iALS, segment and global popularity per user slice.

    With --version: the gate's evaluation instead. That version's hold-out twin and the alias's
    champion, both loaded from the registry, scored on interactions neither saw; logged to the
    version's MLflow run, where `movierecs promote` reads it."""
    from movierecs.composition import training_ports
    from movierecs.training.commands import evaluate_command, gate_evaluate_command

    _limit_blas_threads()
    settings = _settings()
    ports = training_ports(settings)
    if version:
        registry = ports.registry()
        data = _gate_data(ports, dataset, interactions)
        alias = alias or settings.model_alias
        gate_evaluate_command(registry, data, console, version=version, alias=alias, json_path=json_path)
        return
    raw = ports.read_data(dataset, interactions)
    evaluate_command(
        console,
        raw=raw,
        split=split,
        test_fraction=test_fraction,
        k=k,
        json_path=json_path,
        weightings=weightings,
        config=ports.bundles().load(model).model.config if model else None,
    )


@app.command()
def recommend(
    model: Annotated[str, typer.Option(help="bundle folder or models:/name@alias")],
    user: Annotated[list[int] | None, typer.Option(help="user id (repeatable)")] = None,
    users_file: Annotated[Path | None, typer.Option(help="file with one user id per line")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="items per user")] = 10,
    output: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None,
) -> None:
    """Batch recommendations as CSV: user_id,item_id,rank,score. Unknown users get the cold-start list."""
    from movierecs.composition import training_ports
    from movierecs.training.commands import recommend_command

    _limit_blas_threads()
    bundle = training_ports(_settings()).bundles().load(model)
    recommend_command(bundle, users=user or [], users_file=users_file, k=k, output=output)


def _gate_data(ports: TrainingPorts, dataset: str | None, interactions: Path | None) -> DataSource:
    """Where the gate reads interactions: the options, else the candidate's own dataset when it was
    trained on a named one, else the stores."""

    def read(version: RegisteredVersion) -> RawData:
        named = dataset or (version.tags.get("dataset") if version.tags.get("dataset") in DATASETS else None)
        return ports.read_data(None if interactions else named, interactions)

    return read


@app.command()
def promote(
    version: Annotated[str | None, typer.Option(help="model version (default: the latest)")] = None,
    alias: Annotated[str | None, typer.Option(help="alias to move (default: settings' model alias)")] = None,
    tolerance: Annotated[float, typer.Option(help="relative NDCG@10 slack vs the champion")] = 0.02,
    force: Annotated[bool, typer.Option(help="skip the quality gate")] = False,
    dataset: DatasetOpt = None,
    interactions: CsvOpt = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="write {promoted, version, alias, reason, evaluation, previous}, refused or not"),
    ] = None,
) -> None:
    """Score candidate and champion on data neither saw, move the alias if the gate lets it (exit 3: refused).

    Uses the candidate's logged `movierecs evaluate --version` result when it was made against the
    current champion; otherwise scores both now (data: --dataset/--interactions, else the
    candidate's dataset, else the stores)."""
    from movierecs.composition import training_ports
    from movierecs.training.commands import promote_command

    _limit_blas_threads()
    settings = _settings()
    ports = training_ports(settings)
    promote_command(
        ports.registry(),
        _gate_data(ports, dataset, interactions),
        console,
        version=version,
        alias=alias or settings.model_alias,
        tolerance=tolerance,
        force=force,
        json_path=json_path,
    )


@app.command()
def rollback(
    reason: Annotated[str, typer.Option(help="why (recorded in the registry: version tag and alias history)")],
    alias: Annotated[str | None, typer.Option(help="alias to move back (default: settings' model alias)")] = None,
    to: Annotated[str | None, typer.Option(help="version to go back to (default: the alias's previous one)")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the result here")] = None,
) -> None:
    """Move the alias back to the version it held before, recording the reason in the registry."""
    from movierecs.composition import training_ports
    from movierecs.training.commands import rollback_command

    settings = _settings()
    rollback_command(
        training_ports(settings).registry(),
        console,
        alias=alias or settings.model_alias,
        reason=reason,
        to=to,
        json_path=json_path,
    )


@app.command()
def serve(
    model: Annotated[
        str | None, typer.Option(help="bundle folder or registry URI (default models:/<name>@<alias>)")
    ] = None,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Run the recommendation API (FastAPI + uvicorn)."""
    import uvicorn

    from movierecs.composition import build_api

    _limit_blas_threads()
    settings = _settings()
    if model:
        settings = settings.model_copy(update={"model_uri": model})
    uvicorn.run(build_api(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def consume(
    batch_size: Annotated[int, typer.Option(help="records per batch at most")] = 10_000,
    batch_wait_ms: Annotated[int, typer.Option(help="longest a batch waits to fill")] = 500,
    metrics_port: Annotated[int | None, typer.Option(help="/metrics and /healthz port (default: settings)")] = None,
    group: Annotated[str, typer.Option(help="Kafka consumer group")] = "movierecs-consumer",
) -> None:
    """Kafka interactions topic -> interaction store (insert, then commit: at least once)."""
    import asyncio

    from movierecs.composition import build_consumer
    from movierecs.streaming.consumer import run_consumer

    settings = _settings()
    port = metrics_port if metrics_port is not None else settings.consumer_metrics_port
    consumer = build_consumer(settings, group_id=group, batch_size=batch_size, batch_wait_s=batch_wait_ms / 1000)
    asyncio.run(run_consumer(consumer, metrics_port=port))


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8501,
    api_url: Annotated[str | None, typer.Option(help="API base URL (default: MOVIERECS_API_URL)")] = None,
) -> None:
    """The Streamlit demo UI; it talks to the API over HTTP only."""
    from movierecs.ui.launch import run_ui

    proc = run_ui(api_url or _settings().api_url, host, port)
    try:
        raise typer.Exit(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    ui_port: Annotated[int, typer.Option(help="UI port (0: no UI)")] = 8501,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
) -> None:
    """The whole loop embedded, no servers: data, stores, train, register, promote, API (+ UI)."""
    from movierecs.demo import run_demo

    _limit_blas_threads()
    run_demo(_settings(), console, host=host, port=port, ui_port=ui_port)


KeysFileOpt = Annotated[Path | None, typer.Option("--file", help="keys file (default MOVIERECS_API_KEYS_FILE)")]


def _keys_file(path: Path | None) -> Path:
    found = path or _settings().api_keys_file
    if found is None:
        raise typer.BadParameter("give --file or set MOVIERECS_API_KEYS_FILE")
    return found


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="who holds the key (letters, digits, _.@-)")],
    scopes: Annotated[str, typer.Option(help="comma list of read, write, admin")] = "read",
    file: KeysFileOpt = None,
) -> None:
    """Create a key: printed once on stdout, only its sha256 is written to the keys file."""
    import os
    import secrets

    from movierecs.serving.security import KeyRing, key_hash, parse_scopes

    path = _keys_file(file)
    granted = parse_scopes(scopes)
    existing = path.read_text().splitlines() if path.exists() else []
    ring = KeyRing.from_lines(existing, str(path))  # refuse to append to a broken file
    if name in ring.names:
        raise typer.BadParameter(f"{name!r} already has a key in {path}; pick another name")
    key = "mrk_" + secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as out:
        out.write(f"{name} {','.join(sorted(granted))} {key_hash(key)}\n")
    console.print(f"added {name} ({', '.join(sorted(granted))}) to {path}; the key is shown once:")
    print(key)


@keys_app.command("list")
def keys_list(file: KeysFileOpt = None) -> None:
    """Names and scopes in the keys file (never a key)."""
    from movierecs.serving.security import KeyRing

    path = _keys_file(file)
    ring = KeyRing.from_lines(path.read_text().splitlines() if path.exists() else [], str(path))
    for key in sorted(ring.keys(), key=lambda k: k.name):
        print(f"{key.name}\t{','.join(sorted(key.scopes))}")


def main() -> None:
    """Console entry point: named errors become one clear line and exit code 2 (3: gate refused)."""
    from movierecs.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        app()
    except PromotionRefusedError as exc:
        console.print(f"[yellow]promotion refused:[/] {exc}")
        sys.exit(3)
    except MovieRecsError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
