"""The promotion quality gate (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

GATE_METRIC = "ndcg_at_10"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide_promotion(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    tolerance: float = 0.02,
    metric: str = GATE_METRIC,
) -> Decision:
    """Promote when the candidate beats its popularity baseline and is within ``tolerance``
    (relative) of the current champion or better.

    ``candidate`` holds ``<metric>`` and ``baseline.<metric>`` (as logged by ``movierecs train``).

    Examples
    --------
    >>> decide_promotion({"ndcg_at_10": 0.3, "baseline.ndcg_at_10": 0.2}, {"ndcg_at_10": 0.305}).promote
    True
    >>> decide_promotion({"ndcg_at_10": 0.3, "baseline.ndcg_at_10": 0.2}, {"ndcg_at_10": 0.4}).promote
    False
    """
    value = candidate.get(metric)
    baseline = candidate.get(f"baseline.{metric}")
    if value is None or baseline is None:
        return Decision(False, f"candidate lacks {metric} or baseline.{metric}; retrain with `movierecs train`")
    if value <= baseline:
        return Decision(False, f"{metric} {value:.4f} does not beat the popularity baseline {baseline:.4f}")
    if champion is None or champion.get(metric) is None:
        return Decision(True, f"no current champion; {metric} {value:.4f} beats baseline {baseline:.4f}")
    best = champion[metric]
    floor = best * (1 - tolerance)
    if value < floor:
        return Decision(
            False,
            f"{metric} {value:.4f} is below the champion's {best:.4f} minus {tolerance:.0%} tolerance ({floor:.4f})",
        )
    return Decision(
        True, f"{metric} {value:.4f} vs champion {best:.4f} (tolerance {tolerance:.0%}) and baseline {baseline:.4f}"
    )
