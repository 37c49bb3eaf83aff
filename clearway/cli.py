"""The `clearway` command: `up` runs the whole platform on this machine, `status` shows it."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearway.demo import add_commands as add_demo_commands
from clearway.sign_cli import add_commands as add_signing_commands
from risk.cli import add_commands as add_risk_commands

if TYPE_CHECKING:
    from messaging.worker import StopFlag

STATE_FILE = "clearway.json"


@dataclass
class Child:
    """One process `clearway up` runs and watches."""

    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str | None
    process: subprocess.Popen[bytes] | None = None


def _say(message: str) -> None:
    print(message, flush=True)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - loopback URL we built
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


# glibc's malloc gives the threads of a process arenas of their own (up to eight per core), and
# memory freed in one arena serves only that arena's threads: the customs API's sixteen
# submission threads each hold messages a while, and its RSS kept growing. With two arenas,
# bench.e2e at 200/s for 90 s: the customs API's RSS at the end 167 MB against 207-208, its CPU
# per declaration the same (3.11 ms in that hour). The image sets the same (Dockerfile).
MALLOC_ARENAS = "2"


def _plan(data_dir: Path, host: str, port: int, kafka_env: dict[str, str]) -> list[Child]:
    from clearway.broker import free_ports
    from clearway.registry import PUBLIC_SERVICE, SERVICES

    children: list[Child] = []
    base_env = {
        "MALLOC_ARENA_MAX": MALLOC_ARENAS,  # unless the environment says otherwise
        **os.environ,
        **kafka_env,
        "PYTHONUNBUFFERED": "1",
        **_secrets(data_dir),
    }
    # every service's API and every worker's health port, all different and none the public one
    ports = iter(free_ports(2 * len(SERVICES), avoid=(port,)))
    api_ports = {s.name: (port if s.name == PUBLIC_SERVICE else next(ports)) for s in SERVICES}
    upstream_env = {
        f"GATEWAY_{name.upper()}_URL": f"http://127.0.0.1:{p}"
        for name, p in api_ports.items()
        if name != PUBLIC_SERVICE
    }
    for spec in SERVICES:
        env = dict(base_env)
        if spec.has_database:
            env[f"{spec.env_prefix}DATABASE_URL"] = database_url(
                spec.name, spec.env_prefix, data_dir
            )
        if spec.name == PUBLIC_SERVICE:
            env.update(upstream_env)
        if spec.name == "risk":  # the learned model's folder (`clearway risk train` writes it)
            env.setdefault("RISK_MODEL_DIR", str((data_dir / "risk-models").resolve()))
        bind = host if spec.name == PUBLIC_SERVICE else "127.0.0.1"
        api_port = api_ports[spec.name]
        children.append(
            Child(
                name=f"{spec.name}-api",
                command=[
                    sys.executable,
                    "-m",
                    "clearway.serve",
                    spec.api,
                    "--host",
                    bind,
                    "--port",
                    str(api_port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env=env,
                health_url=f"http://127.0.0.1:{api_port}/health",
            )
        )
        if spec.worker:
            health_port = next(ports)
            worker_env = {**env, f"{spec.env_prefix}WORKER_HEALTH_PORT": str(health_port)}
            children.append(
                Child(
                    name=f"{spec.name}-worker",
                    command=[sys.executable, "-m", spec.worker],
                    env=worker_env,
                    health_url=f"http://127.0.0.1:{health_port}/health",
                )
            )
    # Workers first, the public gateway last: it is the one users reach.
    return sorted(children, key=lambda c: c.name.startswith("gateway"))


def _secrets(data_dir: Path) -> dict[str, str]:
    """Secrets the services need, from the environment or made once and kept in the data folder
    (the customs and gateway data keys, the first administrator's API key, and the platform's
    receipt-signing identity).

    Embedded mode only: a deployment sets them (docker-compose refuses to start without them).
    """
    from gateway.domain.credentials import new_api_key

    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    makers = {
        "CUSTOMS_DATA_KEY": lambda: secrets.token_urlsafe(48),
        "GATEWAY_DATA_KEY": lambda: secrets.token_urlsafe(48),
        "GATEWAY_ADMIN_API_KEY": lambda: new_api_key().key,
    }
    wanted = set(makers)
    for name in wanted - stored.keys():
        stored[name] = makers[name]()
    if not path.exists() or wanted - set(json.loads(path.read_text())):
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2))
    values = {name: os.environ.get(name) or stored[name] for name in wanted}
    if not os.environ.get("CUSTOMS_RECEIPT_KEY_FILE"):
        from customs.receipt_signing import make_identity

        key_file, cert_file = make_identity(data_dir)
        values["CUSTOMS_RECEIPT_KEY_FILE"] = str(key_file)
        values["CUSTOMS_RECEIPT_CERT_FILE"] = str(cert_file)
    return values


def database_url(name: str, env_prefix: str, data_dir: Path) -> str:
    """`<SERVICE>_DATABASE_URL` when set, else the service's own SQLite file in the data folder."""
    return (
        os.environ.get(f"{env_prefix}DATABASE_URL")
        or f"sqlite:///{(data_dir / f'{name}.db').resolve()}"
    )


def up(args: argparse.Namespace) -> int:
    """Start the broker (unless configured), migrate, start every service, wait, supervise."""
    from clearway.broker import free_ports, start_broker
    from clearway.database import migrate
    from clearway.processes import child_preexec, stop
    from clearway.registry import SERVICES
    from messaging.admin import ensure_topics
    from messaging.settings import KafkaSettings
    from messaging.worker import StopFlag
    from schemas.topics import TOPICS

    data_dir = Path(args.data_dir).resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stopping = StopFlag()

    def on_signal(_signum: int, _frame: object) -> None:
        stopping.set()  # nothing else here: see StopFlag

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    broker: subprocess.Popen[bytes] | None = None
    children: list[Child] = []
    try:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            kafka = KafkaSettings()
            _say(f"broker       {kafka.bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS)")
        else:
            broker_port = free_ports(1, avoid=(args.port,))[0]
            broker = start_broker(broker_port, logs / "broker.log")
            kafka = KafkaSettings.embedded(f"127.0.0.1:{broker_port}")
            _say(f"broker       embedded tansu on 127.0.0.1:{broker_port}")
        ensure_topics(kafka, TOPICS)
        _say(f"topics       {', '.join(t.name for t in TOPICS)}")
        for spec in SERVICES:
            if spec.has_database:
                migrate(spec.package, database_url(spec.name, spec.env_prefix, data_dir))
                _say(f"migrated     {spec.name}")
        children = _plan(data_dir, args.host, args.port, kafka.as_env())
        for child in children:
            log_file = open(logs / f"{child.name}.log", "ab")  # noqa: SIM115 - child owns it
            child.process = subprocess.Popen(
                child.command,
                env=child.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=child_preexec,  # noqa: PLW1509 - parent-death signal needs it
            )
            log_file.close()
        if not _wait_healthy(children, stopping, timeout_s=args.timeout, logs=logs):
            return 1
        state = {
            "pid": os.getpid(),
            "data_dir": str(data_dir),
            "url": f"http://{args.host}:{args.port}",
            "bootstrap_servers": kafka.bootstrap_servers,
            "broker_pid": broker.pid if broker is not None else None,
            "processes": [
                {
                    "name": c.name,
                    "pid": c.process.pid if c.process else None,
                    "health": c.health_url,
                }
                for c in children
            ],
        }
        (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
        _say(f"\nClearway is up in {time.monotonic() - started:.1f}s")
        _say(f"  web and API   http://{args.host}:{args.port}/")
        _say(f"  API docs      http://{args.host}:{args.port}/docs")
        _say(f"  data          {data_dir}   logs {logs}")
        _say(f"  admin API key GATEWAY_ADMIN_API_KEY in {data_dir / 'secrets.json'}")
        _say("Press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            for child in children:
                assert child.process is not None
                if child.process.poll() is not None:
                    _say(
                        f"{child.name} exited with code {child.process.returncode}; "
                        f"see {logs}/{child.name}.log"
                    )
                    return 1
        return 0
    finally:
        if children:
            _say("stopping...")
        stop(*(c.process for c in children if c.process is not None))
        if broker is not None:
            stop(broker)
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        if children:
            _say("stopped")


def _wait_healthy(
    children: Sequence[Child], stopping: StopFlag, *, timeout_s: float, logs: Path
) -> bool:
    started = time.monotonic()
    waiting = [c for c in children if c.health_url]
    _say(f"starting     {len(children)} processes: " + ", ".join(c.name for c in children))
    while waiting:
        if stopping.is_set():
            return False
        for child in list(waiting):
            assert child.process is not None and child.health_url is not None
            if child.process.poll() is not None:
                _say(
                    f"  {child.name:<16} exited with code {child.process.returncode}; "
                    f"see {logs}/{child.name}.log"
                )
                return False
            if _healthy(child.health_url):
                waiting.remove(child)
                _say(f"  {child.name:<16} healthy after {time.monotonic() - started:.1f}s")
        if time.monotonic() - started > timeout_s:
            _say("  still not healthy: " + ", ".join(c.name for c in waiting))
            return False
        time.sleep(0.1)
    return True


def status(args: argparse.Namespace) -> int:
    """Show what `clearway up` runs and whether each process answers its health check."""
    state_path = Path(args.data_dir).resolve() / STATE_FILE
    if not state_path.exists():
        _say(f"Clearway is not running (no {state_path})")
        return 1
    state: dict[str, Any] = json.loads(state_path.read_text())
    if args.json:
        state["healthy"] = {p["name"]: _healthy(p["health"]) for p in state["processes"]}
        _say(json.dumps(state, indent=2))
        return 0 if all(state["healthy"].values()) else 1
    _say(f"Clearway at {state['url']} (pid {state['pid']}), broker {state['bootstrap_servers']}")
    all_ok = True
    for proc in state["processes"]:
        ok = _healthy(proc["health"])
        all_ok &= ok
        _say(f"  {proc['name']:<16} pid {proc['pid']:<8} {'healthy' if ok else 'NOT HEALTHY'}")
    return 0 if all_ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `clearway` command."""
    parser = argparse.ArgumentParser(prog="clearway", description=__doc__)
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("CLEARWAY_DATA_DIR", "data"),
        help="where the SQLite files, logs and state live (default ./data)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="run the whole platform until Ctrl-C")
    up_parser.add_argument("--host", default=os.environ.get("CLEARWAY_HOST", "127.0.0.1"))
    up_parser.add_argument("--port", type=int, default=int(os.environ.get("CLEARWAY_PORT", "8000")))
    up_parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    up_parser.set_defaults(func=up)
    status_parser = commands.add_parser("status", help="show the running platform and its health")
    status_parser.add_argument("--json", action="store_true")
    status_parser.set_defaults(func=status)
    add_signing_commands(commands)
    add_risk_commands(commands)
    add_demo_commands(commands)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
