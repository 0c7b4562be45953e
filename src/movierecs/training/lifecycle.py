"""train → register → gate → promote: the one path a model takes into the registry.

Used by ``movierecs train [--promote]``, ``movierecs promote``, ``movierecs demo`` and (through those
commands) the retrain DAG. Talks to the registry through :class:`~movierecs.ports.ModelRegistry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from movierecs.data.container import RawData
from movierecs.evaluation.protocol import EvalProtocol
from movierecs.exceptions import DataError
from movierecs.models.hybrid import HybridConfig
from movierecs.ports import ModelRegistry, RegisteredVersion
from movierecs.training.gate import decide_promotion
from movierecs.training.pipeline import Step, TrainOutcome, run_training


@dataclass(frozen=True)
class Promotion:
    """What the gate decided for ``version`` and ``alias``; ``promoted`` False means refused or no-op."""

    promoted: bool
    version: str
    alias: str
    reason: str
    refused: bool = False


@dataclass(frozen=True)
class TrainResult:
    outcome: TrainOutcome
    registered: RegisteredVersion | None
    promotion: Promotion | None


def promote(
    registry: ModelRegistry, *, version: str | None, alias: str, tolerance: float = 0.02, force: bool = False
) -> Promotion:
    """Move ``alias`` to ``version`` (default: the latest) if the quality gate lets it.

    Returns a refused :class:`Promotion` (``refused=True``) instead of raising, so that callers can
    report it before they fail.

    Raises
    ------
    DataError
        Nothing is registered yet.
    """
    candidate = registry.get_version(version) if version else registry.latest_version()
    if candidate is None:
        raise DataError("no model versions are registered; run `movierecs train` first")
    champion = registry.version_for_alias(alias)
    if champion is not None and champion.version == candidate.version:
        return Promotion(False, candidate.version, alias, f"version {candidate.version} already holds alias {alias}")
    decision = decide_promotion(candidate.metrics, champion.metrics if champion else None, tolerance)
    if not decision.promote and not force:
        return Promotion(False, candidate.version, alias, decision.reason, refused=True)
    registry.set_alias(alias, candidate.version)
    return Promotion(True, candidate.version, alias, decision.reason)


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
) -> TrainResult:
    """Fit and evaluate (:func:`~movierecs.training.pipeline.run_training`), register the bundle
    when a registry is given, and run the gate for ``promote_to`` (an alias) when asked."""
    say = step or (lambda _msg: None)
    outcome = run_training(
        raw, config, protocol, output_dir=output_dir, watermark=watermark, dataset_name=dataset_name, step=say
    )
    if registry is None:
        return TrainResult(outcome, None, None)
    say("registering the model")
    registered = registry.log_training(
        outcome.bundle_dir, outcome.params, outcome.metrics, outcome.plots, tags={"watermark": outcome.bundle.watermark}
    )
    promotion = None
    if promote_to and registered.version:
        say("quality gate")
        promotion = promote(registry, version=registered.version, alias=promote_to, tolerance=tolerance)
    return TrainResult(outcome, registered, promotion)
