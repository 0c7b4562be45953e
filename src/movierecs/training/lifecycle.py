"""train → register → evaluate → gate → promote (and roll back): the one path a model takes into the registry.

Used by ``movierecs train [--promote]``, ``movierecs evaluate --version``, ``movierecs promote``,
``movierecs rollback``, ``movierecs demo`` and (through those commands) the retrain DAG. Talks to the
registry through :class:`~movierecs.ports.ModelRegistry` only.

The gate is fair: the candidate and the champion are both scored, as registered (no refit), on the
same interactions neither was fit on (:func:`movierecs.training.gate.gate_window`); the scores, the
window and the decision are logged to the candidate's run (``gate/evaluation.{json,csv,md}``,
``gate/ndcg_by_slice.png``, ``gate/decision.{json,md}``, ``gate.*`` metrics and tags).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from movierecs.data.container import RawData
from movierecs.evaluation.protocol import EvalProtocol
from movierecs.evaluation.window import score_window
from movierecs.exceptions import DataError
from movierecs.models.bundle import Bundle, load_bundle
from movierecs.models.hybrid import HybridConfig
from movierecs.ports import ModelRegistry, RegisteredVersion
from movierecs.training.gate import GATE_METRIC, Horizons, Scores, decide_promotion, gate_window
from movierecs.training.gate_report import decision_markdown, evaluation_markdown
from movierecs.training.pipeline import Step, TrainOutcome, run_training
from movierecs.training.plots import png_bytes

# Training evaluates on a global time split: its evaluated model is the gate's hold-out twin.
TRAIN_PROTOCOL = EvalProtocol(split="global_time", test_fraction=0.2)
HOLDOUT_ARTIFACT = "holdout"  # run folder of the twin (log_training's ``artifacts``)
SERVED_ARTIFACT = "bundle"  # run folder of the served bundle (log_training's own)
EVALUATION_ARTIFACT = "evaluation"  # run folder of the evaluation table (table.csv, table.md)
ROLLBACK = "rollback"  # how a rollback's move starts its reason in the alias history
EVALUATION_TAG = "gate.evaluation"  # the last gate evaluation of a version, as JSON
DataSource = Callable[[RegisteredVersion], RawData]  # the interactions a version is scored on


@dataclass(frozen=True)
class GateEvaluation:
    """Both scores on one window, and which bundles produced them."""

    version: str
    champion_version: str | None
    champion_bundle: str | None  # served | holdout
    window_start: str
    window_end: str
    n_interactions: int
    n_users: int
    candidate: float
    champion: float | None
    baseline: float
    metric: str = GATE_METRIC

    def scores(self) -> Scores:
        return Scores(self.candidate, self.baseline, self.champion, self.n_users)


@dataclass(frozen=True)
class Promotion:
    """What the gate decided for ``version`` and ``alias``; ``promoted`` False means refused or no-op."""

    promoted: bool
    version: str
    alias: str
    reason: str
    refused: bool = False
    evaluation: GateEvaluation | None = None
    previous: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("refused")
        return out


@dataclass(frozen=True)
class TrainResult:
    outcome: TrainOutcome
    registered: RegisteredVersion | None
    promotion: Promotion | None


def _horizons(version: RegisteredVersion) -> Horizons:
    if "watermark" not in version.tags:
        raise DataError(f"version {version.version} has no watermark tag; retrain it with `movierecs train`")
    split = version.tags.get("split_point")
    return Horizons(pd.Timestamp(version.tags["watermark"]), pd.Timestamp(split) if split else None)


def _load(registry: ModelRegistry, version: RegisteredVersion, folder: str) -> Bundle:
    path, _ = registry.download(f"runs:/{version.run_id}/{folder}")
    return load_bundle(path, version=version.version)


def _candidate(registry: ModelRegistry, version: str | None) -> RegisteredVersion:
    candidate = registry.get_version(version) if version else registry.latest_version()
    if candidate is None:
        raise DataError("no model versions are registered; run `movierecs train` first")
    return candidate


def evaluate_version(registry: ModelRegistry, data: DataSource, *, version: str | None, alias: str) -> GateEvaluation:
    """Score ``version``'s hold-out twin and ``alias``'s current champion on the gate window, next to
    popularity, and log the result to the candidate's run. Nothing is refit but the baseline.

    Raises
    ------
    DataError
        Nothing is registered, or the candidate lacks its twin (registered by an older release).
    """
    candidate = _candidate(registry, version)
    champion = registry.version_for_alias(alias)
    if champion is not None and champion.version == candidate.version:
        champion = None  # scoring the champion against itself: only the baseline matters
    try:
        window = gate_window(_horizons(candidate), _horizons(champion) if champion else None)
    except ValueError as exc:
        raise DataError(f"version {candidate.version}: {exc}") from exc
    twin = _load(registry, candidate, HOLDOUT_ARTIFACT)
    models = {"candidate": twin.model}
    if champion is not None and window.champion_bundle is not None:
        folder = HOLDOUT_ARTIFACT if window.champion_bundle == "holdout" else SERVED_ARTIFACT
        models["champion"] = _load(registry, champion, folder).model
    raw = data(candidate)
    table, n_inter = score_window(models, raw, window.start, window.end, twin.model.config.weighting, TRAIN_PROTOCOL)
    every = table[table["slice"] == "all"].set_index("model") if not table.empty else pd.DataFrame()
    column = GATE_METRIC.replace("_at_", "@")

    def score(name: str) -> float | None:
        return float(every.loc[name, column]) if name in every.index else None

    result = GateEvaluation(
        version=candidate.version,
        champion_version=champion.version if champion else None,
        champion_bundle=window.champion_bundle,
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        n_interactions=n_inter,
        n_users=int(every.loc["candidate", "n_users"]) if "candidate" in every.index else 0,
        candidate=score("candidate") or 0.0,
        champion=score("champion"),
        baseline=score("popular") or 0.0,
    )
    metrics = {
        f"gate.{k}.{GATE_METRIC}": v
        for k in ("candidate", "champion", "baseline")
        if (v := getattr(result, k)) is not None
    }
    registry.annotate(
        candidate.version,
        metrics | {"gate.n_users": result.n_users, "gate.n_interactions": n_inter},
        {
            EVALUATION_TAG: json.dumps(asdict(result)),
            "gate.window_start": result.window_start,
            "gate.window_end": result.window_end,
            "gate.champion_version": result.champion_version or "",
        },
        _evaluation_files(result, table),
    )
    return result


def _evaluation_files(result: GateEvaluation, table: pd.DataFrame) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "gate/evaluation.json": json.dumps(asdict(result), indent=2),
        "gate/evaluation.csv": table.to_csv(index=False),
        "gate/evaluation.md": evaluation_markdown(asdict(result), table),
    }
    column = GATE_METRIC.replace("_at_", "@")
    if not table.empty and column in table.columns:
        title = f"{column} on the gate window ({result.window_start[:10]} .. {result.window_end[:10]})"
        files["gate/ndcg_by_slice.png"] = png_bytes(table, column, title)
    return files


def _logged_evaluation(candidate: RegisteredVersion, champion: RegisteredVersion | None) -> GateEvaluation | None:
    """The candidate's logged evaluation, if it was made against the current champion."""
    raw = candidate.tags.get(EVALUATION_TAG)
    if not raw:
        return None
    logged = GateEvaluation(**json.loads(raw))
    return logged if logged.champion_version == (champion.version if champion else None) else None


def promote(
    registry: ModelRegistry,
    data: DataSource | None,
    *,
    version: str | None,
    alias: str,
    tolerance: float = 0.02,
    force: bool = False,
) -> Promotion:
    """Move ``alias`` to ``version`` (default: the latest) if the gate lets it.

    The gate uses the candidate's logged evaluation (``movierecs evaluate --version``) when it was
    made against the current champion, else evaluates now on ``data``. Returns a refused
    :class:`Promotion` (``refused=True``) instead of raising, so that callers can report it first.

    Raises
    ------
    DataError
        Nothing is registered yet, or an evaluation is needed and ``data`` is None.
    """
    candidate = _candidate(registry, version)
    champion = registry.version_for_alias(alias)
    previous = champion.version if champion else None
    if champion is not None and champion.version == candidate.version:
        reason = f"version {candidate.version} already holds alias {alias}"
        return Promotion(False, candidate.version, alias, reason, previous=previous)
    if force:
        evaluation, reason = None, "forced: quality gate skipped"
        promote_it = True
    else:
        evaluation = _logged_evaluation(candidate, champion)
        if evaluation is None:
            if data is None:
                raise DataError("no gate evaluation against the current champion; run `movierecs evaluate --version`")
            evaluation = evaluate_version(registry, data, version=candidate.version, alias=alias)
        decision = decide_promotion(evaluation.scores(), tolerance)
        promote_it, reason = decision.promote, decision.reason
    result = Promotion(promote_it, candidate.version, alias, reason, not promote_it, evaluation, previous)
    logged = result.to_json() | {"tolerance": tolerance, "forced": force}
    registry.annotate(
        candidate.version,
        {"gate.promoted": float(promote_it)},
        {"gate.decision": "promoted" if promote_it else "refused", "gate.reason": reason},
        {"gate/decision.json": json.dumps(logged, indent=2), "gate/decision.md": decision_markdown(logged)},
    )
    if promote_it:
        registry.set_alias(alias, candidate.version, reason=f"promote: {reason}")
    return result


def rollback(registry: ModelRegistry, *, alias: str, reason: str, to: str | None = None) -> Promotion:
    """Move ``alias`` back to the version it held before (or to ``to``), recording ``reason``.

    The version left is tagged ``rollback.reason`` and the move lands in the alias history.

    Raises
    ------
    DataError
        The alias points nowhere, or it has no earlier version to go back to.
    """
    if not reason.strip():
        raise DataError("give the reason of the rollback (--reason TEXT): it is recorded in the registry")
    current = registry.version_for_alias(alias)
    if current is None:
        raise DataError(f"alias {alias} points to no version; nothing to roll back")
    target = to
    if target is None:
        # the version the current one replaced when it was promoted (a rollback's move is not undone)
        moves = registry.alias_history(alias)
        earlier = [m for m in moves if m.version == current.version and not m.reason.startswith(ROLLBACK)]
        earlier = [m for m in earlier[-1:] if m.previous]
        if not earlier:
            raise DataError(f"no earlier version of {alias} is recorded; give --to VERSION")
        target = earlier[-1].previous
    assert target is not None
    if target == current.version:
        raise DataError(f"alias {alias} already points to version {target}")
    registry.get_version(target)  # raises a RegistryError when it does not exist
    registry.annotate(current.version, {}, {"rollback.reason": reason}, {})
    registry.set_alias(alias, target, reason=f"{ROLLBACK} from {current.version}: {reason}")
    return Promotion(True, target, alias, f"rolled back from {current.version}: {reason}", previous=current.version)


def train_register_promote(
    raw: RawData,
    config: HybridConfig,
    protocol: EvalProtocol,
    registry: ModelRegistry | None,
    *,
    dataset_name: str,
    output_dir: Path | None = None,
    watermark: pd.Timestamp | None = None,
    promote_to: str | None = None,
    tolerance: float = 0.02,
    step: Step | None = None,
    data_source: str = "",
) -> TrainResult:
    """Fit and evaluate (:func:`~movierecs.training.pipeline.run_training`), register the bundle, its
    hold-out twin, the evaluation table and charts and the training data (``data_source``: where it
    came from) when a registry is given, and run the gate for ``promote_to`` (an alias) on ``raw``
    when asked."""
    say = step or (lambda _msg: None)
    outcome = run_training(
        raw,
        config,
        protocol,
        output_dir=output_dir,
        watermark=watermark,
        dataset_name=dataset_name,
        step=say,
        data_source=data_source,
    )
    if registry is None:
        return TrainResult(outcome, None, None)
    say("registering the model")
    tags = {"watermark": outcome.bundle.watermark, "dataset": dataset_name}
    if "split_point" in outcome.params:
        tags["split_point"] = str(outcome.params["split_point"])
    artifacts = {HOLDOUT_ARTIFACT: outcome.holdout_dir} if outcome.holdout_dir else {}
    if outcome.evaluation_dir is not None:
        artifacts[EVALUATION_ARTIFACT] = outcome.evaluation_dir
    registered = registry.log_training(
        outcome.bundle_dir,
        outcome.params,
        outcome.metrics,
        outcome.plots,
        tags=tags,
        artifacts=artifacts,
        dataset=outcome.dataset,
    )
    promotion = None
    if promote_to and registered.version:
        say("quality gate")
        promotion = promote(registry, lambda _v: raw, version=registered.version, alias=promote_to, tolerance=tolerance)
    return TrainResult(outcome, registered, promotion)
