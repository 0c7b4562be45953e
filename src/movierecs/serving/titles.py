"""The catalog cache: title, year and genres of every item the API can name.

The catalog's rows win; items only the model bundles know get the bundle's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierecs.columns import Columns
from movierecs.exceptions import UnknownItemError
from movierecs.models.bundle import Bundle


@dataclass(frozen=True)
class ItemInfo:
    title: str
    year: int | None
    genres: list[str]


class Titles:
    """Item metadata by external id (``info``), seeded from a bundle."""

    def __init__(self, bundle: Bundle) -> None:
        self.info: dict[int, ItemInfo] = {}
        self.add_bundle(bundle)

    def set_catalog(self, items: pd.DataFrame | None, bundle: Bundle) -> None:
        """Replace everything with ``bundle``'s metadata overridden by the catalog's rows."""
        self.info = {}
        self.add_bundle(bundle)
        if items is not None and len(items):
            for row in items.to_dict("records"):
                year = row.get(Columns.Year)
                genres = row.get(Columns.Genres)
                self.info[int(row[Columns.Item])] = ItemInfo(
                    str(row.get(Columns.Title) or f"Item {row[Columns.Item]}"),
                    None if year is None or pd.isna(year) else int(year),
                    [str(g) for g in genres] if isinstance(genres, list | tuple | np.ndarray) else [],
                )

    def add_bundle(self, bundle: Bundle) -> None:
        """Add the items of ``bundle`` not known yet (a reloaded model may bring new titles)."""
        model = bundle.model
        for idx, item_id in enumerate(model.items.external.tolist()):
            if item_id not in self.info:
                year = int(model.years[idx])
                self.info[item_id] = ItemInfo(
                    str(model.titles[idx]), year if year >= 0 else None, model.item_genres(idx)
                )

    def check(self, item_ids: Sequence[int]) -> None:
        """Raise :class:`UnknownItemError` naming every id not in the catalog."""
        unknown = sorted({i for i in item_ids if i not in self.info})
        if unknown:
            raise UnknownItemError(unknown)

    def search(self, query: str, limit: int) -> list[tuple[int, ItemInfo]]:
        """Titles containing ``query`` (case-insensitive), prefix matches first, then by title."""
        q = query.lower().strip()
        hits = [(i, info) for i, info in self.info.items() if q in info.title.lower()]
        hits.sort(key=lambda pair: (not pair[1].title.lower().startswith(q), pair[1].title))
        return hits[:limit]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.info
