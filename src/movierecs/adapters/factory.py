"""Adapters chosen by URL scheme (DESIGN.md §2, modes): the only place that maps URLs to backends.

- interactions: ``chdb:///dir`` (embedded) | ``clickhouse://host:port/db`` (server)
- catalog: ``sqlite:///path`` (embedded) | ``postgresql://user@host:port/db`` (server)

Backend modules are imported lazily, so the embedded mode never imports a server driver.
"""

from __future__ import annotations

from movierecs.exceptions import UnsupportedUrlError
from movierecs.ports import Catalog, InteractionStore


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


def make_interaction_store(url: str) -> InteractionStore:
    """An :class:`~movierecs.ports.InteractionStore` for ``chdb://`` or ``clickhouse://`` URLs."""
    scheme = _scheme(url)
    if scheme == "chdb":
        from movierecs.adapters.chdb import ChdbInteractionStore

        return ChdbInteractionStore(url)
    if scheme == "clickhouse":
        from movierecs.adapters.clickhouse import ClickHouseInteractionStore

        return ClickHouseInteractionStore(url)
    raise UnsupportedUrlError(
        f"unsupported interactions URL {url!r}: use chdb:///path/to/dir or clickhouse://host:port/db "
        "(MOVIERECS_INTERACTIONS_URL)"
    )


def make_catalog(url: str) -> Catalog:
    """A :class:`~movierecs.ports.Catalog` for ``sqlite://`` or ``postgresql://`` URLs."""
    scheme = _scheme(url)
    if scheme == "sqlite":
        from movierecs.adapters.sqlite import SqliteCatalog

        return SqliteCatalog(url)
    if scheme in ("postgresql", "postgres"):
        from movierecs.adapters.postgres import PostgresCatalog

        return PostgresCatalog(url)
    raise UnsupportedUrlError(
        f"unsupported catalog URL {url!r}: use sqlite:///path or postgresql://user@host:port/db (MOVIERECS_CATALOG_URL)"
    )


# make_event_bus(url) joins here (event bus adapters: memory://, kafka://).
