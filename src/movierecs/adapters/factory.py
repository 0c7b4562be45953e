"""Adapters chosen by URL scheme (DESIGN.md §2, modes): the only place that maps URLs to backends.

- interactions: ``chdb:///dir`` (embedded) | ``clickhouse://host:port/db`` (server)
- catalog: ``sqlite:///path`` (embedded) | ``postgresql://user@host:port/db`` (server)
- event bus: ``memory://`` (embedded) | ``kafka://host:port`` (server)

Backend modules are imported lazily, so the embedded mode never imports a server driver.
"""

from __future__ import annotations

from movierecs.exceptions import UnsupportedUrlError
from movierecs.ports import Catalog, EventBus, InteractionStore
from movierecs.settings import Settings


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


def make_event_bus(settings: Settings) -> EventBus:
    """An :class:`~movierecs.ports.EventBus` for ``memory://`` or ``kafka://host:port[,host:port]``."""
    url = settings.event_bus_url
    scheme = _scheme(url)
    if scheme == "memory":
        from movierecs.adapters.memory import MemoryEventBus

        return MemoryEventBus()
    if scheme == "kafka":
        from movierecs.adapters.kafka import KafkaEventBus

        return KafkaEventBus(
            url.removeprefix("kafka://"),
            settings.kafka_topic,
            settings.kafka_partitions,
            dlq_topic=settings.kafka_dlq_topic,
        )
    raise UnsupportedUrlError(f"unsupported event bus URL {url!r}: use memory:// or kafka://host:port")
