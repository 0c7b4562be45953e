"""The local stack contract (DESIGN.md §3): after ``make stack-up`` (``scripts/stack.sh up``),
``.stack/env`` names every service, each ``.stack/pids/<service>.pid`` is a live process and each
server answers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK = Path(os.environ.get("MOVIERECS_STACK_DIR", REPO / ".stack"))
ENV_FILE = STACK / "env"
REQUIRED = ("MOVIERECS_CATALOG_URL", "MOVIERECS_INTERACTIONS_URL", "MOVIERECS_EVENT_BUS_URL", "MLFLOW_TRACKING_URI")
SERVERS = ("postgres", "clickhouse", "kafka", "mlflow")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not ENV_FILE.is_file(), reason=f"{ENV_FILE} missing: run `make stack-up` first"),
]


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    env = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_env_names_every_service(stack_env: dict[str, str]) -> None:
    for key in REQUIRED:
        assert key in stack_env, f"{key} missing from {ENV_FILE}"
    assert stack_env["MOVIERECS_CATALOG_URL"].startswith("postgresql://")
    assert stack_env["MOVIERECS_INTERACTIONS_URL"].startswith("clickhouse://")
    assert stack_env["MOVIERECS_EVENT_BUS_URL"].startswith("kafka://")
    assert stack_env["MLFLOW_TRACKING_URI"].startswith("http://")
    assert stack_env.get("MLFLOW_REGISTRY_URI") == stack_env["MLFLOW_TRACKING_URI"]
    for key in REQUIRED:
        assert urlsplit(stack_env[key]).hostname == "127.0.0.1", f"{key} must stay on loopback"


@pytest.mark.parametrize("service", SERVERS)
def test_pid_files_point_at_live_processes(service: str) -> None:
    pid_file = STACK / "pids" / f"{service}.pid"
    assert pid_file.is_file(), f"{pid_file} missing"
    pid = int(pid_file.read_text().split()[0])
    os.kill(pid, 0)  # raises if no such process
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    expected = {"postgres": "postgres", "clickhouse": "clickhouse", "kafka": "tansu", "mlflow": "mlflow"}[service]
    assert expected in cmdline, f"pid {pid} of {service} runs {cmdline!r}"


def test_postgres_answers(stack_env: dict[str, str]) -> None:
    import asyncpg

    async def go() -> str:
        conn = await asyncpg.connect(
            stack_env["MOVIERECS_CATALOG_URL"], password=stack_env.get("PGPASSWORD"), timeout=5
        )
        try:
            return str(await conn.fetchval("SELECT version()"))
        finally:
            await conn.close()

    assert "PostgreSQL" in asyncio.run(go())


def test_clickhouse_answers(stack_env: dict[str, str]) -> None:
    from clickhouse_driver import Client

    parts = urlsplit(stack_env["MOVIERECS_INTERACTIONS_URL"])
    client = Client(
        host=parts.hostname,
        port=parts.port,
        user=parts.username or "default",
        password=stack_env.get("CLICKHOUSE_PASSWORD", ""),
        connect_timeout=5,
    )
    try:
        ((version,),) = client.execute("SELECT version()")
    finally:
        client.disconnect()
    assert version


def test_kafka_answers(stack_env: dict[str, str]) -> None:
    from aiokafka import AIOKafkaProducer

    bootstrap = stack_env["MOVIERECS_EVENT_BUS_URL"].removeprefix("kafka://")

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, request_timeout_ms=5000)
        await producer.start()  # fetches cluster metadata: fails if the broker does not answer
        try:
            brokers = producer.client.cluster.brokers()
            assert brokers, "broker returned no metadata"
            assert all(b.host == "127.0.0.1" for b in brokers), "advertised listener must be 127.0.0.1"
        finally:
            await producer.stop()

    asyncio.run(go())


def test_mlflow_answers(stack_env: dict[str, str]) -> None:
    uri = stack_env["MLFLOW_TRACKING_URI"]
    with urllib.request.urlopen(f"{uri}/health", timeout=5) as resp:
        assert resp.status == 200
    req = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/experiments/search",
        data=b'{"max_results": 1}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_prometheus_answers_when_started(stack_env: dict[str, str]) -> None:
    if not (STACK / "pids" / "prometheus.pid").is_file():
        pytest.skip("prometheus is not part of this stack (MOVIERECS_STACK_SERVICES)")
    url = stack_env["MOVIERECS_PROMETHEUS_URL"]
    assert urlsplit(url).hostname == "127.0.0.1"
    with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as resp:
        assert resp.status == 200


def test_status_reports_every_service_up() -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "MOVIERECS_STACK_SERVICES"}
    if not (STACK / "pids" / "prometheus.pid").is_file():
        env["MOVIERECS_STACK_SERVICES"] = " ".join(SERVERS)
    result = subprocess.run(
        [str(REPO / "scripts" / "stack.sh"), "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for service in SERVERS:
        assert f"{service}" in result.stdout


def test_stack_prometheus_config_is_valid_and_scrapes_the_app() -> None:
    import shutil
    import subprocess

    import yaml

    config = REPO / "scripts" / "stack" / "prometheus.yml"
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-system.sh installs Debian's prometheus"
    check = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    jobs = {job["job_name"] for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert {"movierecs-api", "movierecs-consumer"} <= jobs


# ---- credentials (#15): the app users authenticate; .stack/env has passwords, its URLs none -----
def test_env_passes_passwords_beside_urls_without_them(stack_env: dict[str, str]) -> None:
    catalog, interactions = (
        urlsplit(stack_env["MOVIERECS_CATALOG_URL"]),
        urlsplit(stack_env["MOVIERECS_INTERACTIONS_URL"]),
    )
    assert (catalog.username, catalog.password) == ("movierecs", None)
    assert (interactions.username, interactions.password) == ("movierecs", None)
    assert len(stack_env.get("PGPASSWORD", "")) >= 16
    assert len(stack_env.get("CLICKHOUSE_PASSWORD", "")) >= 16
    assert ENV_FILE.stat().st_mode & 0o077 == 0, f"{ENV_FILE} holds passwords: mode 600"


def test_postgres_refuses_the_app_role_without_its_password(stack_env: dict[str, str]) -> None:
    import asyncpg

    async def go(password: str) -> None:
        conn = await asyncpg.connect(stack_env["MOVIERECS_CATALOG_URL"], password=password, timeout=5)
        await conn.close()

    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(go("not-the-password"))
    admin = urlsplit(stack_env["MOVIERECS_CATALOG_URL"])._replace(
        netloc=f"postgres@127.0.0.1:{urlsplit(stack_env['MOVIERECS_CATALOG_URL']).port}"
    )
    with pytest.raises(asyncpg.InvalidPasswordError):  # the superuser has a password too
        asyncio.run(asyncpg.connect(admin.geturl(), password=stack_env["PGPASSWORD"], timeout=5))


def test_clickhouse_refuses_the_app_user_without_its_password(stack_env: dict[str, str]) -> None:
    from clickhouse_driver import Client, errors

    parts = urlsplit(stack_env["MOVIERECS_INTERACTIONS_URL"])
    for password in ("", "not-the-password"):
        client = Client(host=parts.hostname, port=parts.port, user="movierecs", password=password, connect_timeout=5)
        with pytest.raises(errors.ServerException) as caught:
            client.execute("SELECT 1")
        assert caught.value.code in (193, 194, 516)


def test_movierecs_commands_authenticate_from_the_env(stack_env: dict[str, str], tmp_path: Path) -> None:
    """A `movierecs` process gets the URLs and passwords from .stack/env only (Settings reads them)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "CLICKHOUSE_PASSWORD")}
    env.update(stack_env)
    env["MOVIERECS_HOME"] = str(tmp_path)
    script = (
        "import asyncio\n"
        "from movierecs.composition import training_ports\n"
        "from movierecs.settings import Settings\n"
        "ports = training_ports(Settings())\n"
        "print('stored', ports.stored_interactions())\n"
        "async def users():\n"
        "    cat = ports.catalog()\n"
        "    try:\n"
        "        await cat.migrate()\n"
        "        return len(await cat.users())\n"
        "    finally:\n"
        "        await cat.close()\n"
        "print('users', asyncio.run(users()))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stored" in result.stdout
    assert "users" in result.stdout
