"""The promotion gate: an honest window, then beat the popularity baseline and stay within tolerance."""

from __future__ import annotations

import pandas as pd
import pytest

from movierecs.training.gate import Horizons, Scores, decide_promotion, gate_window

DAY = pd.Timestamp


def test_first_model_beating_baseline_is_promoted() -> None:
    decision = decide_promotion(Scores(0.3, 0.2, None, 50))
    assert decision.promote
    assert "no current champion" in decision.reason


@pytest.mark.parametrize("value", [0.2, 0.15])
def test_not_beating_baseline_is_refused(value: float) -> None:
    decision = decide_promotion(Scores(value, 0.2, None, 50))
    assert not decision.promote
    assert "baseline" in decision.reason


def test_baseline_check_comes_before_the_champion() -> None:
    assert not decide_promotion(Scores(0.19, 0.2, 0.1, 50)).promote


def test_an_empty_window_is_refused() -> None:
    decision = decide_promotion(Scores(0.0, 0.0, None, 0))
    assert not decision.promote
    assert "gate window" in decision.reason


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
    decision = decide_promotion(Scores(0.3, 0.2, champion, 50), tolerance)
    assert decision.promote is promote
    if not promote:
        assert "champion" in decision.reason


def test_window_starts_at_the_candidate_split_when_the_champion_saw_less() -> None:
    window = gate_window(Horizons(DAY("2024-01-10"), DAY("2024-01-08")), Horizons(DAY("2024-01-06"), DAY("2024-01-04")))
    assert (window.start, window.end, window.champion_bundle) == (DAY("2024-01-08"), DAY("2024-01-10"), "served")


def test_window_uses_the_champion_twin_when_its_served_bundle_saw_the_window() -> None:
    # the usual daily retrain: yesterday's champion was fit up to yesterday, after today's split point
    window = gate_window(Horizons(DAY("2024-01-10"), DAY("2024-01-08")), Horizons(DAY("2024-01-09"), DAY("2024-01-07")))
    assert (window.start, window.champion_bundle) == (DAY("2024-01-08"), "holdout")
    # same data twice (tests retrain the same dataset): both twins saw exactly the same history
    same = gate_window(Horizons(DAY("2024-01-10"), DAY("2024-01-08")), Horizons(DAY("2024-01-10"), DAY("2024-01-08")))
    assert (same.start, same.champion_bundle) == (DAY("2024-01-08"), "holdout")


def test_window_start_never_precedes_what_a_champion_saw() -> None:
    # a champion without a twin (older release) that saw past the split: start after its watermark
    window = gate_window(Horizons(DAY("2024-01-10"), DAY("2024-01-08")), Horizons(DAY("2024-01-09"), None))
    assert (window.start, window.champion_bundle) == (DAY("2024-01-09"), "served")
    # a champion twin newer than the candidate's split point
    later = gate_window(Horizons(DAY("2024-01-10"), DAY("2024-01-08")), Horizons(DAY("2024-01-12"), DAY("2024-01-09")))
    assert later.start == DAY("2024-01-09")


def test_a_candidate_without_a_twin_cannot_be_gated() -> None:
    with pytest.raises(ValueError, match="movierecs train"):
        gate_window(Horizons(DAY("2024-01-10"), None), None)
