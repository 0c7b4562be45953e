"""Tested like an attacker: keys and scopes, the per-key rate limit, bounded bodies, a reload that
reads no local path and fetches no arbitrary URI, events from the future, no secrets in errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_helpers import ADMIN_TOKEN, WARM_USER, AppFactory

from movierecs.exceptions import DataError
from movierecs.serving.security import KeyRing, key_hash

KEYS = {
    "reader": ("read", "r-" + "1" * 30),
    "writer": ("read,write", "w-" + "2" * 30),
    "ops": ("admin", "a-" + "3" * 30),
}
LIKE = {"user_id": 5, "item_id": 50, "type": "like"}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][1]}"}


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    lines = ["# name scopes sha256", ""] + [f"{n} {scopes} {key_hash(key)}" for n, (scopes, key) in KEYS.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def secured(make_app: AppFactory, keys_file: Path) -> Iterator[TestClient]:
    with TestClient(make_app(api_keys_file=keys_file)) as client:
        yield client


def test_without_a_key_every_v1_route_is_401_and_ops_stay_open(secured: TestClient) -> None:
    for method, path in [("GET", f"/v1/recommendations/{WARM_USER}"), ("GET", "/v1/items/50/similar"),
                         ("GET", "/v1/genres"), ("POST", "/v1/events"), ("PUT", "/v1/users/5"),
                         ("POST", "/v1/admin/reload")]:  # fmt: skip
        r = secured.request(method, path, json=LIKE if method != "GET" else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "reader" not in r.text
        assert "writer" not in r.text
    wrong = secured.get(f"/v1/recommendations/{WARM_USER}", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert secured.get(path).status_code == 200, path


def test_scopes_decide_what_a_key_may_do(secured: TestClient) -> None:
    assert secured.get(f"/v1/recommendations/{WARM_USER}", headers=bearer("reader")).status_code == 200
    denied = secured.post("/v1/events", json=LIKE, headers=bearer("reader"))
    assert denied.status_code == 403
    assert "write" in denied.json()["detail"]
    assert secured.post("/v1/events", json=LIKE, headers=bearer("writer")).status_code == 202
    assert secured.put("/v1/users/5", json={"age": 30}, headers=bearer("writer")).status_code == 200
    assert secured.post("/v1/admin/reload", headers=bearer("writer")).status_code == 403
    assert secured.get("/v1/genres", headers=bearer("ops")).status_code == 403  # admin is not read


def test_the_admin_token_is_an_admin_key(secured: TestClient) -> None:
    token = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert secured.get(f"/v1/recommendations/{WARM_USER}", headers=token).status_code == 200
    assert secured.post("/v1/events", json=LIKE, headers=token).status_code == 202


def test_each_key_is_rate_limited(make_app: AppFactory, keys_file: Path) -> None:
    with TestClient(make_app(api_keys_file=keys_file, rate_limit_per_s=0.5, rate_limit_burst=3)) as client:
        codes = [client.get("/v1/genres", headers=bearer("reader")).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = client.get("/v1/genres", headers=bearer("reader"))
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["detail"]
        assert client.get("/v1/genres", headers=bearer("writer")).status_code == 200  # its own bucket


def test_without_a_keys_file_v1_is_open_but_admin_is_not(client: TestClient) -> None:
    assert client.post("/v1/events", json=LIKE).status_code == 202
    assert client.post("/v1/admin/reload").status_code == 401


@pytest.mark.parametrize("bad", ["reader read", "reader read,delete " + "0" * 64, "reader read nothex",
                                 "bad name read " + "0" * 64])  # fmt: skip
def test_a_malformed_keys_file_is_refused_naming_the_line_only(bad: str) -> None:
    with pytest.raises(DataError, match="line 2") as caught:
        KeyRing.from_lines(["# header", bad])
    assert bad not in str(caught.value)


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    big = b"[" + b",".join([json.dumps(LIKE).encode()] * 70_000) + b"]"
    assert len(big) > 3 * 2**20  # 3 MB: over the 2 MiB default, announced by Content-Length
    r = client.post("/v1/events", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(200_000):  # would be ~10 MB: the API stops reading at 2 MiB
            yield json.dumps(LIKE).encode() + b","
        yield b"{}]"

    r = client.post("/v1/events", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"]


@pytest.mark.parametrize("ref", ["file:///etc", "/etc", "/etc/passwd", "http://169.254.169.254/latest",
                                 "runs:/abc/bundle", "models:/other-model/1", "s3://bucket/key"])  # fmt: skip
def test_reload_accepts_only_registry_uris_of_the_served_model(make_app: AppFactory, ref: str) -> None:
    with TestClient(make_app(allow_local_models=False)) as client:
        r = client.post("/v1/admin/reload", json={"model": ref}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 422, r.text
        assert "root:" not in r.text
        assert "/etc" not in r.json()["detail"]


def test_a_refused_reload_says_nothing_of_the_exception_or_path(client: TestClient, tmp_path: Path) -> None:
    broken = tmp_path / "secret-folder-name"
    broken.mkdir()
    (broken / "bundle.json").write_text("{")
    r = client.post("/v1/admin/reload", json={"model": str(broken)}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 409
    assert "secret-folder-name" not in r.text
    assert "JSON" not in r.text


def test_events_dated_more_than_five_minutes_ahead_are_refused(client: TestClient) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    later = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
    assert client.post("/v1/events", json={**LIKE, "ts": soon}).status_code == 202
    r = client.post(
        "/v1/events", json=[{**LIKE, "ts": soon}, {**LIKE, "ts": "2100-01-01T00:00:00Z"}, {**LIKE, "ts": later}]
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 1, "ts"], ["body", 2, "ts"]]


def test_the_openapi_document_declares_the_scopes(secured: TestClient) -> None:
    spec = secured.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    paths = spec["paths"]
    assert paths["/v1/events"]["post"]["security"] == [{"apiKey": ["write"]}]
    assert paths["/v1/recommendations/{user_id}"]["get"]["security"] == [{"apiKey": ["read"]}]
    assert "401" in paths["/v1/events"]["post"]["responses"]
    assert "security" not in paths["/healthz"]["get"]


def test_keys_files_never_hold_a_key(keys_file: Path) -> None:
    text = keys_file.read_text()
    assert all(key not in text for _, key in KEYS.values())
