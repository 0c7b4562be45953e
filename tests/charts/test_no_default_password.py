"""No chart or compose default password anywhere (#15, item 4): Grafana's admin comes from a
generated Secret (not kube-prometheus-stack's `prom-operator`), the Airflow release creates no
admin/admin user, the MLflow server's backend password is in no process argument, and the
single-host MLflow asks for a login like the chart's."""

from __future__ import annotations

import base64
import re

import yaml
from chart_checks import by_kind
from chart_offline import OPERATORS_CHART, REPO

RELEASE = "movierecs"
GRAFANA_SECRET = "movierecs-grafana-admin"


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _operators_values(*files: str) -> dict:
    values = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
    for name in files:
        values = _merge(values, yaml.safe_load((OPERATORS_CHART / name).read_text()))
    return values


# ---------------------------------------------------------------- Grafana (kube-prometheus-stack)


def test_grafana_admin_comes_from_a_generated_secret(render) -> None:
    grafana = _operators_values()["kube-prometheus-stack"]["grafana"]
    # grafana chart 9.2.1 (kube-prometheus-stack 72.9.1): admin.existingSecret / userKey / passwordKey;
    # with existingSecret set it renders no admin password of its own (adminPassword: prom-operator unused)
    admin = grafana["admin"]
    assert admin["existingSecret"] == GRAFANA_SECRET
    assert "adminPassword" not in grafana
    (secret,) = [s for s in by_kind(render("operators"), "Secret") if s["metadata"]["name"] == GRAFANA_SECRET]
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert set(secret["data"]) == {admin["userKey"], admin["passwordKey"]}
    assert base64.b64decode(secret["data"][admin["userKey"]]).decode() == "admin"
    password = base64.b64decode(secret["data"][admin["passwordKey"]]).decode()
    assert len(password) >= 32
    assert password != "prom-operator"
    again = by_kind(render("operators", "--set", "grafanaAdmin.create=true"), "Secret")
    assert again[0]["data"][admin["passwordKey"]] != secret["data"][admin["passwordKey"]]  # random per render
    template = (OPERATORS_CHART / "templates" / "grafana-admin-secret.yaml").read_text()
    assert "lookup" in template, "an upgrade must keep the generated password"


def test_grafana_admin_from_your_own_secret_and_not_in_the_airflow_release(render) -> None:
    own = render(
        "operators",
        "--set",
        "grafanaAdmin.create=false,kube-prometheus-stack.grafana.admin.existingSecret=my-grafana",
    )
    assert not by_kind(own, "Secret")
    assert not by_kind(render("airflow"), "Secret")  # kube-prometheus-stack is off there


def test_operators_notes_say_how_to_read_the_grafana_password() -> None:
    notes = (OPERATORS_CHART / "templates" / "NOTES.txt").read_text()
    assert '"kube-prometheus-stack").grafana.admin' in notes
    assert "get secret {{ $admin.existingSecret }} -o jsonpath='{.data.{{ $admin.passwordKey }}}'" in notes


# ---------------------------------------------------------------- Airflow (chart 1.18.0)


def test_airflow_creates_no_default_user() -> None:
    """Chart 1.18.0 runs its create-user Job (admin/admin) when `webserver.defaultUser.enabled`."""
    airflow = _operators_values("values-airflow.yaml")["airflow"]
    assert airflow["webserver"]["defaultUser"]["enabled"] is False
    assert "password" not in airflow["webserver"]["defaultUser"]
    # users live in the metadata database (FAB auth manager), created by the operator
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert airflow["config"]["core"]["auth_manager"] == fab
    deploy = (REPO / "docs" / "deploy.md").read_text()
    assert "airflow users create" in deploy
    assert "webserver.defaultUser.enabled" in deploy


# ---------------------------------------------------------------- MLflow server (application chart)


def _mlflow(objs: list) -> dict:
    (dep,) = [d for d in by_kind(objs, "Deployment") if d["metadata"]["name"] == f"{RELEASE}-mlflow"]
    return dep["spec"]["template"]["spec"]["containers"][0]


def test_mlflow_backend_password_is_in_no_process_argument(render) -> None:
    for extra in ((), ("--set", "mlflow.auth.enabled=false")):
        container = _mlflow(render("default", *extra))
        argv = " ".join(container.get("command", []) + container["args"])
        assert "--backend-store-uri" not in argv  # mlflow server reads MLFLOW_BACKEND_STORE_URI itself
        assert "PGPASSWORD" not in argv
        env = {e["name"]: e for e in container["env"]}
        uri = env["MLFLOW_BACKEND_STORE_URI"]["value"]
        assert uri == f"postgresql://movierecs@{RELEASE}-pg-rw:5432/mlflow", uri  # libpq reads PGPASSWORD
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-pg-app"
    own = _mlflow(render("default", "--set", "mlflow.backendStore.existingSecret=my-uri"))
    assert not any("backend-store-uri" in a for a in own["args"])
    env = {e["name"]: e for e in own["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]["name"] == "my-uri"


# ---------------------------------------------------------------- compose.yaml

COMPOSE_RAW = (REPO / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_RAW)["services"]


def test_compose_mlflow_asks_for_a_login() -> None:
    mlflow = COMPOSE["mlflow"]
    argv = " ".join(mlflow["entrypoint"] + mlflow["command"])
    assert "--app-name=basic-auth" in mlflow["command"]
    assert "--backend-store-uri" not in argv
    assert "POSTGRES_PASSWORD" not in argv
    env = mlflow["environment"]
    assert env["MLFLOW_BACKEND_STORE_URI"] == "postgresql://movierecs@postgres:5432/mlflow"
    assert env["MLFLOW_AUTH_DEFAULT_PERMISSION"] == "NO_PERMISSIONS"
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "movierecs-admin"
    assert re.fullmatch(r"\$\{MLFLOW_ADMIN_PASSWORD:\?[^}]+\}", env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    assert re.fullmatch(r"\$\{MLFLOW_FLASK_SECRET_KEY:\?[^}]+\}", env["MLFLOW_FLASK_SERVER_SECRET_KEY"])
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", env["PGPASSWORD"])
    for client in ("api", "train"):
        client_env = COMPOSE[client]["environment"]
        assert client_env["MLFLOW_TRACKING_USERNAME"] == "movierecs-admin", client
        assert client_env["MLFLOW_TRACKING_PASSWORD"] == env["MLFLOW_AUTH_ADMIN_PASSWORD"], client
    for other in ("consumer", "ui"):
        assert "MLFLOW_TRACKING_PASSWORD" not in COMPOSE[other]["environment"], other


URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:(\$\{[^}]*\}|[^@\s/]+)@")


def test_compose_puts_no_password_in_a_url() -> None:
    assert URL_WITH_PASSWORD.search("clickhouse://u:${PW:?set PW in .env (see .env.example)}@host:9000/db")
    for name, service in COMPOSE.items():
        for key, value in (service.get("environment") or {}).items():
            assert not URL_WITH_PASSWORD.search(str(value)), f"{name}: {key}"
        for arg in service.get("command") or []:
            assert not URL_WITH_PASSWORD.search(str(arg)), f"{name}: {arg}"
