"""Online fold-in: a user's iALS vector from their history, with the item factors held fixed.

Solves the iALS user step in closed form, exactly as implicit's ``recalculate_user`` does::

    x_u = (YᵀY + λI + Σ_i (|c_ui| - 1) y_i y_iᵀ)⁻¹ Σ_{i: c_ui > 0} c_ui y_i,   c_ui = α · w_ui

Negative weights (dislikes) add confidence that the preference is 0 without adding to the target.
"""

from __future__ import annotations

import numpy as np


def fold_in(
    item_factors: np.ndarray,
    gram: np.ndarray,
    item_idx: np.ndarray,
    weights: np.ndarray,
    regularization: float,
    alpha: float = 1.0,
) -> np.ndarray:
    """Return the user vector that iALS would compute for this history.

    Parameters
    ----------
    item_factors
        (n_items, f) item factors Y.
    gram
        YᵀY, precomputed once per model (f, f).
    item_idx, weights
        The user's history: item indices and their weights (zero weights are ignored).
    regularization, alpha
        The model's λ and α.

    Returns
    -------
    np.ndarray
        (f,) user vector; zeros for an empty history.

    Examples
    --------
    >>> Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> fold_in(Y, Y.T @ Y, np.array([0]), np.array([1.0]), regularization=1.0).tolist()
    [0.5, 0.0]
    """
    item_idx = np.asarray(item_idx, dtype=np.int64)
    conf = alpha * np.asarray(weights, dtype=np.float64)
    keep = conf != 0
    item_idx, conf = item_idx[keep], conf[keep]
    f = item_factors.shape[1]
    if len(item_idx) == 0:
        return np.zeros(f, dtype=item_factors.dtype)
    y = item_factors[item_idx].astype(np.float64)
    a = gram.astype(np.float64) + regularization * np.eye(f)
    a += (y * (np.abs(conf) - 1.0)[:, None]).T @ y
    b = (np.where(conf > 0, conf, 0.0)[:, None] * y).sum(axis=0)
    return np.linalg.solve(a, b).astype(item_factors.dtype)
