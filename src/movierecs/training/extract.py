"""The training data read from the stores: interactions up to a watermark, titles and viewers."""

from __future__ import annotations

import asyncio

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData, empty_items, empty_users
from movierecs.exceptions import DataError
from movierecs.ports import Catalog, InteractionStore


async def extract_from_stores(
    store: InteractionStore, catalog: Catalog, until: pd.Timestamp | None = None, where: str = "the interaction store"
) -> RawData:
    """Interactions up to ``until`` (naive UTC) from the store, items and users from the catalog.

    Raises
    ------
    DataError
        The store holds no interactions (``where`` names it in the message).
    """
    await asyncio.to_thread(store.migrate)
    frame = await asyncio.to_thread(store.extract, until.to_pydatetime() if until is not None else None)
    if frame.empty:
        raise DataError(
            f"{where} holds no interactions; load a dataset first "
            "(`movierecs load --dataset ml-100k`) or pass --dataset/--interactions"
        )
    inter = pd.DataFrame(
        {
            Columns.User: frame[Columns.User].astype("int64"),
            Columns.Item: frame[Columns.Item].astype("int64"),
            Columns.Type: frame["type"].astype(str),
            "value": frame["value"].astype("float32"),
            Columns.Datetime: pd.to_datetime(frame["ts"]),
        }
    )
    await catalog.migrate()
    items, users = await catalog.items(), await catalog.users()
    items = items if len(items) else empty_items()
    users = users if len(users) else empty_users()
    return RawData(inter, items, users, "store").with_items_from_interactions()
