"""split -> fit -> evaluate -> refit on everything -> bundle.

No I/O beyond the bundle folder and the plots: the data comes in as :class:`RawData` (read by
the composition root from a dataset or the stores), and :mod:`movierecs.training.lifecycle`
registers and promotes the outcome.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.evaluation.report import evaluate_models
from movierecs.models.bundle import Bundle
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.models.trainset import TrainingSet
from movierecs.ports import TrainingData

Step = Callable[[str], None]


@dataclass(frozen=True)
class TrainOutcome:
    bundle: Bundle
    bundle_dir: Path
    holdout_dir: Path | None  # the evaluated model (fit before the split point), the gate's twin
    table: pd.DataFrame
    metrics: dict[str, float]
    params: dict[str, Any]
    plots: dict[str, Path]  # file name -> file: the run's ``plots/`` folder (charts and their CSVs)
    seconds: dict[str, float]
    evaluation_dir: Path | None = None  # table.csv and table.md: the run's ``evaluation/`` folder
    dataset: TrainingData | None = None  # what the served model was fit on (the run's dataset input)


def headline_metrics(table: pd.DataFrame, model: str, prefix: str = "") -> dict[str, float]:
    """Flatten one model's rows: ``ndcg_at_10`` (all users) and ``<slice>.ndcg_at_10`` per slice."""
    out: dict[str, float] = {}
    for row in table[table["model"] == model].to_dict("records"):
        for key, value in row.items():
            if key in ("model", "slice"):
                continue
            # MLflow metric names can't hold "@": ndcg@10 is logged as ndcg_at_10
            name = str(key).replace("@", "_at_")
            name = name if row["slice"] == "all" else f"{row['slice']}.{name}"
            out[f"{prefix}{name}"] = float(value)
    return out


def run_training(
    raw: RawData,
    config: HybridConfig,
    protocol: EvalProtocol,
    output_dir: Path | None = None,
    watermark: pd.Timestamp | None = None,
    dataset_name: str = "custom",
    step: Step | None = None,
    with_plots: bool = True,
    data_source: str = "",
) -> TrainOutcome:
    """Evaluate on a temporal hold-out next to the popularity baseline, then fit the served model on
    every interaction up to ``watermark`` and write the bundle.

    With a ``global_time`` protocol the evaluated model is also written as a bundle (``holdout_dir``,
    watermark = the split point): the promotion gate scores it on interactions it never saw.
    The evaluation table is written as CSV and markdown (``evaluation_dir``) and, ``with_plots``, the
    charts with their data (k = 1..50 curves from one ranked list of 50 per model).
    ``data_source`` says where ``raw`` came from, for the dataset input of the run.
    """
    say = step or (lambda _msg: None)
    seconds: dict[str, float] = {}
    tick = time.perf_counter()
    if watermark is not None:
        raw = RawData(raw.interactions[raw.interactions[Columns.Datetime] <= watermark], raw.items, raw.users, raw.name)

    say("evaluate: split and fit on the train part")
    split = make_split(raw, protocol)
    train_ts = split.training_set(config.weighting)
    candidate = HybridRecommender(config).fit(train_ts)
    baseline = PopularRecommender(PopularConfig(segments=False)).fit(train_ts)
    table = evaluate_models({"hybrid": candidate, "popular": baseline}, train_ts, split.test, protocol)
    metrics = headline_metrics(table, "hybrid") | headline_metrics(table, "popular", "baseline.")
    seconds["evaluate"] = time.perf_counter() - tick

    from movierecs.training.plots import MAX_K, save_plots, save_table

    tick = time.perf_counter()
    after = f" (after {train_ts.watermark.isoformat()})" if protocol.split == "global_time" else ""
    header = (
        f"# Offline evaluation: {dataset_name}\n\n{protocol.split} split, {protocol.test_fraction:.0%} held out"
        f"{after}, k={protocol.k}; viewer slices by train interactions: cold < "
        f"{protocol.cold_below} <= warm < {protocol.heavy_from} <= heavy. Baseline: global popularity (`popular`)."
    )
    evaluation_dir = save_table(table, Path(tempfile.mkdtemp(prefix="movierecs-evaluation-")), header)
    plots: dict[str, Path] = {}
    if with_plots:
        users = split.test[Columns.User].unique()
        models = (("hybrid", candidate), ("popular", baseline))
        reco = {name: m.recommend(users, k=MAX_K) for name, m in models}
        popularity = train_ts.interactions.groupby(Columns.Item).size()
        out = Path(tempfile.mkdtemp(prefix="movierecs-plots-"))
        plots = save_plots(reco, split.test, popularity, out, table, protocol.k)
    seconds["reports"] = time.perf_counter() - tick

    say("fit the served model on every interaction")
    tick = time.perf_counter()
    full = TrainingSet.from_raw(raw, config.weighting, watermark)
    model = HybridRecommender(config).fit(full)
    seconds["fit"] = time.perf_counter() - tick

    params = {
        "dataset": dataset_name,
        "fingerprint": full.fingerprint,
        "n_interactions": len(full.interactions),
        "n_users": len(model.users),
        "n_items": len(model.items),
        "watermark": full.watermark.isoformat(),
        "weighting": config.weighting.scheme,
        **{f"ials.{k}": v for k, v in config.ials.model_dump().items()},
        **{f"popular.{k}": v for k, v in config.popular.model_dump().items()},
        **{f"eval.{k}": v for k, v in protocol.model_dump().items()},
    }
    meta = {
        "model_name": "movierecs",
        "trained_at": datetime.now(UTC).isoformat(),
        "watermark": full.watermark.isoformat(),
        "dataset": dataset_name,
        "fingerprint": full.fingerprint,
        "metrics": metrics,
        "protocol": protocol.model_dump(),
        "config": config.model_dump(mode="json"),
        "training_seconds": seconds,
    }
    bundle = Bundle(model, meta)
    bundle_dir = output_dir or Path(tempfile.mkdtemp(prefix="movierecs-bundle-"))
    bundle.save(bundle_dir)
    holdout_dir = None
    if protocol.split == "global_time":
        split_point = train_ts.watermark.isoformat()
        params["split_point"] = split_point
        holdout_meta = meta | {"role": "holdout", "watermark": split_point, "fingerprint": train_ts.fingerprint}
        holdout_dir = Bundle(candidate, holdout_meta).save(Path(tempfile.mkdtemp(prefix="movierecs-holdout-")))
    profile = {
        "n_interactions": len(full.interactions),
        "n_users": len(model.users),
        "n_items": len(model.items),
        "watermark": full.watermark.isoformat(),
        "first_interaction": raw.interactions[Columns.Datetime].min().isoformat() if len(raw.interactions) else "",
    }
    sample = raw.interactions.head(100).reset_index(drop=True)
    dataset = TrainingData(dataset_name, full.fingerprint, data_source or dataset_name, profile, sample)
    return TrainOutcome(
        bundle, bundle_dir, holdout_dir, table, metrics, params, plots, seconds, evaluation_dir, dataset
    )
