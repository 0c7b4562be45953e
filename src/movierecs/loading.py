"""`movierecs load`: a dataset into the stores, idempotently (deterministic event ids).

Receives the ports; :mod:`movierecs.composition` builds them from Settings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.events import Event, EventType
from movierecs.ports import Catalog, InteractionStore

CHUNK = 50_000
# Namespace for deterministic event ids of imported datasets: loading twice writes the same ids.
IMPORT_NAMESPACE = uuid.UUID("6f1c2a52-1d1e-4c55-9a4e-7d3f8a1b2c3d")


async def load_into_stores(
    raw: RawData, store: InteractionStore, catalog: Catalog, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Upsert items and users into the catalog and write interactions to the interaction store.

    Loading the same data twice stores nothing twice: items/users are upserted and each
    interaction's ``event_id`` is derived from (dataset, user, item, timestamp). The store is sync;
    its calls run in a worker thread.
    """
    say = progress or (lambda _m: None)
    await catalog.migrate()
    n_items = await catalog.upsert_items(raw.items) if len(raw.items) else 0
    n_users = await catalog.upsert_users(raw.users) if len(raw.users) else 0
    say(f"catalog: {n_items} items, {n_users} users upserted")
    await asyncio.to_thread(store.migrate)
    n = len(raw.interactions)
    # converted chunk by chunk: 25M event objects at once would not fit in memory
    for start in range(0, n, CHUNK):
        await asyncio.to_thread(store.write, raw_to_events(raw, start, start + CHUNK))
        say(f"interactions: {min(start + CHUNK, n)}/{n} written")
    total = await asyncio.to_thread(store.count)
    return {"items": n_items, "users": n_users, "interactions": n, "stored_interactions": total}


def raw_to_events(raw: RawData, start: int = 0, stop: int | None = None) -> list[Event]:
    """Dataset rows ``[start, stop)`` as events with deterministic ids (idempotent loading)."""
    inter = raw.interactions.iloc[start:stop]
    ts = pd.to_datetime(inter[Columns.Datetime]).dt.tz_localize("UTC")
    out = []
    for u, i, t, v, when in zip(
        inter[Columns.User], inter[Columns.Item], inter[Columns.Type], inter["value"], ts, strict=True
    ):
        kind = EventType.rating if t in ("rating", "weight") else EventType(t)
        eid = uuid.uuid5(IMPORT_NAMESPACE, f"{raw.name}:{u}:{i}:{int(when.timestamp())}")
        out.append(Event(event_id=eid, user_id=int(u), item_id=int(i), type=kind, value=float(v), ts=when))
    return out
