"""The promotion gate: beat the popularity baseline and stay within tolerance of the champion."""

from __future__ import annotations

import pytest

from movierecs.training.gate import decide_promotion


def cand(value: float, baseline: float = 0.2) -> dict[str, float]:
    return {"ndcg_at_10": value, "baseline.ndcg_at_10": baseline}


def test_first_model_beating_baseline_is_promoted() -> None:
    decision = decide_promotion(cand(0.3), None)
    assert decision.promote
    assert "no current champion" in decision.reason


@pytest.mark.parametrize("value", [0.2, 0.15])
def test_not_beating_baseline_is_refused(value: float) -> None:
    decision = decide_promotion(cand(value), None)
    assert not decision.promote
    assert "baseline" in decision.reason


def test_baseline_check_comes_before_the_champion() -> None:
    assert not decide_promotion(cand(0.19), {"ndcg_at_10": 0.1}).promote


@pytest.mark.parametrize(
    ("champion", "tolerance", "promote"),
    [
        (0.25, 0.02, True),  # better than the champion
        (0.30, 0.02, True),  # equal
        (0.305, 0.02, True),  # 0.3 >= 0.305 * 0.98 = 0.2989
        (0.31, 0.02, False),  # 0.3 < 0.31 * 0.98 = 0.3038
        (0.31, 0.05, True),  # 0.3 >= 0.31 * 0.95 = 0.2945
        (0.301, 0.0, False),  # no tolerance: must not be worse
    ],
)
def test_tolerance_against_the_champion(champion: float, tolerance: float, promote: bool) -> None:
    decision = decide_promotion(cand(0.3), {"ndcg_at_10": champion}, tolerance)
    assert decision.promote is promote
    if not promote:
        assert "champion" in decision.reason


@pytest.mark.parametrize("metrics", [{}, {"ndcg_at_10": 0.3}, {"baseline.ndcg_at_10": 0.2}])
def test_candidate_without_metrics_is_refused(metrics: dict[str, float]) -> None:
    decision = decide_promotion(metrics, None)
    assert not decision.promote
    assert "movierecs train" in decision.reason


def test_champion_without_the_metric_counts_as_none() -> None:
    assert decide_promotion(cand(0.3), {"recall_at_10": 0.9}).promote


def test_other_metric() -> None:
    candidate = {"recall_at_10": 0.5, "baseline.recall_at_10": 0.4, "ndcg_at_10": 0.0}
    assert decide_promotion(candidate, {"recall_at_10": 0.45}, metric="recall_at_10").promote
    assert not decide_promotion(candidate, {"recall_at_10": 0.6}, metric="recall_at_10").promote
