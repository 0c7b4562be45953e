"""`movierecs keys add/list`: a key is printed once, only its hash is stored, and the API accepts it."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from movierecs.cli import app
from movierecs.serving.security import KeyRing


def test_add_prints_the_key_once_and_stores_its_hash(tmp_path: Path) -> None:
    keys = tmp_path / "secrets" / "keys"
    runner = CliRunner()
    added = runner.invoke(app, ["keys", "add", "ui", "--scopes", "read,write", "--file", str(keys)])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("mrk_")
    assert len(key) > 40
    text = keys.read_text()
    assert key not in text
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    found = KeyRing.from_lines(text.splitlines()).lookup(key)
    assert found is not None
    assert (found.name, found.scopes) == ("ui", frozenset({"read", "write"}))
    listed = runner.invoke(app, ["keys", "list", "--file", str(keys)])
    assert listed.stdout.strip() == "ui\tread,write"
    again = runner.invoke(app, ["keys", "add", "ui", "--file", str(keys)])
    assert again.exit_code != 0  # one key per name
    bad = runner.invoke(app, ["keys", "add", "x", "--scopes", "root", "--file", str(keys)])
    assert bad.exit_code != 0


def test_a_key_from_the_cli_opens_the_api(tmp_path: Path, bundle_dir: Path) -> None:
    from movierecs.composition import build_api
    from movierecs.settings import Settings

    keys = tmp_path / "keys"
    key = CliRunner().invoke(app, ["keys", "add", "app", "--scopes", "read", "--file", str(keys)]).stdout.split()[-1]
    settings = Settings(
        home=tmp_path / "home", model_uri=str(bundle_dir), api_keys_file=keys, event_bus_url="memory://",
        interactions_url=f"chdb://{tmp_path / 'chdb'}", catalog_url=f"sqlite:///{tmp_path / 'c.sqlite'}",
        embedded_sink=False, viewer_store_reads=False,
    )  # fmt: skip
    with TestClient(build_api(settings)) as client:
        assert client.get("/v1/genres").status_code == 401
        assert client.get("/v1/genres", headers={"Authorization": f"Bearer {key}"}).status_code == 200
