"""Bodies of the train / evaluate / recommend / promote commands.

The CLI parses options and wires the ports (data, registry, bundles); these functions only use them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.domain.weighting import Weighting
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.evaluation.report import evaluate_models, format_table
from movierecs.evaluation.window import user_profiles
from movierecs.exceptions import DataError, PromotionRefusedError
from movierecs.models.base import Recommender
from movierecs.models.bundle import Bundle
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.ials import IALSRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.ports import ModelRegistry
from movierecs.settings import Settings
from movierecs.training.lifecycle import (
    TRAIN_PROTOCOL,
    DataSource,
    Promotion,
    evaluate_version,
    promote,
    rollback,
    train_register_promote,
)
from movierecs.training.tune import AUTO_GRID_MAX_INTERACTIONS


def _config(weighting: str | None, overrides: Mapping[str, Any], settings: Settings) -> HybridConfig:
    base = HybridConfig()
    ials = base.ials.model_copy(
        update={k: v for k, v in overrides.items() if v is not None} | {"num_threads": settings.num_threads}
    )
    ials = type(ials).model_validate(ials.model_dump())
    scheme = Weighting(scheme=weighting) if weighting else base.weighting  # type: ignore[arg-type]
    return base.model_copy(update={"ials": ials, "weighting": scheme})


def parse_watermark(text: str | None) -> pd.Timestamp | None:
    """``--watermark`` as naive UTC (an offset-less time is taken as UTC)."""
    if not text:
        return None
    ts = pd.Timestamp(text)
    return ts.tz_localize(None) if ts.tzinfo is None else ts.tz_convert("UTC").tz_localize(None)


def train_command(
    settings: Settings,
    console: Console,
    *,
    raw: RawData,
    dataset_name: str,
    registry: ModelRegistry | None,
    output_dir: Path | None,
    tune: int,
    watermark: pd.Timestamp | None,
    weighting: str | None,
    overrides: Mapping[str, Any],
    promote: bool,
    auto_tune: bool = True,
    json_path: Path | None = None,
) -> None:
    """Tune (optionally), then train → register (with a registry) → gate → promote (``promote``)."""
    config = _config(weighting, overrides, settings)
    protocol = TRAIN_PROTOCOL
    explicit = any(overrides.get(k) is not None for k in ("regularization", "alpha"))
    if tune == 0 and auto_tune and not explicit and len(raw.interactions) <= AUTO_GRID_MAX_INTERACTIONS:
        from rich.progress import Progress

        from movierecs.training.tune import AUTO_ALPHA, AUTO_REGULARIZATION
        from movierecs.training.tune import auto_tune as run_auto_tune

        split = make_split(raw, protocol)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("auto-tuning regularization x alpha", total=len(AUTO_REGULARIZATION) * len(AUTO_ALPHA))
            config, best = run_auto_tune(split.train_raw, config, protocol, on_trial=lambda _n, _v: bar.advance(task))
        console.print(
            f"auto-tune: regularization={config.ials.regularization:g} alpha={config.ials.alpha:g} "
            f"(validation NDCG@10 {best:.4f})"
        )
    if tune > 0:
        from rich.progress import Progress

        from movierecs.training.tune import tune as run_tune

        split = make_split(raw, protocol)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("tuning", total=tune)
            config, best = run_tune(split.train_raw, config, protocol, tune, on_trial=lambda _n, _v: bar.advance(task))
        console.print(f"tuning: best validation NDCG@10 {best:.4f} with {config.model_dump_json()}")
    with console.status("training") as status:
        result = train_register_promote(
            raw,
            config,
            protocol,
            registry,
            dataset_name=dataset_name,
            output_dir=output_dir,
            watermark=watermark,
            promote_to=settings.model_alias if promote else None,
            step=lambda msg: status.update(msg),
            data_source=data_source(settings, dataset_name),
        )
    outcome, registered = result.outcome, result.registered
    view = outcome.table[["model", "slice", "n_users", "recall@10", "ndcg@10", "map@10", "coverage@10"]]
    print(format_table(view))
    if registered is not None:
        console.print(f"MLflow run {registered.run_id}; registered {settings.model_name} version {registered.version}")
    if output_dir:
        console.print(f"bundle written to {output_dir}")
    if json_path:
        _write_json(
            json_path,
            {
                "version": registered.version if registered else None,
                "run_id": registered.run_id if registered else None,
                "watermark": outcome.bundle.watermark,
                "bundle_dir": str(outcome.bundle_dir),
                "config": config.model_dump(mode="json"),
                "metrics": outcome.metrics,
            },
        )
    if result.promotion is not None:
        _report_promotion(result.promotion, console, None)


def data_source(settings: Settings, dataset_name: str) -> str:
    """Where ``movierecs train``'s data came from, for the run's dataset input: the dataset's folder,
    the store's URL without user, password or query (``store``), or the CSV's name."""
    from urllib.parse import urlsplit, urlunsplit

    if dataset_name == "store":
        url = urlsplit(settings.interactions)
        host = url.netloc.rpartition("@")[2]
        return urlunsplit((url.scheme, host, url.path, "", ""))
    folder = settings.resolved_data_dir() / dataset_name
    return str(folder.resolve()) if folder.is_dir() else dataset_name


def evaluate_command(
    console: Console,
    *,
    raw: RawData,
    split: str,
    test_fraction: float,
    k: int,
    json_path: Path | None,
    weightings: bool,
    config: HybridConfig | None = None,
) -> None:
    """Hybrid, iALS, segment and global popularity per user slice (``config``: a served model's)."""
    protocol = EvalProtocol(split=split, test_fraction=test_fraction, k=k)  # type: ignore[arg-type]
    config = config or HybridConfig()
    data = make_split(raw, protocol)
    tables = []
    with console.status("evaluating"):
        train = data.training_set(config.weighting)
        models: dict[str, Recommender[Any]] = {
            "hybrid": HybridRecommender(config).fit(train),
            "ials": IALSRecommender(config.ials).fit(train),
            "popular_segment": PopularRecommender(config.popular).fit(train),
            "popular": PopularRecommender(PopularConfig(segments=False)).fit(train),
        }
        profiles = _profiles(raw.users)
        tables.append(
            evaluate_models(models, train, data.test, protocol, profiles).assign(weighting=config.weighting.scheme)
        )
        if weightings:
            for scheme in ("binary", "rating", "centered", "positive"):
                if scheme == config.weighting.scheme:
                    continue
                cfg = config.model_copy(update={"weighting": Weighting(scheme=scheme)})  # type: ignore[arg-type]
                wtrain = data.training_set(cfg.weighting)
                table = evaluate_models(
                    {f"hybrid[{scheme}]": HybridRecommender(cfg).fit(wtrain)}, wtrain, data.test, protocol, profiles
                )
                tables.append(table.assign(weighting=scheme))
    table = pd.concat(tables, ignore_index=True)
    header = (
        f"protocol: {protocol.split} split, {protocol.test_fraction:.0%} held out, k={k}; slices by "
        f"train interactions: cold < {protocol.cold_below} <= warm < {protocol.heavy_from} <= heavy"
    )
    print(header)
    cols = ["model", "slice", "n_users", *[c for c in table.columns if "@" in c]]
    print(format_table(table[cols]))
    if json_path:
        json_path.write_text(
            json.dumps(
                {
                    "protocol": protocol.model_dump(),
                    "dataset": raw.name,
                    "config": config.model_dump(mode="json"),
                    "rows": table.to_dict("records"),
                },
                indent=2,
                default=str,
            )
        )
        console.print(f"report written to {json_path}")


def _profiles(users: pd.DataFrame) -> dict[int, dict[str, object]]:
    return user_profiles(users)


def recommend_command(
    bundle: Bundle, *, users: list[int], users_file: Path | None, k: int, output: Path | None
) -> None:
    ids = list(users)
    if users_file:
        try:
            text = users_file.read_text().split()
            ids += [int(tok) for tok in text if tok.strip() and tok.strip() != Columns.User]
        except ValueError as exc:
            raise DataError(f"{users_file}: every line must be an integer user id ({exc})") from exc
    if not ids:
        raise DataError("give --user ID or --users-file FILE")
    reco = bundle.model.recommend(np.asarray(ids, dtype=np.int64), k=k)
    if output:
        reco.to_csv(output, index=False, float_format="%.6f")
    else:
        reco.to_csv(sys.stdout, index=False, float_format="%.6f")


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))


def promote_command(
    registry: ModelRegistry,
    data: DataSource,
    console: Console,
    *,
    version: str | None,
    alias: str,
    tolerance: float,
    force: bool,
    json_path: Path | None = None,
) -> None:
    """The fair gate and the alias move; raises PromotionRefusedError (exit 3) when refused."""
    result = promote(registry, data, version=version, alias=alias, tolerance=tolerance, force=force)
    _report_promotion(result, console, json_path)


def gate_evaluate_command(
    registry: ModelRegistry, data: DataSource, console: Console, *, version: str, alias: str, json_path: Path | None
) -> None:
    """Score a registered version and the alias's champion on the gate window (no refit), log it."""
    result = evaluate_version(registry, data, version=version, alias=alias)
    payload = asdict(result)
    print(json.dumps(payload, indent=2))
    if json_path:
        _write_json(json_path, payload)
    console.print(
        f"version {result.version}: {result.metric} {result.candidate:.4f} vs champion "
        f"{'-' if result.champion is None else f'{result.champion:.4f}'} (v{result.champion_version or '-'}, "
        f"{result.champion_bundle or '-'} bundle), baseline {result.baseline:.4f} on {result.n_users} viewers, "
        f"window ({result.window_start}, {result.window_end}]"
    )


def rollback_command(
    registry: ModelRegistry, console: Console, *, alias: str, reason: str, to: str | None, json_path: Path | None
) -> None:
    """Move the alias back to its previous version, with the reason recorded in the registry."""
    result = rollback(registry, alias=alias, reason=reason, to=to)
    if json_path:
        _write_json(json_path, result.to_json())
    console.print(f"{alias}: version {result.previous} -> {result.version} ({reason})")


def _report_promotion(result: Promotion, console: Console, json_path: Path | None) -> None:
    """Write the ``--json`` result (refused or not), print it, raise when the gate refused."""
    if json_path:
        _write_json(json_path, result.to_json())
    if result.refused:
        raise PromotionRefusedError(f"version {result.version}: {result.reason}")
    if result.promoted:
        console.print(f"promoted version {result.version} to {result.alias}: {result.reason}")
    else:
        console.print(result.reason)
