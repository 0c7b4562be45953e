"""The promotion quality gate (pure): which data window is honest, and what the scores on it decide.

Every registered version carries two bundles: the served one (fit on every interaction up to its
``watermark``) and its hold-out twin (the same config fit on the interactions before its
``split_point``, a global time split). The gate scores the candidate's twin and a champion bundle
on the interactions *after* the window start, up to the candidate's watermark, and picks the
start so that neither scored bundle was fit on any interaction of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

GATE_METRIC = "ndcg_at_10"
ChampionBundle = Literal["served", "holdout"]


@dataclass(frozen=True)
class Horizons:
    """How far a version's bundles saw: the hold-out twin up to ``split_point``, the served one up to
    ``watermark`` (``split_point`` None for versions registered before the twin existed)."""

    watermark: pd.Timestamp
    split_point: pd.Timestamp | None


@dataclass(frozen=True)
class Window:
    """Score on interactions with ``start < ts <= end``; ``champion_bundle``: which champion bundle."""

    start: pd.Timestamp
    end: pd.Timestamp
    champion_bundle: ChampionBundle | None


def gate_window(candidate: Horizons, champion: Horizons | None) -> Window:
    """The latest honest window for the candidate's twin and the champion.

    The start is the candidate's split point, unless the champion saw beyond it: then the champion's
    twin is scored instead, and the start moves to its split point when that is later. The champion
    never saw more than the start; it may have seen *less* history than the candidate's twin (an
    older twin), which can only favour the candidate by what a few days of data add.

    Examples
    --------
    >>> day = pd.Timestamp
    >>> gate_window(Horizons(day("2024-01-10"), day("2024-01-08")), Horizons(day("2024-01-05"), None)).champion_bundle
    'served'
    >>> w = gate_window(Horizons(day("2024-01-10"), day("2024-01-08")), Horizons(day("2024-01-09"), day("2024-01-07")))
    >>> (str(w.start.date()), w.champion_bundle)
    ('2024-01-08', 'holdout')
    """
    if candidate.split_point is None:
        raise ValueError("the candidate has no hold-out twin; retrain it with `movierecs train`")
    start = candidate.split_point
    if champion is None:
        return Window(start, candidate.watermark, None)
    if champion.watermark <= start:
        return Window(start, candidate.watermark, "served")
    if champion.split_point is not None:
        return Window(max(start, champion.split_point), candidate.watermark, "holdout")
    return Window(max(start, champion.watermark), candidate.watermark, "served")


@dataclass(frozen=True)
class Scores:
    """Gate metric on one window: candidate twin, champion (None: no champion), popularity baseline."""

    candidate: float
    baseline: float
    champion: float | None
    n_users: int


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide_promotion(scores: Scores, tolerance: float = 0.02, metric: str = GATE_METRIC) -> Decision:
    """Promote when, on the same unseen window, the candidate beats the popularity baseline and is
    within ``tolerance`` (relative) of the champion or better.

    Examples
    --------
    >>> decide_promotion(Scores(0.3, 0.2, 0.305, 100)).promote
    True
    >>> decide_promotion(Scores(0.3, 0.2, 0.4, 100)).promote
    False
    """
    value, baseline = scores.candidate, scores.baseline
    if scores.n_users == 0:
        return Decision(False, "no interactions in the gate window that neither model saw; wait for new events")
    if value <= baseline:
        return Decision(False, f"{metric} {value:.4f} does not beat the popularity baseline {baseline:.4f}")
    if scores.champion is None:
        return Decision(True, f"no current champion; {metric} {value:.4f} beats baseline {baseline:.4f}")
    best = scores.champion
    floor = best * (1 - tolerance)
    if value < floor:
        return Decision(
            False,
            f"{metric} {value:.4f} is below the champion's {best:.4f} minus {tolerance:.0%} tolerance ({floor:.4f})",
        )
    return Decision(
        True, f"{metric} {value:.4f} vs champion {best:.4f} (tolerance {tolerance:.0%}) and baseline {baseline:.4f}"
    )
