"""Model bundle: the hybrid model plus the metadata that serving and promotion rely on.

Layout of a bundle folder::

    bundle.json   format, model name, trained_at, watermark, dataset fingerprint, metrics, config
    model/        HybridRecommender.save() (model.json + state.npz)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movierecs.exceptions import BundleValidationError, DataError
from movierecs.models.hybrid import HybridRecommender
from movierecs.ports import ModelRegistry

FORMAT = "movierecs.bundle/v1"
META_FILE = "bundle.json"


@dataclass(frozen=True)
class Bundle:
    model: HybridRecommender
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def watermark(self) -> str:
        return str(self.meta.get("watermark", ""))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "local"))

    def save(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(path / "model")
        meta = {
            **self.meta,
            "format": FORMAT,
            "n_users": len(self.model.users),
            "n_items": len(self.model.items),
            "factors": self.model.config.ials.factors,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        return path


def load_bundle(path: Path, version: str | None = None) -> Bundle:
    """Load and validate a bundle folder; raises :class:`BundleValidationError` if it must not serve."""
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise BundleValidationError(f"{path} is not a model bundle: {META_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as exc:
        raise BundleValidationError(f"{meta_path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise BundleValidationError(f"{meta_path}: unsupported bundle format {found!r}")
    model = HybridRecommender.load(path / "model")
    for key, actual in (
        ("n_users", len(model.users)),
        ("n_items", len(model.items)),
        ("factors", model.config.ials.factors),
    ):
        if meta.get(key) != actual:
            raise BundleValidationError(f"{meta_path}: {key}={meta.get(key)} but the model has {actual}")
    if len(model.items) == 0:
        raise BundleValidationError(f"{path}: the model has no items")
    if version is not None:
        meta["version"] = version
    return Bundle(model, meta)


class BundleLoader:
    """Loads a bundle from a folder or a registry URI (``models:/<name>/<N>``, ``models:/<name>@<alias>``).

    The registry is built on first use (importing MLflow takes seconds; a folder needs none of it).

    Parameters
    ----------
    registry
        Builds the :class:`~movierecs.ports.ModelRegistry` the URIs are resolved with.
    default_ref
        What :meth:`load` loads when given no reference (the served model's URI).
    """

    def __init__(self, registry: Callable[[], ModelRegistry], default_ref: str) -> None:
        self._make_registry = registry
        self._registry: ModelRegistry | None = None
        self.default_ref = default_ref

    @property
    def registry(self) -> ModelRegistry:
        if self._registry is None:
            self._registry = self._make_registry()
        return self._registry

    def load(self, ref: str | None = None) -> Bundle:
        """Load and validate ``ref`` (default: :attr:`default_ref`); blocking, call it off the loop."""
        ref = ref or self.default_ref
        path = Path(ref).expanduser()
        if path.exists():
            return load_bundle(path)
        if "://" not in ref and ":/" not in ref:
            raise DataError(f"{ref} is neither a bundle folder nor a registry URI (models:/name@alias)")
        # the download is read into memory and removed: a reload leaves no folder behind
        with tempfile.TemporaryDirectory(prefix="movierecs-model-") as tmp:
            folder, version = self.registry.download(ref, Path(tmp))
            return load_bundle(folder, version=version)
