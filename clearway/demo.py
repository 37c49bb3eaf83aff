"""`clearway demo`: fill a running platform with a day of pilot-zone import traffic.

    clearway demo [--url http://127.0.0.1:8000] [--declarations 2000] [--seed 1]

It registers each declaring agent's (fresh) signing certificate, then submits the generated
declarations (`clearway.traffic`) through the gateway API as the enterprises would: one CEB
message per document type and sender, up to 100 documents each, from a few concurrent clients.
Deliberately bad documents must be refused with their exact error; anything else refused is
counted as unexpected (exit code 1).

The gateway asks every caller for an API key. With the administrator's key (`--admin-key`, else
$GATEWAY_ADMIN_API_KEY, else the running `clearway up`'s secrets.json) the demo registers each
enterprise as a tenant with its customs code and role, and files each message with the key of
the enterprise that sends it (a tenant may only file its own documents).

`PlatformClient` is the one HTTP client of the demo and the benchmark: every request takes its
headers from `headers()`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `clearway` itself starts without them
    import aiohttp
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
    api_key: str | None = None  # used for enterprises without a key of their own
    timeout_s: float = 60.0
    keys: dict[str, str] = field(default_factory=dict)  # enterprise code -> its tenant's key

    def headers(self, sender: str | None = None, **extra: str) -> dict[str, str]:
        """Headers of a request made for the enterprise `sender` (its API key)."""
        key = self.keys.get(sender or "", self.api_key)
        return {**extra, **({"Authorization": f"Bearer {key}"} if key else {})}

    def client(self) -> httpx.Client:
        import httpx

        return httpx.Client(base_url=self.url, timeout=self.timeout_s)

    def async_client(self, connections: int = 16) -> aiohttp.ClientSession:
        """A session for `post_message` from up to `connections` tasks at once (aiohttp: about
        a tenth of httpx's CPU a request, which a benchmark's load generator takes from the
        machine it measures)."""
        import aiohttp

        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )

    async def post_message(
        self,
        http: aiohttp.ClientSession,
        message: traffic.Message,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any]:
        """POST one CEB message as its sender (with an Idempotency-Key if given): the status and
        the answer (JSON, else text)."""
        keyed = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        async with http.post(
            self.url.rstrip("/") + "/api/v1/messages",
            data=message.body,
            headers=self.headers(message.sender.code, **XML, **keyed),
        ) as answer:
            content = await answer.read()
        try:
            return answer.status, json.loads(content)
        except ValueError:
            return answer.status, content.decode(errors="replace")

    def enrol(self, admin_key: str, enterprises: Iterable[tuple[str, str, Sequence[str]]]) -> None:
        """Register each (code, name, roles) as a tenant, unless one holds the code already, and
        keep a fresh API key of that tenant for the code."""
        admin = {"Authorization": f"Bearer {admin_key}"}
        with self.client() as client:
            listed = client.get("/api/v1/admin/tenants", headers=admin)
            if listed.status_code != 200:
                raise DemoFailed(f"listing tenants: {listed.status_code} {listed.text[:300]}")
            tenant_of = {c: t["id"] for t in listed.json()["tenants"] for c in t["codes"]}
            for code, name, roles in enterprises:
                if code not in tenant_of:
                    tenant = client.post(
                        "/api/v1/admin/tenants",
                        json={"name": name, "codes": [code], "roles": list(roles)},
                        headers=admin,
                    )
                    if tenant.status_code != 201:
                        raise DemoFailed(f"tenant {code}: {tenant.status_code} {tenant.text[:300]}")
                    tenant_of[code] = tenant.json()["id"]
                key = client.post(
                    f"/api/v1/admin/tenants/{tenant_of[code]}/api-keys",
                    json={"name": "clearway demo"},
                    headers=admin,
                )
                if key.status_code != 201:
                    raise DemoFailed(f"an API key for {code}: {key.status_code} {key.text[:300]}")
                self.keys[code] = key.json()["key"]

    def people(self, admin_key: str, seller_code: str) -> dict[str, str]:
        """People to sign in to the pages with: an officer, a supervisor, a seller of
        `seller_code`'s enterprise and an administrator. Answers the passwords of those made
        now (a login that exists already is left as it is)."""
        admin = {"Authorization": f"Bearer {admin_key}"}
        made: dict[str, str] = {}
        with self.client() as client:
            listed = client.get("/api/v1/admin/tenants", headers=admin).json()["tenants"]
            tenant = next(t["id"] for t in listed if seller_code in t["codes"])
            wanted = [
                ("demo.officer", "officer", {"officerRole": "reviewer"}),
                ("demo.supervisor", "officer", {"officerRole": "supervisor"}),
                ("demo.seller", "tenant", {"tenantId": tenant}),
                ("demo.admin", "admin", {}),
            ]
            for login, kind, extra in wanted:
                password = secrets.token_urlsafe(12)
                answer = client.post(
                    "/api/v1/admin/users",
                    json={
                        "login": login,
                        "displayName": login,
                        "password": password,
                        "kind": kind,
                        **extra,
                    },
                    headers=admin,
                )
                if answer.status_code == 201:
                    made[login] = password
                elif answer.status_code != 409:
                    raise DemoFailed(f"user {login}: {answer.status_code} {answer.text[:300]}")
        return made

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
                    headers=self.headers(code),
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
        answer = http.post(
            "/api/v1/messages",
            content=message.body,
            headers=platform.headers(message.sender.code, **XML),
        )
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


def admin_key(data_dir: str | Path) -> str | None:
    """The administrator's API key: $GATEWAY_ADMIN_API_KEY, else `clearway up`'s secrets."""
    if os.environ.get("GATEWAY_ADMIN_API_KEY"):
        return os.environ["GATEWAY_ADMIN_API_KEY"]
    secrets = Path(data_dir) / "secrets.json"
    if secrets.exists():
        stored = json.loads(secrets.read_text()).get("GATEWAY_ADMIN_API_KEY")
        return str(stored) if stored else None
    return None


def enterprises() -> list[tuple[str, str, tuple[str, ...]]]:
    """The generated traffic's enterprises as (code, name, roles) to register as tenants."""
    from clearway import traffic

    roles = {
        **{e.code: ("ecommerce_platform",) for e in traffic.PLATFORMS},
        **{e.code: ("ecommerce_enterprise", "declaration_agent") for e in traffic.SELLERS},
        **{e.code: ("payment_company",) for e in traffic.PAYERS},
        **{e.code: ("logistics_company",) for e in traffic.CARRIERS},
    }
    return [(e.code, e.name, roles[e.code]) for e in traffic.ENTERPRISES]


def demo(args: argparse.Namespace) -> int:
    """Register the enterprises' certificates and submit a day of traffic."""
    import httpx

    from clearway import traffic

    url = args.url or _default_url(args.data_dir)
    platform = PlatformClient(url, api_key=args.api_key)
    started = time.monotonic()
    identities = traffic.make_identities()
    key = args.admin_key or admin_key(args.data_dir)
    people: dict[str, str] = {}
    try:
        if key:
            platform.enrol(key, enterprises())
            people = platform.people(key, traffic.SELLERS[0].code)
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
                "senders": {doc.role: doc.sender.code for doc in d.documents},
            }
            for d in declarations
        ]
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    for login, password in people.items():
        print(f"sign in at {url}/login as {login} with password {password} (shown once)")
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
        "--admin-key",
        help="the administrator's API key, to register the enterprises as tenants (default"
        " $GATEWAY_ADMIN_API_KEY, else the running clearway up's secrets.json)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("CLEARWAY_API_KEY"),
        help="without an administrator's key: one API key for every filing ($CLEARWAY_API_KEY)",
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
