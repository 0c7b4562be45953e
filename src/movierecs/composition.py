"""The composition root: the one place where Settings become stores, bus, stream and registry.

Every process kind has one entry here — :func:`build_api` (``movierecs serve``, ``demo``),
:func:`build_consumer` (``movierecs consume``), :func:`training_ports` (``train``, ``evaluate``,
``promote``, ``load``, ``demo``) — and everything below receives ports
(:mod:`movierecs.ports`), never a URL. The backend follows the URL's scheme (DESIGN.md §2, modes):

============== ================================ ==========================================
port           embedded (default)               server
============== ================================ ==========================================
interactions   ``chdb:///dir``                  ``clickhouse://host:port/db``
catalog        ``sqlite:///path``               ``postgresql://user@host:port/db``
event bus      ``memory://``                    ``kafka://host:port[,host:port]``
event stream   the in-process bus               a Kafka consumer group
registry       MLflow, ``sqlite:///`` tracking  MLflow server
============== ================================ ==========================================

Adapter modules are imported lazily, so the embedded mode never imports a server driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
from pydantic import SecretStr

from movierecs.data.container import RawData
from movierecs.exceptions import DataError, UnsupportedUrlError
from movierecs.models.bundle import Bundle, BundleLoader
from movierecs.ports import Catalog, EventBus, EventStream, InteractionStore, ModelRegistry
from movierecs.settings import Settings
from movierecs.urls import redact as _redact

if TYPE_CHECKING:
    from fastapi import FastAPI

    from movierecs.adapters.memory import MemoryEventBus
    from movierecs.streaming.consumer import Consumer

T = TypeVar("T")


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


# ---- one adapter per port -------------------------------------------------------------------------
def interaction_store(url: str, password: SecretStr | str | None = None) -> InteractionStore:
    """An :class:`~movierecs.ports.InteractionStore` for ``chdb://`` or ``clickhouse://`` URLs
    (``password``: ``CLICKHOUSE_PASSWORD``, used when the URL has none)."""
    scheme = _scheme(url)
    if scheme == "chdb":
        from movierecs.adapters.chdb import ChdbInteractionStore

        return ChdbInteractionStore(url)
    if scheme == "clickhouse":
        from movierecs.adapters.clickhouse import ClickHouseInteractionStore

        return ClickHouseInteractionStore(url, password=password)
    raise UnsupportedUrlError(
        f"unsupported interactions URL {_redact(url)!r}: use chdb:///path/to/dir or clickhouse://host:port/db "
        "(MOVIERECS_INTERACTIONS_URL)"
    )


def catalog(url: str, password: SecretStr | str | None = None) -> Catalog:
    """A :class:`~movierecs.ports.Catalog` for ``sqlite://`` or ``postgresql://`` URLs
    (``password``: ``PGPASSWORD``, used when the URL has none)."""
    scheme = _scheme(url)
    if scheme == "sqlite":
        from movierecs.adapters.sqlite import SqliteCatalog

        return SqliteCatalog(url)
    if scheme in ("postgresql", "postgres"):
        from movierecs.adapters.postgres import PostgresCatalog

        return PostgresCatalog(url, password=password)
    raise UnsupportedUrlError(
        f"unsupported catalog URL {_redact(url)!r}: use sqlite:///path or postgresql://user@host:port/db "
        "(MOVIERECS_CATALOG_URL)"
    )


def event_bus(settings: Settings) -> EventBus:
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
    raise UnsupportedUrlError(f"unsupported event bus URL {_redact(url)!r}: use memory:// or kafka://host:port")


def event_stream(settings: Settings, group_id: str) -> EventStream:
    """The consumer's :class:`~movierecs.ports.EventStream`: a Kafka consumer group."""
    url = settings.event_bus_url
    if _scheme(url) != "kafka":
        raise UnsupportedUrlError(
            f"the consumer reads Kafka; MOVIERECS_EVENT_BUS_URL is {_redact(url)!r} (use kafka://host:port; "
            "with memory:// the API writes events to the store itself)"
        )
    from movierecs.adapters.kafka_stream import KafkaEventStream

    return KafkaEventStream(
        url.removeprefix("kafka://"),
        settings.kafka_topic,
        group_id=group_id,
        dlq_topic=settings.kafka_dlq_topic,
        partitions=settings.kafka_partitions,
    )


def model_registry(settings: Settings) -> ModelRegistry:
    """The :class:`~movierecs.ports.ModelRegistry` (MLflow tracking + registry URIs)."""
    from movierecs.adapters.mlflow_registry import MlflowRegistry

    return MlflowRegistry(
        settings.tracking_uri,
        settings.registry_uri,
        settings.model_name,
        settings.experiment_name,
        settings.artifacts_dir,
    )


def bundle_loader(settings: Settings) -> BundleLoader:
    """Loads the served model (``MOVIERECS_MODEL_URI``, else ``models:/<name>@<alias>``) or any other."""
    return BundleLoader(lambda: model_registry(settings), settings.served_model_uri)


# ---- process kinds --------------------------------------------------------------------------------
def build_api(settings: Settings, bundle: Bundle | None = None) -> FastAPI:
    """The API process: ``bundle`` preloads a model (tests); otherwise the configured one is loaded.

    Nothing connects here: the API's start does, and serves titles from the model bundle when the
    catalog is unreachable (or its URL unsupported), and viewers from memory when the interaction
    store is (``MOVIERECS_VIEWER_STORE_READS=false`` turns its reads off). In the embedded mode
    (``memory://`` bus and ``embedded_sink``) the API also runs :func:`memory_sink`.
    """
    import logging

    from movierecs.adapters.memory import MemoryEventBus
    from movierecs.serving.app import create_app
    from movierecs.serving.runtime import ApiPorts

    bus = event_bus(settings)
    try:
        api_catalog: Catalog | None = catalog(settings.catalog, settings.postgres_password)
    except UnsupportedUrlError:
        logging.getLogger(__name__).exception("catalog unavailable; serving titles from the model bundle")
        api_catalog = None
    sink = memory_sink(bus, settings) if isinstance(bus, MemoryEventBus) and settings.embedded_sink else None
    store = None
    if settings.viewer_store_reads:  # viewers' events since the watermark, read back on demand
        try:
            store = interaction_store(settings.interactions, settings.clickhouse_password)
        except UnsupportedUrlError:
            logging.getLogger(__name__).exception("interaction store unavailable; viewers are served from memory")
    ports = ApiPorts(bus=bus, bundles=bundle_loader(settings), catalog=api_catalog, sink=sink, store=store)
    return create_app(settings, ports, bundle=bundle)


def build_consumer(
    settings: Settings, *, group_id: str, batch_size: int = 10_000, batch_wait_s: float = 0.5
) -> Consumer:
    """The consumer process: the Kafka group's stream → the interaction store."""
    from movierecs.streaming.consumer import Consumer
    from movierecs.streaming.handlers import BatchPolicy

    return Consumer(
        event_stream(settings, group_id),
        lambda: interaction_store(settings.interactions, settings.clickhouse_password),
        policy=BatchPolicy(batch_size, batch_wait_s),
    )


def memory_sink(bus: MemoryEventBus, settings: Settings) -> Consumer:
    """The embedded mode's sink, run inside the API process: the in-process bus → the store."""
    from movierecs.adapters.memory import MemoryEventStream
    from movierecs.streaming.consumer import Consumer
    from movierecs.streaming.handlers import BatchPolicy

    return Consumer(
        MemoryEventStream(bus),
        lambda: interaction_store(settings.interactions, settings.clickhouse_password),
        policy=BatchPolicy(5000, 0.2),
    )


@dataclass
class TrainingPorts:
    """What the batch commands (load, train, evaluate, recommend, promote, demo) talk to.

    The sync commands reach the async catalog through :meth:`read_data` and :meth:`load`, which
    run one event loop each (``asyncio.run`` here, at the process's edge, and nowhere below).
    """

    settings: Settings

    def store(self) -> InteractionStore:
        return interaction_store(self.settings.interactions, self.settings.clickhouse_password)

    def catalog(self) -> Catalog:
        return catalog(self.settings.catalog, self.settings.postgres_password)

    def registry(self) -> ModelRegistry:
        return model_registry(self.settings)

    def bundles(self) -> BundleLoader:
        return bundle_loader(self.settings)

    def read_data(
        self,
        dataset: str | None = None,
        interactions: Path | None = None,
        items: Path | None = None,
        users: Path | None = None,
        until: pd.Timestamp | None = None,
    ) -> RawData:
        """A dataset in the data dir, a generic CSV, or (neither) the stores up to ``until``."""
        from movierecs.data.loaders import load_dataset, load_interactions_csv

        if dataset and interactions:
            raise DataError("give --dataset or --interactions, not both")
        if dataset:
            return load_dataset(dataset, self.settings.resolved_data_dir())
        if interactions:
            return load_interactions_csv(interactions, items, users)
        from movierecs.training.extract import extract_from_stores

        where = f"the interaction store {_redact(self.settings.interactions)}"
        return self._with_stores(lambda store, cat: extract_from_stores(store, cat, until, where))

    def load(self, raw: RawData, progress: Callable[[str], None] | None = None) -> dict[str, int]:
        """``movierecs load``: the dataset into the catalog and the interaction store, idempotently."""
        from movierecs.loading import load_into_stores

        return self._with_stores(lambda store, cat: load_into_stores(raw, store, cat, progress))

    def stored_interactions(self) -> int:
        store = self.store()
        try:
            store.migrate()
            return store.count()
        finally:
            store.close()

    def _with_stores(self, work: Callable[[InteractionStore, Catalog], Awaitable[T]]) -> T:
        async def run() -> T:
            store, cat = self.store(), self.catalog()
            try:
                return await work(store, cat)
            finally:
                await cat.close()
                await asyncio.to_thread(store.close)

        return asyncio.run(run())


def training_ports(settings: Settings) -> TrainingPorts:
    return TrainingPorts(settings)
