"""Constants and helpers shared by the API tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

ADMIN_TOKEN = "t"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WARM_USER = 1
COLD_USER = 900_001
AppFactory = Callable[..., FastAPI]


def copy_bundle(src: Path, dest: Path, **meta_updates: Any) -> Path:
    """A copy of a bundle folder, with bundle.json fields replaced."""
    shutil.copytree(src, dest)
    if meta_updates:
        meta_path = dest / "bundle.json"
        meta = json.loads(meta_path.read_text())
        meta.update(meta_updates)
        meta_path.write_text(json.dumps(meta))
    return dest


def recs(client: TestClient, user_id: int, **params: Any) -> dict[str, Any]:
    r = client.get(f"/v1/recommendations/{user_id}", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def item_ids(body: dict[str, Any]) -> list[int]:
    return [i["item_id"] for i in body["items"]]
