"""Evaluation plots logged with each run: Recall@k curve and popularity bias."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from movierecs.columns import Columns


def recall_curve(reco: Mapping[str, pd.DataFrame], test: pd.DataFrame, ks: range) -> pd.DataFrame:
    """Recall@k for each k in ``ks`` and each model's recommendations (ranked up to max(ks))."""
    relevant = test.groupby(Columns.User).size()
    hits_base = test.assign(_hit=1)
    rows = []
    for name, frame in reco.items():
        merged = frame.merge(hits_base, on=[Columns.User, Columns.Item], how="left").fillna({"_hit": 0})
        for k in ks:
            hits = merged[merged[Columns.Rank] <= k].groupby(Columns.User)["_hit"].sum()
            recall = (hits.reindex(relevant.index).fillna(0) / relevant.clip(upper=k)).mean()
            rows.append({"model": name, "k": k, "recall": float(recall)})
    return pd.DataFrame(rows)


def save_plots(
    reco: Mapping[str, pd.DataFrame], test: pd.DataFrame, item_popularity: pd.Series, out_dir: Path
) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    curve = recall_curve(reco, test, range(1, 51))
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, part in curve.groupby("model"):
        ax.plot(part["k"], part["recall"], label=str(name))
    ax.set(xlabel="k", ylabel="Recall@k", title="Recall@k on the held-out interactions")
    ax.legend()
    recall_path = out_dir / "recall_at_k.png"
    fig.tight_layout()
    fig.savefig(recall_path, dpi=100)
    plt.close(fig)

    pct = item_popularity.rank(pct=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = [i / 20 for i in range(21)]
    ax.hist(pct.to_numpy(), bins=bins, alpha=0.4, density=True, label="catalog")
    for name, frame in reco.items():
        top = frame[frame[Columns.Rank] <= 10]
        ax.hist(
            top[Columns.Item].map(pct).dropna().to_numpy(),
            bins=bins,
            histtype="step",
            density=True,
            label=f"{name} top-10",
        )
    ax.set(xlabel="item popularity percentile", ylabel="density", title="Popularity bias of recommendations")
    ax.legend()
    bias_path = out_dir / "popularity_bias.png"
    fig.tight_layout()
    fig.savefig(bias_path, dpi=100)
    plt.close(fig)
    return {"recall_at_k": recall_path, "popularity_bias": bias_path}
