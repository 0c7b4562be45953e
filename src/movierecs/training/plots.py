"""What an analyst sees in a run's ``plots/`` and ``evaluation/`` folders: every chart with its data.

``plots/``: ``recall_at_k``, ``ndcg_at_k`` and ``r_precision_at_k`` (k = 1..50, each model next to
popularity, rectools' definitions: :mod:`movierecs.evaluation.curves`), ``ndcg_by_slice`` (NDCG@k per
viewer slice) and ``popularity_bias``; each ``.png`` has a ``.csv`` beside it with the numbers drawn.
``evaluation/``: the whole table (every model x slice x metric) as ``table.csv`` and ``table.md``.
The gate's chart (``gate/ndcg_by_slice.png``) is drawn here too, from the gate's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from movierecs.columns import Columns
from movierecs.evaluation.curves import metric_curves
from movierecs.evaluation.report import format_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_K = 50
SLICES = ("all", "cold", "warm", "heavy")
CURVES = {  # metric column -> (file stem, axis label)
    "recall": ("recall_at_k", "Recall@k"),
    "ndcg": ("ndcg_at_k", "NDCG@k"),
    "r_precision": ("r_precision_at_k", "R-precision@k (hits / min(k, relevant))"),
}
BASELINE = "popular"


def _figure() -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def _save(fig: Figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_curves(reco: Mapping[str, pd.DataFrame], test: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Recall, NDCG and R-precision at k = 1..50 per model: one PNG and one CSV (``model,k,<metric>``) each."""
    curves = metric_curves(reco, test, MAX_K)
    out: dict[str, Path] = {}
    for metric, (stem, label) in CURVES.items():
        data = curves[["model", "k", metric]]
        out[f"{stem}.csv"] = out_dir / f"{stem}.csv"
        data.to_csv(out[f"{stem}.csv"], index=False, float_format="%.6f")
        fig, ax = _figure()
        for name, part in data.groupby("model", sort=False):
            style = "--" if name == BASELINE else "-"
            ax.plot(part["k"], part[metric], style, label=str(name))
        ax.set(xlabel="k", ylabel=label, title=f"{label.split(' ')[0]} on the held-out interactions", xlim=(1, MAX_K))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
        out[f"{stem}.png"] = _save(fig, out_dir / f"{stem}.png")
    return out


def slice_frame(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``model, slice, n_users, <metric>`` for the slices present, in the order all/cold/warm/heavy."""
    rows = table[table["slice"].isin(SLICES)][["model", "slice", "n_users", metric]]
    order = {name: i for i, name in enumerate(SLICES)}
    return rows.sort_values(["slice", "model"], key=lambda s: s.map(order) if s.name == "slice" else s)


def plot_slices(table: pd.DataFrame, metric: str, title: str, path: Path) -> Path:
    """Grouped bars of ``metric`` per slice, one bar per model (popularity hatched), n per slice below."""
    data = slice_frame(table, metric)
    slices = [s for s in SLICES if s in set(data["slice"])]
    models = list(dict.fromkeys(table["model"]))
    width = 0.8 / max(len(models), 1)
    fig, ax = _figure()
    x = np.arange(len(slices))
    for i, name in enumerate(models):
        values = data[data["model"] == name].set_index("slice")[metric].reindex(slices).fillna(0.0)
        bars = ax.bar(x + (i - (len(models) - 1) / 2) * width, values, width, label=name,
                      hatch="//" if name == BASELINE else None)  # fmt: skip
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    n_users = data.groupby("slice")["n_users"].max()
    ax.set_xticks(x, [f"{s}\n(n={int(n_users[s])})" for s in slices])
    ax.set(ylabel=metric, title=title)
    ax.legend()
    return _save(fig, path)


def save_popularity_bias(reco: Mapping[str, pd.DataFrame], popularity: pd.Series, out_dir: Path) -> dict[str, Path]:
    """Where the top-10 titles sit in the catalog's popularity percentiles, next to the catalog."""
    pct = popularity.rank(pct=True)
    bins = np.linspace(0.0, 1.0, 21)
    series = {"catalog": pct.to_numpy()}
    for name, frame in reco.items():
        series[f"{name} top-10"] = frame[frame[Columns.Rank] <= 10][Columns.Item].map(pct).dropna().to_numpy()
    rows = []
    fig, ax = _figure()
    for name, values in series.items():
        density, _ = np.histogram(values, bins=bins, density=True)
        if name == "catalog":
            ax.hist(values, bins=bins, alpha=0.4, density=True, label=name)
        else:
            ax.hist(values, bins=bins, histtype="step", density=True, label=name)
        rows += [{"series": name, "bin_low": lo, "bin_high": hi, "density": d}
                 for lo, hi, d in zip(bins[:-1], bins[1:], density, strict=True)]  # fmt: skip
    ax.set(xlabel="item popularity percentile", ylabel="density", title="Popularity bias of recommendations")
    ax.legend()
    csv = out_dir / "popularity_bias.csv"
    pd.DataFrame(rows).to_csv(csv, index=False, float_format="%.6f")
    return {"popularity_bias.csv": csv, "popularity_bias.png": _save(fig, out_dir / "popularity_bias.png")}


def save_plots(
    reco: Mapping[str, pd.DataFrame],
    test: pd.DataFrame,
    item_popularity: pd.Series,
    out_dir: Path,
    table: pd.DataFrame | None = None,
    k: int = 10,
) -> dict[str, Path]:
    """Every chart of a run and its CSV, into ``out_dir``; keys are the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = save_curves(reco, test, out_dir)
    out |= save_popularity_bias(reco, item_popularity, out_dir)
    if table is not None and not table.empty:
        metric = f"ndcg@{k}"
        slice_frame(table, metric).to_csv(out_dir / "ndcg_by_slice.csv", index=False, float_format="%.6f")
        out["ndcg_by_slice.csv"] = out_dir / "ndcg_by_slice.csv"
        title = f"NDCG@{k} per viewer slice on the held-out interactions"
        out["ndcg_by_slice.png"] = plot_slices(table, metric, title, out_dir / "ndcg_by_slice.png")
    return out


def save_table(table: pd.DataFrame, out_dir: Path, header: str) -> Path:
    """``table.csv`` and ``table.md`` (``header`` above the markdown table) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "table.csv", index=False, float_format="%.6f")
    (out_dir / "table.md").write_text(f"{header}\n\n{format_table(table)}\n")
    return out_dir


def png_bytes(table: pd.DataFrame, metric: str, title: str) -> bytes:
    """:func:`plot_slices` into memory (for artifacts logged as files of an existing run)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return plot_slices(table, metric, title, Path(tmp) / "chart.png").read_bytes()
