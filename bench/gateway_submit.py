"""The gateway's submit path alone: CPU per declaration of the gateway API process.

    .venv/bin/python -m bench.gateway_submit [--declarations 2000] [--per-tick 1000]
    .venv/bin/python -m bench.gateway_submit --per-tick 12        # e2e --rate 50's message sizes
    .venv/bin/python -m bench.gateway_submit --profile /tmp/gateway.prof
    .venv/bin/python -m bench.gateway_submit --profile-customs /tmp/customs.prof

Starts a customs API and a gateway API (each through `clearway.serve`, as `clearway up` does, on
fresh SQLite files, no broker: submitting only writes customs' outbox), enrols the traffic's
enterprises with an API key each, registers the agents' certificates, then submits generated
declarations through `POST /api/v1/messages` as `bench.e2e` does: `--per-tick` declarations at
a time, one message per document type and sender (up to 100 documents), from `--clients`
concurrent clients (with an Idempotency-Key each if `--idempotency-keys`). It prints the CPU
each API process used per declaration and per message (from /proc, so the load generator's own
work is not counted). `--profile` runs the gateway under cProfile and writes its stats there
(`python -m pstats`); `--profile-customs` does the same for the customs API.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clearway import traffic
from clearway.broker import free_port
from clearway.database import migrate
from clearway.demo import PlatformClient, check_answer, enterprises
from gateway.domain.credentials import new_api_key

CLK_TCK = os.sysconf("SC_CLK_TCK")
# uvicorn under cProfile timed by the process's CPU (wall time would count waiting for customs)
_PROFILED = """
import cProfile, sys, time
from clearway import serve
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    serve.main(sys.argv[2:])
finally:
    profile.disable()
    profile.dump_stats(sys.argv[1])
"""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextmanager
def serve(
    factory: str, env: dict[str, str], log: Path, *, ready: str, profile: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`clearway.serve` (uvicorn --factory) in a child process, once `ready` answers 200, until
    the block ends (then SIGINT: a clean exit, which also writes the profile)."""
    port = free_port()
    start = ["-c", _PROFILED, profile] if profile else ["-m", "clearway.serve"]
    command = [sys.executable, *start, factory]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url + ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{factory} did not start; see {log}")
            time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


async def submit(
    client: PlatformClient, batches: list[list[traffic.Message]], clients: int, keyed: bool
) -> list[str]:
    """Send every message, a tick's batch at a time (each with an Idempotency-Key if `keyed`);
    the unexpected answers."""
    problems: list[str] = []
    semaphore = asyncio.Semaphore(clients)
    async with client.async_client(clients) as http:

        async def one(message: traffic.Message) -> None:
            async with semaphore:
                key = uuid.uuid4().hex if keyed else None
                status, body = await client.post_message(http, message, idempotency_key=key)
            problem = check_answer(message, status, body)
            if problem is not None:
                problems.append(problem)

        for batch in batches:
            await asyncio.gather(*(one(m) for m in batch))
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=2000)
    parser.add_argument("--per-tick", type=int, default=1000, help="declarations per batch")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP requests")
    parser.add_argument(
        "--idempotency-keys", action="store_true", help="an Idempotency-Key on every message"
    )
    parser.add_argument("--warm-up", type=int, default=200, help="declarations not counted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", help="write the gateway's cProfile stats to this file")
    parser.add_argument("--profile-customs", help="write the customs API's cProfile stats here")
    args = parser.parse_args()

    identities = traffic.make_identities()
    generated = list(traffic.generate(args.warm_up + args.declarations, args.seed))

    def batches(declarations: list[traffic.Declaration]) -> list[list[traffic.Message]]:
        ticks = [
            declarations[n : n + args.per_tick] for n in range(0, len(declarations), args.per_tick)
        ]
        return [list(traffic.messages(tick, identities)) for tick in ticks]

    warm, measured = batches(generated[: args.warm_up]), batches(generated[args.warm_up :])
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as folder:
        data = Path(folder)
        urls = {name: f"sqlite:///{data / name}.db" for name in ("customs", "gateway")}
        for name, url in urls.items():
            migrate(name, url)
        admin = new_api_key().key
        customs_env = {
            "CUSTOMS_DATABASE_URL": urls["customs"],
            "CUSTOMS_DATA_KEY": secrets.token_urlsafe(48),
        }
        with serve(
            "customs.app:create_app",
            customs_env,
            data / "customs.log",
            ready="/health",
            profile=args.profile_customs,
        ) as (
            customs_url,
            customs,
        ):
            gateway_env = {
                "GATEWAY_DATABASE_URL": urls["gateway"],
                "GATEWAY_CUSTOMS_URL": customs_url,
                "GATEWAY_DATA_KEY": secrets.token_urlsafe(48),
                "GATEWAY_ADMIN_API_KEY": admin,
            }
            with serve(
                "gateway.app:create_app",
                gateway_env,
                data / "gateway.log",
                ready="/openapi.json",  # its /health needs risk too
                profile=args.profile,
            ) as (url, gateway):
                client = PlatformClient(url)
                client.enrol(admin, enterprises())
                client.register_certificates(identities)
                keyed = args.idempotency_keys
                problems = asyncio.run(submit(client, warm, args.clients, keyed))
                before = {"gateway": cpu_s(gateway.pid), "customs": cpu_s(customs.pid)}
                started = time.perf_counter()
                problems += asyncio.run(submit(client, measured, args.clients, keyed))
                elapsed = time.perf_counter() - started
                used = {
                    "gateway": cpu_s(gateway.pid) - before["gateway"],
                    "customs": cpu_s(customs.pid) - before["customs"],
                }
    messages = sum(len(b) for b in measured)
    documents = sum(m.documents for b in measured for m in b)
    print(
        f"{args.declarations} declarations ({documents} documents in {messages} messages, "
        f"{args.per_tick} declarations per batch, {args.clients} clients) in {elapsed:.1f}s"
    )
    print(f"{'process':<14}{'CPU s':>8}{'ms/decl.':>10}{'ms/message':>12}")
    for name, seconds in used.items():
        print(
            f"{name + '-api':<14}{seconds:>8.2f}{1000 * seconds / args.declarations:>10.2f}"
            f"{1000 * seconds / messages:>12.2f}"
        )
    print(f"unexpected answers: {len(problems)}")
    for problem in problems[:5]:
        print(f"  {problem}")
    if args.profile:
        print(f"gateway profile: {args.profile} (.venv/bin/python -m pstats {args.profile})")
    if args.profile_customs:
        print(f"customs profile: {args.profile_customs}")


if __name__ == "__main__":
    main()
