"""TrainingSet: weighted interactions bounded by a watermark, with the item and user attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierecs.columns import Columns
from movierecs.domain.idmap import IdMap
from movierecs.domain.weighting import Weighting, apply_weighting
from movierecs.exceptions import DataError


class RawFrames(Protocol):
    """Interactions before weighting plus item and user attributes (:class:`movierecs.data.RawData` fits)."""

    @property
    def interactions(self) -> pd.DataFrame: ...

    @property
    def items(self) -> pd.DataFrame: ...

    @property
    def users(self) -> pd.DataFrame: ...

    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class TrainingSet:
    """What a model is fitted on.

    ``interactions``: ``user_id, item_id, weight, datetime``, one row per (user, item); weight 0 marks
    an item as seen without a preference. ``watermark``: no interaction is later than it (naive UTC).
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    watermark: pd.Timestamp
    fingerprint: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in Columns.Interactions if c not in self.interactions.columns]
        if missing:
            raise DataError(f"training interactions lack columns {missing}")
        if self.interactions.duplicated([Columns.User, Columns.Item]).any():
            raise DataError("training interactions must have one row per (user_id, item_id)")

    @classmethod
    def from_raw(cls, raw: RawFrames, weighting: Weighting, watermark: pd.Timestamp | None = None) -> TrainingSet:
        inter = raw.interactions
        if watermark is not None:
            inter = inter[inter[Columns.Datetime] <= watermark]
        if inter.empty:
            raise DataError("no interactions up to the watermark; nothing to train on")
        mark = watermark if watermark is not None else inter[Columns.Datetime].max()
        weighted = apply_weighting(inter, weighting)
        return cls(weighted, raw.items, raw.users, pd.Timestamp(mark), raw.fingerprint())

    def matrix(self, users: IdMap, items: IdMap) -> sp.csr_matrix:
        """(users × items) CSR of weights; explicit zeros are kept (they mark seen items)."""
        rows = users.to_internal(self.interactions[Columns.User].to_numpy())
        cols = items.to_internal(self.interactions[Columns.Item].to_numpy())
        keep = (rows >= 0) & (cols >= 0)
        weights = self.interactions[Columns.Weight].to_numpy(dtype=np.float32)[keep]
        # built from COO: explicit zeros survive (scipy only drops them on eliminate_zeros)
        mat = sp.csr_matrix((weights, (rows[keep], cols[keep])), shape=(len(users), len(items)))
        mat.sort_indices()
        return mat
