"""Metric@k curves for k = 1..K from one ranked list per user (ranked up to K), equal to rectools'.

Calling rectools once per k re-merges the recommendations K times; here the hits are merged once and
every k comes from cumulative sums over the rank. The values are rectools' definitions exactly (the
tests compare them at several k):

- ``recall``: ``rm.Recall(k)``, hits@k / |relevant| (never falls as k grows);
- ``ndcg``: ``rm.NDCG(k)`` (log base 2, ideal DCG over k positions, as the evaluation table);
- ``r_precision``: ``rm.Precision(k, r_precision=True)``, hits@k / min(k, |relevant|) (it may fall:
  it is *not* a recall and is only ever labelled R-precision).

Every mean is over the users of ``test``; a user without a list scores 0 (rectools 0.19 does the same).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from movierecs.columns import Columns

CURVE_METRICS = ("recall", "ndcg", "r_precision")


def metric_curves(reco: Mapping[str, pd.DataFrame], test: pd.DataFrame, max_k: int) -> pd.DataFrame:
    """One row per (model, k) for k in 1..``max_k``: ``model, k, recall, ndcg, r_precision``.

    Parameters
    ----------
    reco
        Recommendations per model name: ``user_id, item_id, rank`` (rank 1 = best), at least up to
        ``max_k`` per user for the curves to be complete (ranks beyond ``max_k`` are ignored).
    test
        Held-out ``user_id, item_id`` pairs; every pair is relevant.
    max_k
        The largest k.

    Examples
    --------
    >>> test = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 30]})
    >>> reco = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [10, 99, 31, 30], "rank": [1, 2, 1, 2]})
    >>> metric_curves({"m": reco}, test, 2)[["k", "recall", "r_precision"]].to_numpy().tolist()
    [[1.0, 0.25, 0.5], [2.0, 0.75, 0.75]]
    """
    if max_k < 1:
        raise ValueError(f"max_k must be at least 1, got {max_k}")
    pairs = test[[Columns.User, Columns.Item]]
    relevant = pairs.groupby(Columns.User).size()  # |relevant| per test user (rows, as rectools counts)
    n_users = len(relevant)
    ks = np.arange(1, max_k + 1)
    discount = 1.0 / np.log2(ks + 1.0)
    ideal = np.cumsum(discount)  # rectools' NDCG divides by the DCG of k hits, whatever |relevant|
    capped = np.minimum(relevant.to_numpy(), max_k)
    cap_of_user = pd.Series(capped, index=relevant.index)
    frames = []
    for name, frame in reco.items():
        ranked = frame[frame[Columns.Rank] <= max_k][[Columns.User, Columns.Item, Columns.Rank]]
        hits = pairs.merge(ranked, on=[Columns.User, Columns.Item], how="inner")
        rank = hits[Columns.Rank].to_numpy(dtype=np.int64) - 1
        n_rel = hits[Columns.User].map(relevant).to_numpy(dtype=np.float64)
        cap = hits[Columns.User].map(cap_of_user).to_numpy(dtype=np.int64) - 1
        if n_users == 0:
            recall = ndcg = r_precision = np.zeros(max_k)
        else:
            recall = np.cumsum(np.bincount(rank, weights=1.0 / n_rel, minlength=max_k)) / n_users
            ndcg = np.cumsum(np.bincount(rank, minlength=max_k) * discount) / ideal / n_users
            # hits[r, c]: hits at rank r+1 of users with min(|relevant|, max_k) = c+1; cumulated over r
            grid = np.zeros((max_k, max_k))
            np.add.at(grid, (rank, cap), 1.0)
            tp = np.cumsum(grid, axis=0)
            denominator = np.minimum(ks[:, None], ks[None, :])
            r_precision = (tp / denominator).sum(axis=1) / n_users
        columns = {"model": name, "k": ks, "recall": recall, "ndcg": ndcg, "r_precision": r_precision}
        frames.append(pd.DataFrame(columns))
    if not frames:
        return pd.DataFrame(columns=["model", "k", *CURVE_METRICS])
    return pd.concat(frames, ignore_index=True)
