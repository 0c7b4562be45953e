"""Train/test splits over time. Pure: the cut-off comes from the data, never from the clock."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierecs.columns import Columns


def per_user_temporal_split(
    interactions: pd.DataFrame, test_fraction: float = 0.2, min_train: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the last ``test_fraction`` of each user's interactions (at least one).

    Users with fewer than ``min_train + 1`` interactions stay entirely in train.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1] * 5, "item_id": range(5), "weight": 1.0,
    ...                    "datetime": pd.to_datetime(range(5), unit="s")})
    >>> train, test = per_user_temporal_split(df, 0.4)
    >>> train["item_id"].tolist(), test["item_id"].tolist()
    ([0, 1, 2], [3, 4])
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    frame = interactions.sort_values([Columns.User, Columns.Datetime, Columns.Item], kind="stable")
    users = frame[Columns.User].to_numpy()
    sizes = frame.groupby(Columns.User, sort=True).size()
    counts = sizes.reindex(users).to_numpy()
    rank_from_end = frame.groupby(Columns.User).cumcount(ascending=False).to_numpy()
    n_test = np.maximum(1, np.floor(counts * test_fraction).astype(np.int64))
    n_test = np.where(counts >= min_train + 1, np.minimum(n_test, counts - min_train), 0)
    is_test = rank_from_end < n_test
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)


def global_time_split(interactions: pd.DataFrame, test_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything before the ``1 - test_fraction`` time quantile is train, the rest is test.

    Users who appear only after the cut-off are *cold* in the test set.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    ts = interactions[Columns.Datetime]
    cutoff = ts.sort_values().iloc[int(len(ts) * (1 - test_fraction))]
    train = interactions[ts < cutoff]
    test = interactions[ts >= cutoff]
    return train.reset_index(drop=True), test.reset_index(drop=True)
