"""Model bundles: round trip, and every kind of corruption is refused with BundleValidationError."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from movierecs.exceptions import BundleValidationError, DataError
from movierecs.models.bundle import FORMAT, Bundle, BundleLoader, load_bundle
from movierecs.models.hybrid import HybridRecommender

USERS = [1, 2, 500, 10**7]


@pytest.fixture
def bundle_dir(trained: HybridRecommender, tmp_path: Path) -> Path:
    return Bundle(trained, {"watermark": "1998-04-22T23:10:38", "metrics": {"ndcg_at_10": 0.3}}).save(
        tmp_path / "bundle"
    )


def test_round_trip(trained: HybridRecommender, bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir, version="7")
    assert bundle.version == "7"
    assert bundle.watermark == "1998-04-22T23:10:38"
    assert bundle.meta["format"] == FORMAT
    assert bundle.meta["n_items"] == len(trained.items)
    pd.testing.assert_frame_equal(bundle.model.recommend(USERS, k=10), trained.recommend(USERS, k=10))
    profile = {"age": 30, "gender": "F"}
    assert (
        bundle.model.serve(10**7, profile=profile).items.tolist()
        == trained.serve(10**7, profile=profile).items.tolist()
    )
    assert bundle.model.genre_names == trained.genre_names
    assert bundle.model.titles.tolist() == trained.titles.tolist()
    online = (np.array([0, 5]), np.array([1.0, 1.0], dtype=np.float32))
    assert bundle.model.serve(10**7, online=online).items.tolist() == trained.serve(10**7, online=online).items.tolist()


def rewrite_state(path: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    state_file = path / "model" / "state.npz"
    with np.load(state_file) as npz:
        state = {k: npz[k] for k in npz.files}
    change(state)
    np.savez(state_file, **state)


def edit_json(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    result = change(data)
    path.write_text(json.dumps(data if result is None else result))


def _drop(key: str) -> Callable[[dict[str, np.ndarray]], None]:
    def change(state: dict[str, np.ndarray]) -> None:
        del state[key]

    return change


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "item factors of the wrong shape": lambda p: rewrite_state(
        p, lambda s: s.__setitem__("ials.item_factors", s["ials.item_factors"][:-1])
    ),
    "user factors with the wrong width": lambda p: rewrite_state(
        p, lambda s: s.__setitem__("ials.user_factors", s["ials.user_factors"][:, :-1])
    ),
    "NaN in the factors": lambda p: rewrite_state(p, lambda s: s["ials.item_factors"].__setitem__((0, 0), np.nan)),
    "titles for fewer items": lambda p: rewrite_state(p, lambda s: s.__setitem__("titles", s["titles"][:-1])),
    "popularity of the wrong length": lambda p: rewrite_state(
        p, lambda s: s.__setitem__("popular.global_scores", s["popular.global_scores"][:5])
    ),
    "item ids not sorted": lambda p: rewrite_state(p, lambda s: s.__setitem__("items", s["items"][::-1].copy())),
    "history pointing past the items": lambda p: rewrite_state(
        p, lambda s: s.__setitem__("history_indices", s["history_indices"] + 10_000)
    ),
    "a missing array": lambda p: rewrite_state(p, _drop("ials.has_item_vector")),
    "missing state file": lambda p: (p / "model" / "state.npz").unlink(),
    "state file that is not a zip": lambda p: (p / "model" / "state.npz").write_bytes(b"garbage" * 10),
    "missing model.json": lambda p: (p / "model" / "model.json").unlink(),
    "model.json not JSON": lambda p: (p / "model" / "model.json").write_text("{not json"),
    "model of another kind": lambda p: edit_json(p / "model" / "model.json", lambda d: d.update(kind="popular")),
    "model config with an unknown option": lambda p: edit_json(
        p / "model" / "model.json", lambda d: d["config"]["ials"].update(no_such_option=1)
    ),
    "model config with a bad value": lambda p: edit_json(
        p / "model" / "model.json", lambda d: d["config"]["ials"].update(factors="many")
    ),
    "missing bundle.json": lambda p: (p / "bundle.json").unlink(),
    "bundle.json not JSON": lambda p: (p / "bundle.json").write_text("{"),
    "bundle.json not an object": lambda p: (p / "bundle.json").write_text("[1, 2]"),
    "wrong format": lambda p: edit_json(p / "bundle.json", lambda d: d.update(format="movierecs.bundle/v0")),
    "meta n_items disagrees": lambda p: edit_json(p / "bundle.json", lambda d: d.update(n_items=d["n_items"] + 1)),
    "meta factors disagree": lambda p: edit_json(p / "bundle.json", lambda d: d.update(factors=2)),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_bundle_is_refused(bundle_dir: Path, corruption: str) -> None:
    load_bundle(bundle_dir)  # loads before the corruption
    CORRUPTIONS[corruption](bundle_dir)
    with pytest.raises(BundleValidationError):
        load_bundle(bundle_dir)


def test_not_a_bundle_folder(tmp_path: Path) -> None:
    with pytest.raises(BundleValidationError, match=r"bundle\.json is missing"):
        load_bundle(tmp_path)


# ---- BundleLoader: a folder needs no registry; a registry URI is downloaded through the port ----
class _Downloads:
    def __init__(self, folder: Path) -> None:
        self.folder, self.asked = folder, []

    def download(self, uri: str, dest: Path | None = None) -> tuple[Path, str | None]:
        self.asked.append(uri)
        return self.folder, "12"


def test_loader_reads_folders_without_building_the_registry(bundle_dir: Path) -> None:
    def no_registry() -> Any:
        raise AssertionError("a folder must not build the registry")

    loader = BundleLoader(no_registry, str(bundle_dir))
    assert loader.load().version == "local"
    with pytest.raises(DataError, match="neither a bundle folder nor a registry URI"):
        loader.load("no-such-folder")


def test_loader_resolves_registry_uris_through_the_port(bundle_dir: Path) -> None:
    registry = _Downloads(bundle_dir)
    loader = BundleLoader(lambda: registry, "models:/movierecs@champion")  # type: ignore[arg-type,return-value]
    assert loader.load().version == "12"
    assert loader.load("models:/movierecs/3").version == "12"
    assert registry.asked == ["models:/movierecs@champion", "models:/movierecs/3"]
