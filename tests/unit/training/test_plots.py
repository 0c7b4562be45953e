"""The files a run's ``plots/`` and ``evaluation/`` folders get, and the gate's readable reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from movierecs.columns import Columns
from movierecs.training.gate_report import decision_markdown, evaluation_markdown
from movierecs.training.plots import save_plots, save_table


def _reco(model_items: list[int]) -> pd.DataFrame:
    rows = [(u, item, rank + 1) for u in (1, 2, 3) for rank, item in enumerate(model_items)]
    return pd.DataFrame(rows, columns=[Columns.User, Columns.Item, Columns.Rank]).assign(**{Columns.Score: 1.0})


def _table() -> pd.DataFrame:
    rows = [
        {"model": m, "slice": s, "n_users": n, "ndcg@10": v, "recall@10": v}
        for m, scale in (("hybrid", 1.0), ("popular", 0.5))
        for s, n, v in (
            ("all", 3, 0.3 * scale),
            ("cold", 1, 0.1 * scale),
            ("warm", 1, 0.4 * scale),
            ("heavy", 1, 0.5 * scale),
        )
    ]
    return pd.DataFrame(rows)


def test_every_chart_has_its_csv_and_the_curves_have_the_documented_columns(tmp_path: Path) -> None:
    items = list(range(100, 160))
    reco = {"hybrid": _reco(items), "popular": _reco(items[::-1])}
    test = pd.DataFrame({Columns.User: [1, 2, 3, 3], Columns.Item: [100, 130, 159, 101]})
    popularity = pd.Series(range(1, 61), index=items)
    files = save_plots(reco, test, popularity, tmp_path, _table(), k=10)
    stems = ("recall_at_k", "ndcg_at_k", "r_precision_at_k", "popularity_bias", "ndcg_by_slice")
    assert set(files) == {f"{s}.{ext}" for s in stems for ext in ("png", "csv")}
    for path in files.values():
        assert path.is_file()
        assert path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes()[:4] == b"\x89PNG"
    recall = pd.read_csv(files["recall_at_k.csv"])
    assert list(recall.columns) == ["model", "k", "recall"]
    assert list(pd.read_csv(files["ndcg_at_k.csv"]).columns) == ["model", "k", "ndcg"]
    assert list(pd.read_csv(files["r_precision_at_k.csv"]).columns) == ["model", "k", "r_precision"]
    assert sorted(recall["k"].unique()) == list(range(1, 51))
    for _, part in recall.groupby("model"):
        assert part["recall"].is_monotonic_increasing
    slices = pd.read_csv(files["ndcg_by_slice.csv"])
    assert list(slices.columns) == ["model", "slice", "n_users", "ndcg@10"]
    assert slices["slice"].tolist() == ["all", "all", "cold", "cold", "warm", "warm", "heavy", "heavy"]


def test_the_table_is_written_as_csv_and_markdown(tmp_path: Path) -> None:
    folder = save_table(_table(), tmp_path, "# Offline evaluation: test")
    assert pd.read_csv(folder / "table.csv").shape == (8, 5)
    text = (folder / "table.md").read_text()
    assert text.startswith("# Offline evaluation: test")
    assert "| hybrid" in text
    assert "| popular" in text
    assert "ndcg@10" in text


def test_gate_markdown_names_the_window_both_scores_and_the_verdict() -> None:
    evaluation = {
        "version": "3", "champion_version": "1", "champion_bundle": "holdout", "window_start": "2024-01-08T00:00:00",
        "window_end": "2024-01-10T00:00:00", "n_interactions": 500, "n_users": 100, "candidate": 0.31,
        "champion": 0.3, "baseline": 0.05, "metric": "ndcg_at_10",
    }  # fmt: skip
    text = evaluation_markdown(evaluation, _table())
    assert "2024-01-08T00:00:00 < time <= 2024-01-10T00:00:00" in text
    assert "0.3100" in text
    assert "0.3000" in text
    assert "0.0500" in text
    assert "version 1 (holdout bundle)" in text
    decision = {"promoted": False, "version": "3", "alias": "champion", "reason": "below the champion",
                "previous": "1", "evaluation": evaluation, "tolerance": 0.02, "forced": False}  # fmt: skip
    refused = decision_markdown(decision)
    assert "**REFUSED**: below the champion" in refused
    assert "0.3100" in refused
    assert "2%" in refused
    assert "**PROMOTED**" in decision_markdown(decision | {"promoted": True, "evaluation": None})
