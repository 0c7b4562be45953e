"""POST /v1/admin/reload: bearer token, atomic swap, refusal of bad bundles, no failures under load."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_helpers import AUTH, WARM_USER, AppFactory, copy_bundle


def version_served(client: TestClient) -> str:
    r = client.get(f"/v1/recommendations/{WARM_USER}")
    assert r.status_code == 200, r.text
    version: str = r.json()["model_version"]
    return version


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dDp0"},
        {"Authorization": "t"},
    ],
)
def test_reload_without_valid_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    before = version_served(client)
    r = client.post("/v1/admin/reload", headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["detail"]
    assert version_served(client) == before


@pytest.mark.parametrize("token", [None, ""])
def test_reload_without_configured_token_is_403(make_app: AppFactory, token: str | None) -> None:
    with TestClient(make_app(admin_token=token), raise_server_exceptions=False) as client:
        for headers in ({}, AUTH, {"Authorization": "Bearer "}):
            r = client.post("/v1/admin/reload", headers=headers)
            assert r.status_code == 403, r.text
            assert r.json()["detail"]


def test_reload_with_token(client: TestClient) -> None:
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version": "local", "previous_version": "local"}


def test_reload_swaps_to_another_bundle(client: TestClient, bundle_dir: Path, tmp_path: Path) -> None:
    other = copy_bundle(bundle_dir, tmp_path / "v2", version="v2")
    assert version_served(client) == "local"
    r = client.post("/v1/admin/reload", headers=AUTH, json={"model": str(other)})
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version": "v2", "previous_version": "local"}
    assert version_served(client) == "v2"
    assert client.get("/v1/items/1/similar").json()["model_version"] == "v2"
    # no body: back to the configured model
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version": "local", "previous_version": "v2"}
    assert version_served(client) == "local"


def _truncate_state(path: Path) -> None:
    state = path / "model" / "state.npz"
    state.write_bytes(state.read_bytes()[:1000])


def _bad_n_items(path: Path) -> None:
    meta = json.loads((path / "bundle.json").read_text())
    meta["n_items"] += 1
    (path / "bundle.json").write_text(json.dumps(meta))


def _bad_json(path: Path) -> None:
    (path / "bundle.json").write_text("{not json")


def _no_meta(path: Path) -> None:
    (path / "bundle.json").unlink()


def _bad_format(path: Path) -> None:
    meta = json.loads((path / "bundle.json").read_text())
    meta["format"] = "something/v9"
    (path / "bundle.json").write_text(json.dumps(meta))


def _no_state(path: Path) -> None:
    (path / "model" / "state.npz").unlink()


def _bad_model_json(path: Path) -> None:
    (path / "model" / "model.json").write_text("[]")


@pytest.mark.parametrize(
    "corrupt", [_truncate_state, _bad_n_items, _bad_json, _no_meta, _bad_format, _no_state, _bad_model_json]
)
def test_bad_bundle_is_refused_and_old_model_keeps_serving(
    client: TestClient, bundle_dir: Path, tmp_path: Path, corrupt: object
) -> None:
    bad = copy_bundle(bundle_dir, tmp_path / "bad", version="bad")
    corrupt(bad)  # type: ignore[operator]
    before = client.get(f"/v1/recommendations/{WARM_USER}").json()
    r = client.post("/v1/admin/reload", headers=AUTH, json={"model": str(bad)})
    assert r.status_code == 409, r.text
    assert r.json()["detail"]
    after = client.get(f"/v1/recommendations/{WARM_USER}")
    assert after.status_code == 200
    assert after.json() == before
    metrics = client.get("/metrics").text
    assert 'movierecs_reloads_total{result="refused"} 1.0' in metrics


@pytest.mark.parametrize("model", ["/nonexistent/bundle", "models:/movierecs@no-such-alias", "models:/movierecs/99"])
def test_reload_of_missing_model_is_refused(client: TestClient, model: str) -> None:
    r = client.post("/v1/admin/reload", headers=AUTH, json={"model": model})
    assert r.status_code in (409, 503), r.text
    assert r.json()["detail"]
    assert version_served(client) == "local"


@pytest.mark.parametrize("body", [b"{bad", b'{"model": 5}', b'{"modle": "x"}', b"[]"])
def test_reload_bad_body_is_422(client: TestClient, body: bytes) -> None:
    r = client.post("/v1/admin/reload", headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_no_request_fails_during_reloads(client: TestClient, bundle_dir: Path, tmp_path: Path) -> None:
    """GETs from 6 threads keep going (at least 200 of them) for as long as 6 reloads take."""
    other = copy_bundle(bundle_dir, tmp_path / "v2", version="v2")
    results: list[tuple[int, str, int, int]] = []
    lock = threading.Lock()
    reloads_done = threading.Event()

    def get_loop(worker: int) -> None:
        n = worker
        while not (reloads_done.is_set() and len(results) >= 200) and len(results) < 5000:
            user = WARM_USER + n % 50 if n % 3 else 900_000 + n
            k = 5 + n % 10
            r = client.get(f"/v1/recommendations/{user}", params={"k": k})
            body = r.json() if r.status_code == 200 else {}
            with lock:
                results.append((r.status_code, str(body.get("model_version")), len(body.get("items", [])), k))
            n += 6

    def reload_loop() -> list[int]:
        codes = []
        try:
            while len(results) < 20:  # under load from the start
                reloads_done.wait(0.01)
            for n in range(6):
                body = {"model": str(other)} if n % 2 == 0 else None
                codes.append(client.post("/v1/admin/reload", headers=AUTH, json=body).status_code)
        finally:
            reloads_done.set()
        return codes

    with ThreadPoolExecutor(max_workers=7) as pool:
        reloads = pool.submit(reload_loop)
        getters = [pool.submit(get_loop, w) for w in range(6)]
        for g in getters:
            g.result()
        codes = reloads.result()
    assert codes == [200] * 6, codes
    assert len(results) >= 200
    bad = [r for r in results if r[0] != 200 or r[2] != r[3]]
    assert not bad, f"{len(bad)} of {len(results)} requests failed during reloads: {bad[:5]}"
    assert {r[1] for r in results} == {"local", "v2"}, "the reloads did not overlap the requests"
