"""`clearway demo` against a running `clearway up`: a day of traffic, each declaration answered."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

import httpx
import pytest

from clearway import traffic
from clearway.demo import PlatformClient, admin_key, enterprises
from tests.support import wait_for
from tests.test_platform import platform

pytestmark = pytest.mark.slow


def _status(client: httpx.Client, reader: PlatformClient, sender: str, reference: str) -> int:
    """A receipt's status, read with the key of the enterprise that filed the document."""
    answer = client.get(f"/api/v1/receipts/{reference}", headers=reader.headers(sender))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["returnStatus"])


def test_clearway_demo_fills_a_running_platform_and_every_answer_is_the_expected_one(tmp_path):
    report_path = tmp_path / "report.json"
    with platform(tmp_path, {}) as (url, state, _output):
        demo = subprocess.run(
            [
                sys.executable, "-m", "clearway.cli", "--data-dir", state["data_dir"], "demo",
                "--declarations", "60", "--seed", "3", "--bad-share", "0.15",
                "--report", str(report_path),
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "UNEXPECTED" not in demo.stdout
        report = json.loads(report_path.read_text())
        assert len(report) == 60
        bad = Counter(d["bad"] for d in report if d["bad"])
        assert set(bad) == {"xsd", "field-rule", "signature", "mismatch", "duplicate"}
        assert f"refused at submission as expected: -621028 x{bad['signature']}" in demo.stdout
        people = dict(re.findall(r"as (demo\.\w+) with password (\S+)", demo.stdout))
        assert set(people) == {"demo.officer", "demo.supervisor", "demo.seller", "demo.admin"}

        with httpx.Client(base_url=url, timeout=10) as client:
            reader = PlatformClient(url)  # keys of the demo's tenants, to read their receipts
            reader.enrol(str(admin_key(state["data_dir"])), enterprises())

            def settled() -> dict[str, int] | None:
                final = {}
                for declaration in report:
                    inventory = declaration["references"].get("inventory")
                    if declaration["expected"]["stage"] == "submission" or not inventory:
                        continue
                    agent = declaration["senders"]["inventory"]
                    status = _status(client, reader, agent, inventory[0])
                    if status in (2, 120, 399):
                        return None
                    final[declaration["orderNo"]] = status
                return final

            final = wait_for(settled, timeout_s=60, interval_s=0.5)
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            signed = client.post(
                "/login",
                data={"login": "demo.officer", "password": people["demo.officer"],
                      "csrf_token": token},
                follow_redirects=True,
            )  # fmt: skip
            assert signed.status_code == 200 and "/officer" in str(signed.url)
            for declaration in report:
                expected = declaration["expected"]
                if expected["stage"] == "declaration":
                    assert final[declaration["orderNo"]] == int(expected["code"])
                elif expected["stage"] in ("decision", "document"):
                    assert final[declaration["orderNo"]] in (800, 300, 500), declaration
                if expected["stage"] == "document":
                    first, second = declaration["references"]["order"]
                    ebp = declaration["senders"]["order"]
                    assert _status(client, reader, ebp, first) == 120
                    assert _status(client, reader, ebp, second) == -301010
            assert len(final) == sum(1 for d in report if d["expected"]["stage"] != "submission")

            # the benchmarks' client (aiohttp): an answer read as JSON, a refusal as its problem
            orders = list(
                traffic.messages(traffic.generate(3, 5, prefix="PM"), {}, roles=("order",))
            )
            refused = replace(orders[0], body=orders[0].body.replace(b"<ceb:orderNo>", b"<x>", 1))

            async def post_all() -> list[tuple[int, Any]]:
                async with reader.async_client(2) as http:
                    answers = [await reader.post_message(http, m) for m in (orders[0], refused)]
                    for _ in range(2):  # the same message twice under one key: sent once
                        answers.append(
                            await reader.post_message(http, orders[1], idempotency_key="pm-1")
                        )
                    return answers

            (status, body), (bad_status, bad_body), keyed, again = asyncio.run(post_all())
            assert status == 202, body
            assert [d["returnStatus"] for d in body["documents"]] == [120] * orders[0].documents
            assert (bad_status, bad_body["code"]) == (400, "0001")  # not well-formed
            assert keyed[0] == again[0] == 202
            assert again[1]["submissionId"] == keyed[1]["submissionId"]  # replayed
