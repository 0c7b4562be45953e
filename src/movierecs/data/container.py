"""RawData: the validated frames every loader returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierecs.columns import Columns
from movierecs.exceptions import DataError

INTERACTION_COLUMNS = (Columns.User, Columns.Item, Columns.Type, "value", Columns.Datetime)
ITEM_COLUMNS = (Columns.Item, Columns.Title, Columns.Year, Columns.Genres)
USER_COLUMNS = (Columns.User, Columns.Age, Columns.Gender, Columns.Occupation)


@dataclass(frozen=True)
class RawData:
    """Interactions before weighting, plus optional item and user attributes.

    ``interactions``: ``user_id, item_id`` (int64), ``type`` (``rating``, ``weight`` or an event type),
    ``value`` (float; the rating, the weight or the event value) and ``datetime`` (naive UTC).
    ``items``: ``item_id, title, year, genres`` (genres a list of str). ``users``: ``user_id, age,
    gender, occupation`` (any may be missing).
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    name: str = "custom"

    def __post_init__(self) -> None:
        _require(self.interactions, INTERACTION_COLUMNS, "interactions")
        _require(self.items, ITEM_COLUMNS, "items")
        _require(self.users, USER_COLUMNS, "users")
        inter = self.interactions
        if inter[[Columns.User, Columns.Item, Columns.Datetime]].isna().any().any():
            raise DataError("interactions have missing user_id, item_id or timestamp values")
        for col in (Columns.User, Columns.Item):
            if not np.issubdtype(inter[col].dtype, np.integer):
                raise DataError(f"interactions.{col} must be integers, got {inter[col].dtype}")
            if len(inter) and inter[col].min() < 1:
                raise DataError(f"interactions.{col} must be positive integers")

    def fingerprint(self) -> str:
        """A short content hash of the interactions (identifies the training data of a model)."""
        cols = [Columns.User, Columns.Item, "value", Columns.Datetime]
        digest = hashlib.sha256(pd.util.hash_pandas_object(self.interactions[cols], index=False).values)
        return digest.hexdigest()[:16]

    def up_to(self, until: pd.Timestamp) -> RawData:
        """Only the interactions at or before ``until`` (naive UTC), e.g. never past "now": one row
        dated in the future would otherwise become the next model's watermark."""
        inter = self.interactions
        keep = inter[Columns.Datetime] <= until
        return self if bool(keep.all()) else RawData(inter[keep], self.items, self.users, self.name)

    def with_items_from_interactions(self) -> RawData:
        """Add bare catalog rows for items seen in interactions but missing from ``items``."""
        known = set(self.items[Columns.Item].tolist())
        missing = sorted(set(self.interactions[Columns.Item].unique().tolist()) - known)
        if not missing:
            return self
        extra = pd.DataFrame(
            {
                Columns.Item: missing,
                Columns.Title: [f"Item {i}" for i in missing],
                Columns.Year: [None] * len(missing),
                Columns.Genres: [[] for _ in missing],
            }
        )
        items = pd.concat([self.items, extra], ignore_index=True)
        return RawData(self.interactions, items, self.users, self.name)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} frame lacks columns {missing}; has {list(frame.columns)}")


def empty_items() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ITEM_COLUMNS}).astype({Columns.Item: "int64"})


def empty_users() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in USER_COLUMNS}).astype({Columns.User: "int64"})
