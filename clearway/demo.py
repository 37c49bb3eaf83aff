"""`clearway demo`: fill a running platform with a day of pilot-zone import traffic.

    clearway demo [--url http://127.0.0.1:8000] [--declarations 2000] [--seed 1]

It registers each declaring agent's (fresh) signing certificate, then submits the generated
declarations (`clearway.traffic`) through the gateway API as the enterprises would: one CEB
message per document type and sender, up to 100 documents each, from a few concurrent clients.
Deliberately bad documents must be refused with their exact error; anything else refused is
counted as unexpected (exit code 1).

`PlatformClient` is the one HTTP client of the demo and the benchmark: every request goes
through `headers()`, where the gateway's API key goes once authentication is on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `clearway` itself starts without them
    import httpx

    from clearway import traffic

DEFAULT_URL = "http://127.0.0.1:8000"
XML = {"Content-Type": "application/xml"}


class DemoFailed(Exception):
    """The platform answered something the demo cannot go on with."""


@dataclass
class PlatformClient:
    """The gateway's API as the demo and the benchmark use it."""

    url: str
    api_key: str | None = None
    timeout_s: float = 60.0

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers of every request (the API key, once the gateway asks for one)."""
        headers = dict(extra or {})
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def client(self) -> httpx.Client:
        import httpx

        return httpx.Client(base_url=self.url, timeout=self.timeout_s, headers=self.headers())

    def async_client(self, connections: int = 16) -> httpx.AsyncClient:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(
            base_url=self.url, timeout=self.timeout_s, headers=self.headers(), limits=limits
        )

    def register_certificates(self, identities: Mapping[str, traffic.Identity]) -> None:
        """Register each declaring agent's certificate with customs (through the gateway)."""
        with self.client() as client:
            for code, identity in identities.items():
                answer = client.post(
                    "/api/v1/certificates",
                    json={
                        "enterpriseCode": code,
                        "algorithms": [identity.algorithm],
                        "certificate": identity.certificate_pem,
                    },
                )
                if answer.status_code != 201:
                    raise DemoFailed(
                        f"registering the certificate of {code} answered "
                        f"{answer.status_code}: {answer.text[:500]}"
                    )


@dataclass
class Outcome:
    """What happened to the submitted messages."""

    messages: int = 0
    documents: int = 0
    accepted: int = 0
    refused_as_expected: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    references: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def check_answer(message: traffic.Message, status: int, body: Any) -> str | None:
    """None when the answer is the one `message` must get, else what is wrong with it."""
    if message.expected_code is None:
        if status == 202:
            return None
        return f"{message.message_type} from {message.sender.code}: {status} {str(body)[:300]}"
    code = body.get("code") if isinstance(body, dict) else None
    if status == 422 and code == message.expected_code:
        return None
    return (
        f"{message.message_type} {message.order_nos[0]}: expected {message.expected_code}, "
        f"got {status} {str(body)[:300]}"
    )


def submit(
    platform: PlatformClient, messages: Iterable[traffic.Message], *, clients: int = 4
) -> Outcome:
    """Submit messages from `clients` concurrent clients; record each answer."""
    outcome = Outcome()

    def send(http: httpx.Client, message: traffic.Message) -> tuple[traffic.Message, int, Any]:
        answer = http.post("/api/v1/messages", content=message.body, headers=XML)
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        return message, answer.status_code, body

    with platform.client() as http, ThreadPoolExecutor(clients) as pool:
        for message, status, body in pool.map(lambda m: send(http, m), messages):
            outcome.messages += 1
            outcome.documents += message.documents
            problem = check_answer(message, status, body)
            if problem is not None:
                outcome.unexpected.append(problem)
            elif message.expected_code is not None:
                outcome.refused_as_expected[message.expected_code] += 1
            else:
                outcome.accepted += len(body["documents"])
                for order_no, role, document in zip(
                    message.order_nos, message.roles, body["documents"], strict=True
                ):
                    by_role = outcome.references.setdefault(order_no, {})
                    by_role.setdefault(role, []).append(document["reference"])
    return outcome


def _default_url(data_dir: str) -> str:
    state = Path(data_dir) / "clearway.json"
    if state.exists():
        return str(json.loads(state.read_text())["url"])
    return DEFAULT_URL


def demo(args: argparse.Namespace) -> int:
    """Register the enterprises' certificates and submit a day of traffic."""
    import httpx

    from clearway import traffic

    url = args.url or _default_url(args.data_dir)
    platform = PlatformClient(url, api_key=args.api_key)
    started = time.monotonic()
    identities = traffic.make_identities()
    try:
        platform.register_certificates(identities)
    except (DemoFailed, httpx.HTTPError) as exc:
        print(f"clearway demo: {url}: {exc}", file=sys.stderr)
        return 2
    declarations = list(
        traffic.generate(
            args.declarations,
            args.seed,
            bad_share=args.bad_share,
            risky_share=args.risky_share,
        )
    )
    try:
        outcome = submit(platform, traffic.messages(declarations, identities))
    except httpx.HTTPError as exc:
        print(f"clearway demo: {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    took = time.monotonic() - started
    print(
        f"{len(declarations)} declarations (seed {args.seed}) in {outcome.messages} messages, "
        f"{outcome.documents} documents, {took:.1f}s: {outcome.accepted} accepted for processing"
    )
    kinds = Counter(d.bad for d in declarations if d.bad)
    print("deliberately bad: " + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "-"))
    refused = ", ".join(f"{k} x{v}" for k, v in sorted(outcome.refused_as_expected.items()))
    print(f"refused at submission as expected: {refused or '-'}")
    if args.report:
        report = [
            {
                "orderNo": d.order_no,
                "bad": d.bad,
                "risky": d.risky,
                "expected": {
                    "stage": d.expected.stage,
                    "code": d.expected.code,
                    "role": d.expected.role,
                },
                "references": outcome.references.get(d.order_no, {}),
            }
            for d in declarations
        ]
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    for problem in outcome.unexpected[:20]:
        print(f"UNEXPECTED: {problem}")
    return 1 if outcome.unexpected else 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `demo` to the `clearway` command's subparsers."""
    parser = subparsers.add_parser(
        "demo",
        help="fill a running platform with a day of pilot-zone traffic",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--url", help="the gateway (default: the running `clearway up`)")
    parser.add_argument("--declarations", type=_positive, default=2000)
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic")
    parser.add_argument("--bad-share", type=_share, default=0.01)
    parser.add_argument("--risky-share", type=_share, default=0.05)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("CLEARWAY_API_KEY"),
        help="the gateway API key (default $CLEARWAY_API_KEY)",
    )
    parser.add_argument("--report", help="write each declaration's references here (JSON)")
    parser.set_defaults(func=demo)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value
