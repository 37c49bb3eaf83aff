"""How the submit endpoint runs its work: header dependencies on the event loop, and at most
SUBMIT_THREADS submissions at a time in the thread pool."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import time

import httpx
import pytest

from clearway.threads import SWITCH_INTERVAL_S
from customs import service
from customs.api import messages, scope
from customs.app import create_app
from customs.settings import CustomsSettings
from tests.conftest import TEST_DATA_KEY


@pytest.mark.parametrize("dependency", [scope.caller_scope, scope.caller_owner, scope.caller_actor])
def test_header_dependencies_run_on_the_event_loop(dependency):
    assert inspect.iscoroutinefunction(dependency)  # a plain def would go to the thread pool


def test_at_most_submit_threads_submissions_run_at_once(database_url, customs_engine, monkeypatch):
    running = most = 0
    lock = threading.Lock()

    def submit(_customs, _body, **_kwargs):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return service.SubmissionAccepted("s", "CEB311Message", ())

    monkeypatch.setattr(service, "submit_message", submit)
    app = create_app(CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY))

    async def post_many() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://customs") as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/v1/messages", content=b"<x/>", headers={"Content-Type": "application/xml"}
                    )
                    for _ in range(3 * messages.SUBMIT_THREADS)
                )
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(post_many()) == [202] * (3 * messages.SUBMIT_THREADS)
    assert most == messages.SUBMIT_THREADS


def test_the_api_process_hands_the_gil_on_after_half_a_millisecond(database_url, customs_engine):
    # its group-commit writer releases the GIL at every statement and must get it back quickly
    default = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        create_app(CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY))
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S) == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(default)
