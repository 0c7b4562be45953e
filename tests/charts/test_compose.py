"""compose.yaml: the single-host stack runs the chart's image and commands, with healthchecks,
named volumes and no default password; Debian's docker-compose (1.29) validates it offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_checks import by_kind
from chart_offline import REPO

COMPOSE_FILE = REPO / "compose.yaml"
RAW = COMPOSE_FILE.read_text()
COMPOSE = yaml.safe_load(RAW)
SERVICES = COMPOSE["services"]
ONE_SHOT = {"train", "kafka-topics", "volume-owner"}
SECRETS = [
    "POSTGRES_PASSWORD",
    "CLICKHOUSE_PASSWORD",
    "MOVIERECS_ADMIN_TOKEN",
    "GRAFANA_ADMIN_PASSWORD",
    "MLFLOW_ADMIN_PASSWORD",
    "MLFLOW_FLASK_SECRET_KEY",
]


def _container(objs: list[dict], suffix: str) -> dict:
    dep = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith(suffix))
    return dep["spec"]["template"]["spec"]["containers"][0]


def test_every_part_of_the_platform_is_a_service() -> None:
    expected = {
        "api",
        "consumer",
        "ui",
        "mlflow",
        "kafka",
        "clickhouse",
        "postgres",
        "prometheus",
        "grafana",
        "loki",
        "alloy",
    }
    assert expected | ONE_SHOT <= set(SERVICES)
    kafka = SERVICES["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller", "one KRaft broker, no ZooKeeper"


def test_same_image_and_commands_as_the_chart(render) -> None:
    objs = render("default")  # MLflow with its basic-auth app, in both
    for service, suffix in (("api", "-api"), ("consumer", "-consumer"), ("ui", "-ui")):
        assert SERVICES[service]["command"] == _container(objs, suffix)["args"], service
        assert SERVICES[service]["image"] == SERVICES["train"]["image"]
    mlflow = _container(objs, "-mlflow")
    # the same start script ($$ is compose's escape of a literal $)
    assert [a.replace("$$", "$") for a in SERVICES["mlflow"]["entrypoint"]] == mlflow["command"]
    shared = [a for a in mlflow["args"] if not a.startswith(("--allowed-hosts", "--workers"))]
    assert shared == [a for a in SERVICES["mlflow"]["command"] if a in shared]
    assert len(shared) == len(SERVICES["mlflow"]["command"]) - 2
    chart_mlflow_env = {e["name"] for e in mlflow["env"]}
    assert chart_mlflow_env == set(SERVICES["mlflow"]["environment"])
    # compose's api serves one host without a keys file (see compose.yaml)
    unshared = {"MOVIERECS_API_KEYS_FILE"}
    chart_env = {e["name"] for e in _container(objs, "-api")["env"]} - unshared
    missing = chart_env - set(SERVICES["api"]["environment"])
    assert not missing, f"the chart's api gets {missing}, compose does not"
    job = SERVICES["train"]["command"][0]
    assert re.search(r"movierecs load --dataset \S+ && movierecs train --register && movierecs promote", job)


def test_healthchecks_and_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
            assert service.get("restart") == "unless-stopped", name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not a named volume"
    for store, path in {
        "postgres": "/var/lib/postgresql/data",
        "clickhouse": "/var/lib/clickhouse",
        "kafka": "/var/lib/kafka/data",
        "mlflow": "/mlflow/artifacts",
        "prometheus": "/prometheus",
        "loki": "/loki",
        "grafana": "/var/lib/grafana",
    }.items():
        assert any(v.split(":")[1] == path and v.split(":")[0] in declared for v in SERVICES[store]["volumes"]), store
    grafana = SERVICES["grafana"]["volumes"]
    assert "./charts/movierecs/dashboards:/var/lib/grafana/dashboards/movierecs:ro" in grafana
    provider = yaml.safe_load((REPO / "compose/grafana/provisioning/dashboards/movierecs.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/movierecs"


def test_no_default_password() -> None:
    """Each secret is required (`${VAR:?...}`); .env.example lists them all, empty."""
    for var in SECRETS:
        uses = re.findall(rf"\$\{{{var}([^}}]*)\}}", RAW)
        assert uses, var
        assert all(u.startswith(":?") for u in uses), f"{var} has a default or is optional: {uses}"
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert {k: example.get(k) for k in SECRETS} == dict.fromkeys(SECRETS, "")
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_movierecs_services_run_like_the_chart_pods() -> None:
    for name in ("api", "consumer", "ui", "mlflow", "train"):
        service = SERVICES[name]
        assert service["user"] == "10001:10001", name
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name


@pytest.fixture(scope="module")
def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if not binary:
        pytest.skip("docker-compose missing: scripts/install-system.sh installs it (Debian package docker-compose)")
    return binary


def _config(binary: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("COMPOSE_")}
    return subprocess.run(
        [binary, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )


def test_docker_compose_config_validates(docker_compose: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{var}=x{i}\n" for i, var in enumerate(SECRETS)))
    proc = _config(docker_compose, env_file)
    assert proc.returncode == 0, proc.stderr


def test_docker_compose_refuses_to_run_without_the_secrets(docker_compose: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("")
    proc = _config(docker_compose, env_file)
    assert proc.returncode != 0
    assert "Missing mandatory value" in proc.stderr
