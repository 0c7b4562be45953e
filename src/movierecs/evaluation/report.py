"""Metrics per slice (cold / warm / heavy / all) with rectools, for several models side by side."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from rectools import metrics as rm

from movierecs.columns import Columns
from movierecs.evaluation.protocol import EvalProtocol
from movierecs.models.base import Recommender
from movierecs.models.trainset import TrainingSet

METRIC_NAMES = ("recall", "ndcg", "map", "precision", "novelty", "serendipity", "coverage")


def metric_objects(k: int) -> dict[str, rm.MetricAtK]:
    return {
        f"recall@{k}": rm.Recall(k),
        f"ndcg@{k}": rm.NDCG(k),
        f"map@{k}": rm.MAP(k),
        f"precision@{k}": rm.Precision(k),
        f"novelty@{k}": rm.MeanInvUserFreq(k),
        f"serendipity@{k}": rm.Serendipity(k),
        f"coverage@{k}": rm.CatalogCoverage(k, normalize=True),
    }


def user_slices(train: TrainingSet, test_users: np.ndarray, protocol: EvalProtocol) -> pd.Series:
    """Slice name per test user by the number of their train interactions."""
    counts = train.interactions.groupby(Columns.User).size()
    n = pd.Series(test_users).map(counts).fillna(0).to_numpy()
    labels = np.where(n < protocol.cold_below, "cold", np.where(n >= protocol.heavy_from, "heavy", "warm"))
    return pd.Series(labels, index=test_users, name="slice")


def evaluate_models(
    models: Mapping[str, Recommender],
    train: TrainingSet,
    test: pd.DataFrame,
    protocol: EvalProtocol,
    profiles: Mapping[int, Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """One row per (model, slice): ``n_users`` and every metric @k. Models must be fitted on ``train``.

    A model that cannot serve a user (e.g. pure iALS for a cold one) simply scores 0 for them: the
    slice averages are over all test users of the slice, so models are compared on equal terms.
    """
    k = protocol.k
    test_users = np.sort(test[Columns.User].unique())
    slices = user_slices(train, test_users, protocol)
    catalog = np.unique(train.interactions[Columns.Item].to_numpy())
    prev = train.interactions[[Columns.User, Columns.Item]]
    rows = []
    for name, model in models.items():
        reco = model.recommend(test_users, k=k, exclude_seen=True, profiles=profiles)
        for slice_name in ("all", "cold", "warm", "heavy"):
            users = test_users if slice_name == "all" else slices.index[slices == slice_name].to_numpy()
            if len(users) == 0:
                continue
            row: dict[str, object] = {"model": name, "slice": slice_name, "n_users": len(users)}
            row |= _metrics(reco, test, prev, catalog, users, k)
            rows.append(row)
    return pd.DataFrame(rows)


def _metrics(
    reco: pd.DataFrame, test: pd.DataFrame, prev: pd.DataFrame, catalog: np.ndarray, users: np.ndarray, k: int
) -> dict[str, float]:
    test_s = test[test[Columns.User].isin(users)]
    reco_s = reco[reco[Columns.User].isin(users)]
    objs = metric_objects(k)
    if reco_s.empty:
        return {name: 0.0 for name in objs}
    values = rm.calc_metrics(objs, reco=reco_s, interactions=test_s, prev_interactions=prev, catalog=catalog)
    out = {name: float(values.get(name, 0.0)) for name in objs}
    # rectools 0.19 averages recall/NDCG/MAP/precision over every viewer of the test interactions
    # (an unserved one scores 0): nothing to rescale. Serendipity alone is averaged over the viewers
    # that got a list, so it is brought to the same denominator; novelty and coverage describe the
    # lists shown and stay as they are.
    served = reco_s[Columns.User].nunique()
    out[f"serendipity@{k}"] *= served / len(users)
    return out


def format_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A fixed-width text table (markdown-compatible) of an evaluation frame."""
    cols = list(table.columns)
    body = [[f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row] for row in table.to_numpy()]
    widths = [max(len(c), *(len(r[i]) for r in body)) if body else len(c) for i, c in enumerate(cols)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in body)])
