"""The gate's files in the candidate's run, for a reader: ``gate/evaluation.md`` (the window and both
scores), ``gate/ndcg_by_slice.png`` (the scores per viewer slice) and ``gate/decision.md`` (the verdict).

The JSON files next to them (``gate/evaluation.json``, ``gate/decision.json``) are what programs read;
these render the same values. Inputs are the JSON forms, so nothing here depends on the lifecycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from movierecs.evaluation.report import format_table


def _score(value: object) -> str:
    return "-" if value is None else f"{float(value):.4f}"  # type: ignore[arg-type]


def _scores_table(evaluation: Mapping[str, Any]) -> str:
    champion = evaluation.get("champion_version")
    rows = [
        ("candidate", f"version {evaluation['version']} (hold-out twin)", _score(evaluation["candidate"])),
        (
            "champion",
            f"version {champion} ({evaluation.get('champion_bundle')} bundle)" if champion else "none",
            _score(evaluation.get("champion")),
        ),
        ("baseline", "global popularity, fit on the history before the window", _score(evaluation["baseline"])),
    ]
    lines = [f"| model | what was scored | {evaluation['metric']} |", "|---|---|---|"]
    return "\n".join([*lines, *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


def _window(evaluation: Mapping[str, Any]) -> str:
    return (
        f"Window: interactions with {evaluation['window_start']} < time <= {evaluation['window_end']} "
        f"({evaluation['n_interactions']} interactions, {evaluation['n_users']} viewers), which neither "
        "scored bundle was fit on."
    )


def evaluation_markdown(evaluation: Mapping[str, Any], table: pd.DataFrame) -> str:
    """``gate/evaluation.md``: the window, the three scores and the whole table per slice."""
    parts = [f"# Gate evaluation of version {evaluation['version']}", _window(evaluation), _scores_table(evaluation)]
    if not table.empty:
        parts += ["## Every metric per viewer slice", format_table(table)]
    return "\n\n".join(parts) + "\n"


def decision_markdown(decision: Mapping[str, Any]) -> str:
    """``gate/decision.md``: the verdict and its reason, then the evaluation it was based on."""
    verdict = "PROMOTED" if decision["promoted"] else "REFUSED"
    lines = [
        f"# Gate decision for version {decision['version']} -> alias `{decision['alias']}`",
        f"**{verdict}**: {decision['reason']}",
        f"Previous holder of `{decision['alias']}`: {decision.get('previous') or 'none'}; tolerance "
        f"{float(decision.get('tolerance', 0.0)):.0%}{'; forced' if decision.get('forced') else ''}.",
    ]
    evaluation = decision.get("evaluation")
    if evaluation:
        lines += [_window(evaluation), _scores_table(evaluation)]
    return "\n\n".join(lines) + "\n"
