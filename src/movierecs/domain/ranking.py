"""Top-k selection with exclusions and filters over a score vector."""

from __future__ import annotations

import numpy as np


def top_k(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best entries, best first; ties broken by lower index.

    Parameters
    ----------
    scores
        1-d scores per item.
    k
        How many to return (fewer if fewer items remain).
    exclude
        Item indices never to return (e.g. already seen).
    allowed
        Boolean mask of items that may be returned (e.g. a genre filter); ``None`` allows all.

    Examples
    --------
    >>> idx, s = top_k(np.array([0.1, 0.9, 0.5, 0.9]), 2, exclude=np.array([3]))
    >>> idx.tolist(), s.tolist()
    ([1, 2], [0.9, 0.5])
    """
    work = np.asarray(scores, dtype=np.float64).copy()
    if allowed is not None:
        work[~allowed] = -np.inf
    if exclude is not None and len(exclude):
        work[exclude] = -np.inf
    valid = int(np.isfinite(work).sum())
    k = min(k, valid)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if k < len(work):
        part = np.argpartition(-work, k - 1)[:k]
        # argpartition does not keep ties stable; widen to every item tied with the k-th score
        kth = work[part].min()
        cand = np.flatnonzero(work >= kth)
    else:
        cand = np.flatnonzero(np.isfinite(work))
    order = np.lexsort((cand, -work[cand]))[:k]
    best = cand[order]
    return best.astype(np.int64), work[best]
