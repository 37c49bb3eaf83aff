"""docker-compose.yml agrees with the service registry (parsed only: no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from clearway.registry import PUBLIC_SERVICE, SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_DIR = "/docker-entrypoint-initdb.d"

WITH_WORKER = [s for s in SERVICES if s.worker]
WITH_DATABASE = [s for s in SERVICES if s.has_database]
# Every long-running application container: (spec, container name).
APP_CONTAINERS = [(s, f"{s.name}-api") for s in SERVICES] + [
    (s, f"{s.name}-worker") for s in WITH_WORKER
]
APP_IDS = [name for _, name in APP_CONTAINERS]
DB_CONTAINERS = [(s, name) for s, name in APP_CONTAINERS if s.has_database]
DB_IDS = [name for _, name in DB_CONTAINERS]


def _ids(specs: list[ServiceSpec]) -> list[str]:
    return [s.name for s in specs]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    found = document.get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml has no services"
    return found


def _service(services: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in services, f"docker-compose.yml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict), f"service {name!r} is not a mapping"
    return service


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "service has no command"
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> condition (the short list form means service_started)."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: (cfg or {}).get("condition", "service_started") for name, cfg in depends.items()}


@pytest.mark.parametrize("spec", SERVICES, ids=_ids(list(SERVICES)))
def test_every_service_has_an_api_container_serving_its_factory(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    command = _command(_service(services, f"{spec.name}-api"))
    assert command[:3] == ["python", "-m", "clearway.serve"]  # uvicorn --factory, GC settled
    assert command[3] == spec.api
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"


@pytest.mark.parametrize("spec", WITH_WORKER, ids=_ids(WITH_WORKER))
def test_every_service_with_a_worker_has_a_worker_container_running_its_module(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    command = _command(_service(services, f"{spec.name}-worker"))
    assert command == ["python", "-m", spec.worker]


def test_every_application_container_belongs_to_a_registered_service(
    services: dict[str, Any],
) -> None:
    declared = {name for name in services if name.endswith(("-api", "-worker"))}
    assert declared == set(APP_IDS)


@pytest.mark.parametrize("spec", WITH_WORKER, ids=_ids(WITH_WORKER))
def test_workers_have_no_container_name_so_they_can_be_scaled(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    worker = _service(services, f"{spec.name}-worker")
    assert "container_name" not in worker
    assert "ports" not in worker


@pytest.mark.parametrize("spec", WITH_WORKER, ids=_ids(WITH_WORKER))
def test_worker_health_port_is_checked_inside_the_container(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    worker = _service(services, f"{spec.name}-worker")
    port = _environment(worker).get(f"{spec.env_prefix}WORKER_HEALTH_PORT")
    assert port and port.isdigit() and int(port) > 0
    healthcheck = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/health" in healthcheck


@pytest.mark.parametrize(("spec", "name"), APP_CONTAINERS, ids=APP_IDS)
def test_every_application_container_is_built_here_and_restarts(
    services: dict[str, Any], spec: ServiceSpec, name: str
) -> None:
    container = _service(services, name)
    build = container.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    assert context in (".", "./")
    assert container.get("restart") == "unless-stopped"
    assert container.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


@pytest.mark.parametrize(("spec", "name"), APP_CONTAINERS, ids=APP_IDS)
def test_every_application_container_reaches_kafka_once_it_is_healthy(
    services: dict[str, Any], spec: ServiceSpec, name: str
) -> None:
    container = _service(services, name)
    assert _environment(container).get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092"
    depends = _depends_on(container)
    assert depends.get("kafka") == "service_healthy"
    assert depends.get("kafka-topics") == "service_completed_successfully"


@pytest.mark.parametrize(("spec", "name"), DB_CONTAINERS, ids=DB_IDS)
def test_containers_of_a_service_with_a_database_use_its_own_postgres_database(
    services: dict[str, Any], spec: ServiceSpec, name: str
) -> None:
    url = _environment(_service(services, name)).get(f"{spec.env_prefix}DATABASE_URL")
    assert url, f"{name} has no {spec.env_prefix}DATABASE_URL"
    parts = urlsplit(url)
    assert parts.scheme in ("postgresql", "postgres", "postgresql+psycopg")
    assert parts.hostname == "postgres"
    assert parts.path == f"/{spec.name}"


@pytest.mark.parametrize(("spec", "name"), DB_CONTAINERS, ids=DB_IDS)
def test_containers_of_a_service_with_a_database_wait_for_postgres_and_its_migration(
    services: dict[str, Any], spec: ServiceSpec, name: str
) -> None:
    depends = _depends_on(_service(services, name))
    assert depends.get("postgres") == "service_healthy"
    assert depends.get(f"{spec.name}-migrate") == "service_completed_successfully"


@pytest.mark.parametrize("spec", WITH_DATABASE, ids=_ids(WITH_DATABASE))
def test_migrate_job_brings_the_service_database_to_head_once(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    job = _service(services, f"{spec.name}-migrate")
    script = " ".join(_command(job))
    assert "from clearway.database import migrate" in script
    assert f"migrate('{spec.package}'" in script
    assert job.get("restart") == "no"
    api_env = _environment(_service(services, f"{spec.name}-api"))
    url_key = f"{spec.env_prefix}DATABASE_URL"
    assert _environment(job).get(url_key) == api_env[url_key]
    assert _depends_on(job).get("postgres") == "service_healthy"


def test_topics_job_ensures_every_registered_topic_once_kafka_is_healthy(
    services: dict[str, Any],
) -> None:
    job = _service(services, "kafka-topics")
    script = " ".join(_command(job))
    assert "ensure_topics(KafkaSettings(), TOPICS)" in script
    assert job.get("restart") == "no"
    assert _environment(job).get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092"
    assert _depends_on(job).get("kafka") == "service_healthy"


@pytest.mark.parametrize(
    "spec",
    [s for s in SERVICES if s.name != PUBLIC_SERVICE],
    ids=_ids([s for s in SERVICES if s.name != PUBLIC_SERVICE]),
)
def test_gateway_knows_the_url_of_every_other_service_api_and_waits_for_it(
    services: dict[str, Any], spec: ServiceSpec
) -> None:
    gateway = _service(services, f"{PUBLIC_SERVICE}-api")
    url = _environment(gateway).get(f"GATEWAY_{spec.name.upper()}_URL")
    assert url == f"http://{spec.name}-api:8000"
    assert _depends_on(gateway).get(f"{spec.name}-api") == "service_healthy"


def test_only_the_gateway_publishes_a_port(services: dict[str, Any]) -> None:
    publishing = {name for name, service in services.items() if service.get("ports")}
    assert publishing == {f"{PUBLIC_SERVICE}-api"}
    assert [str(p) for p in services[f"{PUBLIC_SERVICE}-api"]["ports"]] == ["8000:8000"]


def test_kafka_runs_a_single_kraft_node_without_zookeeper(services: dict[str, Any]) -> None:
    kafka = _service(services, "kafka")
    assert kafka.get("image") == "apache/kafka:3.9.0"
    env = _environment(kafka)
    assert set(env.get("KAFKA_PROCESS_ROLES", "").split(",")) == {"broker", "controller"}
    node_id = env.get("KAFKA_NODE_ID")
    assert node_id
    assert env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").startswith(f"{node_id}@kafka:")
    assert env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "1"
    assert env.get("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR") == "1"
    assert env.get("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR") == "1"
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "").lower() == "false"
    assert "PLAINTEXT://kafka:9092" in env.get("KAFKA_ADVERTISED_LISTENERS", "")
    assert kafka.get("healthcheck", {}).get("test")
    assert not any("ZOOKEEPER" in key for key in env)
    assert not [
        name
        for name, service in services.items()
        if "zookeeper" in name or "zookeeper" in str(service.get("image", ""))
    ]


def test_postgres_init_script_creates_a_database_for_each_service_with_one(
    services: dict[str, Any],
) -> None:
    postgres = _service(services, "postgres")
    assert str(postgres.get("image")).startswith("postgres:16")
    assert postgres.get("healthcheck", {}).get("test")
    scripts = [
        ROOT / str(volume).split(":")[0]
        for volume in postgres.get("volumes", [])
        if str(volume).split(":")[1].startswith(INIT_DIR)
    ]
    assert scripts, f"postgres mounts nothing into {INIT_DIR}"
    sql = "\n".join(path.read_text() for path in scripts)
    created = set(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", sql, flags=re.IGNORECASE))
    assert created >= {s.name for s in WITH_DATABASE}
