"""`movierecs load`: a dataset into the configured stores, idempotently (deterministic event ids)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from movierecs.data.container import RawData
from movierecs.settings import Settings
from movierecs.wiring import raw_to_events

CHUNK = 50_000


def load_into_stores(settings: Settings, raw: RawData, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Upsert items and users into the catalog and write interactions to the interaction store.

    Loading the same data twice stores nothing twice: items/users are upserted and each
    interaction's ``event_id`` is derived from (dataset, user, item, timestamp).
    """
    from movierecs.adapters.factory import make_catalog, make_interaction_store

    say = progress or (lambda _m: None)

    async def _catalog() -> tuple[int, int]:
        catalog = make_catalog(settings.catalog)
        try:
            await catalog.migrate()
            n_items = await catalog.upsert_items(raw.items) if len(raw.items) else 0
            n_users = await catalog.upsert_users(raw.users) if len(raw.users) else 0
            return n_items, n_users
        finally:
            await catalog.close()

    n_items, n_users = asyncio.run(_catalog())
    say(f"catalog: {n_items} items, {n_users} users upserted into {settings.catalog.split('@')[-1]}")
    store = make_interaction_store(settings.interactions)
    try:
        store.migrate()
        n = len(raw.interactions)
        # converted chunk by chunk: 25M event objects at once would not fit in memory
        for start in range(0, n, CHUNK):
            store.write(raw_to_events(raw, start, start + CHUNK))
            say(f"interactions: {min(start + CHUNK, n)}/{n} written")
        total = store.count()
    finally:
        store.close()
    return {"items": n_items, "users": n_users, "interactions": n, "stored_interactions": total}
