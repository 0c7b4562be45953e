"""Secrets of the rendered chart (#15): each mounted only where it is used, API keys on by default,
MLflow behind its basic-auth app and reachable only from its clients, no password in any URL."""

from __future__ import annotations

import base64
import hashlib

from chart_checks import by_kind

RELEASE = "movierecs"


def _deployments(objs: list) -> dict[str, dict]:
    return {
        d["metadata"]["name"].removeprefix(f"{RELEASE}-"): d["spec"]["template"]["spec"]
        for d in by_kind(objs, "Deployment")
    }


def _secrets_used(pod: dict) -> set[str]:
    names = set()
    for container in pod.get("initContainers", []) + pod["containers"]:
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
        for src in container.get("envFrom", []):
            if "secretRef" in src:
                names.add(src["secretRef"]["name"])
    names |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    return names


def _env(pod: dict) -> dict[str, dict]:
    return {e["name"]: e for e in pod["containers"][0].get("env", [])}


def test_each_secret_is_mounted_only_where_it_is_used(render) -> None:
    pods = _deployments(render("default"))
    used = {name: _secrets_used(pod) for name, pod in pods.items()}
    assert used["api"] == {
        f"{RELEASE}-admin-token",
        f"{RELEASE}-api-keys",
        f"{RELEASE}-clickhouse",
        f"{RELEASE}-pg-app",
        f"{RELEASE}-mlflow-auth",
    }
    assert used["consumer"] == {f"{RELEASE}-clickhouse"}  # the store only: no admin token, catalog or registry
    assert used["operator"] == {f"{RELEASE}-mlflow-auth"}  # the registry only: it patches Deployments
    assert used["ui"] == {f"{RELEASE}-api-clients"}  # its own API key, nothing else
    assert used["mlflow"] == {f"{RELEASE}-pg-app", f"{RELEASE}-mlflow-auth"}
    tests = {p["metadata"]["name"]: _secrets_used(p["spec"]) for p in by_kind(render("default"), "Pod")}
    assert tests[f"{RELEASE}-test-api"] == {f"{RELEASE}-api-clients"}
    assert _env(pods["ui"])["MOVIERECS_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "ui"


def test_stores_get_their_passwords_from_variables_not_urls(render) -> None:
    pods = _deployments(render("default"))
    for name in ("api", "consumer"):
        env = _env(pods[name])
        url = env["MOVIERECS_INTERACTIONS_URL"]["value"]
        assert url == f"clickhouse://movierecs@clickhouse-{RELEASE}-ch:9000/movierecs", url
        assert env["CLICKHOUSE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-clickhouse"
    api = _env(pods["api"])
    assert "@" in api["MOVIERECS_CATALOG_URL"]["value"]
    assert ":" not in api["MOVIERECS_CATALOG_URL"]["value"].split("//")[1].split("@")[0]
    assert "secretKeyRef" in api["PGPASSWORD"]["valueFrom"]


def test_api_keys_are_on_by_default_with_a_generated_keys_file(render) -> None:
    objs = render("default")
    api = _deployments(objs)["api"]
    env = _env(api)
    assert env["MOVIERECS_API_KEYS_FILE"]["value"] == "/etc/movierecs/api-keys/keys"
    (mount,) = [m for m in api["containers"][0]["volumeMounts"] if m["name"] == "api-keys"]
    assert mount["mountPath"] == "/etc/movierecs/api-keys"
    assert mount["readOnly"] is True
    (volume,) = [v for v in api["volumes"] if v["name"] == "api-keys"]
    assert volume["secret"]["secretName"] == f"{RELEASE}-api-keys"
    assert volume["secret"]["items"] == [{"key": "keys", "path": "keys"}]
    secrets = {s["metadata"]["name"]: s for s in by_kind(objs, "Secret")}
    clients = {k: base64.b64decode(v).decode() for k, v in secrets[f"{RELEASE}-api-clients"]["data"].items()}
    assert set(clients) == {"admin", "ui", "helm-test"}
    assert all(len(key) >= 32 for key in clients.values())
    assert len(set(clients.values())) == 3
    lines = secrets[f"{RELEASE}-api-keys"]["stringData"]["keys"].strip().splitlines()
    expected = {
        "admin": "read,write,admin",
        "ui": "read,write",
        "helm-test": "read",
    }
    parsed = {name: (scopes, digest) for name, scopes, digest in (line.split() for line in lines)}
    assert {name: scopes for name, (scopes, _) in parsed.items()} == expected
    for name, (_, digest) in parsed.items():
        assert digest == hashlib.sha256(clients[name].encode()).hexdigest()
        assert clients[name] not in secrets[f"{RELEASE}-api-keys"]["stringData"]["keys"]


def test_api_keys_from_an_existing_secret_and_off(render) -> None:
    objs = render("default", "--set", "apiKeys.existingSecret=my-keys,apiKeys.clientsSecretName=my-clients")
    names = {s["metadata"]["name"] for s in by_kind(objs, "Secret")}
    assert not names & {f"{RELEASE}-api-keys", f"{RELEASE}-api-clients"}
    pods = _deployments(objs)
    assert "my-keys" in _secrets_used(pods["api"])
    assert _secrets_used(pods["ui"]) == {"my-clients"}
    off = _deployments(render("default", "--set", "apiKeys.enabled=false"))
    assert "MOVIERECS_API_KEYS_FILE" not in _env(off["api"])
    assert "MOVIERECS_API_KEY" not in _env(off["ui"])


def test_mlflow_runs_its_basic_auth_app_and_clients_log_in(render) -> None:
    objs = render("default")
    pods = _deployments(objs)
    mlflow = pods["mlflow"]["containers"][0]
    assert "--app-name=basic-auth" in mlflow["args"]
    assert mlflow["command"][:2] == ["sh", "-c"]
    assert "exec mlflow" in mlflow["command"][2]
    env = _env(pods["mlflow"])
    for name in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-mlflow-auth", name
    assert env["MLFLOW_AUTH_DEFAULT_PERMISSION"]["value"] == "NO_PERMISSIONS"
    for client in ("api", "operator"):
        client_env = _env(pods[client])
        for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            assert client_env[name]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-mlflow-auth"
    assert "MLFLOW_TRACKING_PASSWORD" not in _env(pods["consumer"])
    (auth,) = [s for s in by_kind(objs, "Secret") if s["metadata"]["name"] == f"{RELEASE}-mlflow-auth"]
    assert len(base64.b64decode(auth["data"]["password"])) >= 32  # random, no chart default
    plain = _deployments(render("default", "--set", "mlflow.auth.enabled=false"))
    assert "--app-name=basic-auth" not in plain["mlflow"]["containers"][0]["args"]
    assert "MLFLOW_TRACKING_PASSWORD" not in _env(plain["api"])


def test_only_the_api_the_operator_and_the_trainer_reach_mlflow(render) -> None:
    for profile in ("default", "kind", "production"):
        (policy,) = [p for p in by_kind(render(profile), "NetworkPolicy") if p["metadata"]["name"].endswith("-mlflow")]
        (rule,) = policy["spec"]["ingress"]
        peers = [peer["podSelector"]["matchLabels"] for peer in rule["from"]]
        assert all("namespaceSelector" not in peer for peer in rule["from"])
        names = {p.get("app.kubernetes.io/name") for p in peers}
        assert names == {f"{RELEASE}-api", f"{RELEASE}-operator", None}, peers
        assert {"app.kubernetes.io/part-of": "movierecs", "app.kubernetes.io/managed-by": "airflow"} in peers
        assert {} not in peers  # not every pod of the namespace


def test_notes_tell_how_to_read_the_generated_admin_key() -> None:
    from chart_offline import CHART

    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert 'include "movierecs.apiClientsSecret" .' in notes
    assert "jsonpath='{.data.admin}'" in notes
    assert "apiKeys.enabled=false: /v1 is open" in notes
