"""Composition helpers: build registry, stores and data sources from one Settings object."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pandas as pd

from movierecs.adapters.mlflow_registry import MlflowRegistry
from movierecs.columns import Columns
from movierecs.data.container import RawData, empty_items, empty_users
from movierecs.data.loaders import load_dataset, load_interactions_csv
from movierecs.events import Event, EventType
from movierecs.exceptions import DataError
from movierecs.models.bundle import Bundle, load_bundle
from movierecs.settings import Settings

# Namespace for deterministic event ids of imported datasets: loading twice writes the same ids.
IMPORT_NAMESPACE = uuid.UUID("6f1c2a52-1d1e-4c55-9a4e-7d3f8a1b2c3d")


def registry(settings: Settings) -> MlflowRegistry:
    return MlflowRegistry(
        settings.tracking_uri,
        settings.registry_uri,
        settings.model_name,
        settings.experiment_name,
        settings.artifacts_dir,
    )


def resolve_bundle(settings: Settings, model: str | None = None) -> Bundle:
    """Load a bundle from a folder, or from a registry URI (default ``models:/<name>@<alias>``)."""
    ref = model or settings.served_model_uri
    path = Path(ref).expanduser()
    if path.exists():
        return load_bundle(path)
    if "://" not in ref and ":/" not in ref:
        raise DataError(f"{ref} is neither a bundle folder nor a registry URI (models:/name@alias)")
    folder, version = registry(settings).download(ref)
    return load_bundle(folder, version=version)


def load_source(
    settings: Settings,
    dataset: str | None,
    interactions: Path | None,
    items: Path | None = None,
    users: Path | None = None,
) -> RawData:
    """The training data: a dataset in the data dir, a generic CSV, or (neither) the stores."""
    if dataset and interactions:
        raise DataError("give --dataset or --interactions, not both")
    if dataset:
        return load_dataset(dataset, settings.resolved_data_dir())
    if interactions:
        return load_interactions_csv(interactions, items, users)
    return extract_from_stores(settings)


def extract_from_stores(settings: Settings, until: pd.Timestamp | None = None) -> RawData:
    """Interactions up to ``until`` from the interaction store, items and users from the catalog."""
    from movierecs.adapters.factory import make_catalog, make_interaction_store

    store = make_interaction_store(settings.interactions)
    try:
        store.migrate()
        frame = store.extract(until=until.to_pydatetime() if until is not None else None)
    finally:
        store.close()
    if frame.empty:
        raise DataError(
            f"the interaction store {settings.interactions} holds no interactions; load a dataset first "
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

    async def _catalog() -> tuple[pd.DataFrame, pd.DataFrame]:
        catalog = make_catalog(settings.catalog)
        try:
            await catalog.migrate()
            return await catalog.items(), await catalog.users()
        finally:
            await catalog.close()

    items, users = asyncio.run(_catalog())
    items = items if len(items) else empty_items()
    users = users if len(users) else empty_users()
    return RawData(inter, items, users, "store").with_items_from_interactions()


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
