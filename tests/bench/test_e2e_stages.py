"""bench.e2e splits each routed declaration's latency into the legs of its way."""

import asyncio
import math
import time
from argparse import Namespace
from collections import Counter
from dataclasses import replace

from bench.e2e import CLOSED_LOOP_ROOM, Run, _at, _check_outcomes, premade, stage_latencies
from clearway import traffic

IDENTITIES = traffic.make_identities()

# wall-clock seconds after the POST of each declaration's last document
ROUTED = {"answered": 0.100, "ready": 0.130, "assessed": 0.150, "published": 0.200}


def test_each_leg_is_the_time_between_its_two_stages_of_routed_declarations() -> None:
    run = Run()
    cases = [("routed-1", 800, ROUTED, 0.206), ("routed-2", 300, ROUTED, 0.206)]
    # a rejected declaration has no route: its legs are left out
    cases.append(("rejected", 100, {name: 0.9 for name in ROUTED}, 0.95))
    for n, (key, status, stages, seen) in enumerate(cases):
        base = 100.0 * (n + 1)
        run.last_submit_wall[key] = base
        for stage, after in stages.items():
            run.stages.setdefault(stage, {})[key] = base + after
        run.decided[key] = (base + seen - 1000.0, status)  # monotonic: wall - 1000

    lines = stage_latencies(run, wall_minus_monotonic=1000.0)

    assert lines == [
        "  POST of the last document, until answered (HTTP): p50 100 ms, p99 100 ms",
        "  -> DeclarationReady published (the API's outbox relayed): p50 30 ms, p99 30 ms",
        "  -> RiskAssessed published (risk's fetch, scoring, relay): p50 20 ms, p99 20 ms",
        "  -> decision published (customs worker's fetch, route, relay): p50 50 ms, p99 50 ms",
        "  (seen by the bench's observer: its lag, not in the latency): p50 6 ms, p99 6 ms",
    ]


def test_latency_runs_to_the_decision_s_publication_not_to_when_the_observer_saw_it() -> None:
    run = Run()
    run.last_submit["seen-late"], run.last_submit_wall["seen-late"] = 50.0, 1050.0
    run.stages["published"] = {"seen-late": 1050.4}
    run.decided["seen-late"] = (80.0, 800)  # the observer read it 30 s later

    assert round(run.latency("seen-late"), 3) == 0.4


def test_the_traffic_is_made_before_the_clock_a_batch_per_tick_without_the_documents() -> None:
    args = Namespace(
        rate=42, seconds=1.0, tick=0.25, in_flight=0, seed=5, bad_share=0.3, risky_share=0.1
    )

    batches = premade(args, IDENTITIES)

    assert [len(b.declarations) for b in batches] == [10, 11, 10, 11]  # 42/s, a quarter second
    expected = list(traffic.generate(42, seed=5, bad_share=0.3, risky_share=0.1))
    assert {"duplicate", "signature"} <= {d.bad for d in expected}
    made = [d for b in batches for d in b.declarations]
    assert [d.order_no for d in made] == [d.order_no for d in expected]
    assert [d.expected for d in made] == [d.expected for d in expected]
    assert all(d.documents == () for d in made)  # the run keeps outcomes, not documents
    for batch in batches:  # each batch's messages carry its declarations' documents, no others
        carried = Counter(n for m in batch.messages for n in m.order_nos)
        wanted = Counter(
            d.order_no
            for d in expected
            if d.order_no in {x.order_no for x in batch.declarations}
            for _ in d.documents
        )
        duplicated = Counter(d.order_no for d in expected if d.bad == "duplicate")
        assert carried == wanted + (duplicated & wanted)


def test_in_closed_loop_the_traffic_comes_in_quarters_of_what_may_wait() -> None:
    args = Namespace(
        rate=0, seconds=0.01, tick=0.25, in_flight=40, seed=7, bad_share=0, risky_share=0
    )

    batches = premade(args, IDENTITIES)

    assert {len(b.declarations) for b in batches} == {10}
    assert len(batches) == math.ceil(CLOSED_LOOP_ROOM * 0.01 / 10)


def test_a_declaration_refused_at_its_post_is_not_waited_for() -> None:
    good, bad = traffic.generate(2, seed=5, bad_share=0, risky_share=0)
    refused = replace(bad, expected=traffic.Expected(stage="submission", code="0002"))
    run = Run()
    run.plan(good)
    run.plan(refused)

    assert run.expected[good.order_no].expected == good.expected
    assert run.expected[refused.order_no].expected.code == "0002"
    assert run.expecting == 1  # a document refused at its POST never reaches a decision


def test_a_decision_the_observer_missed_is_checked_in_customs_database() -> None:
    routed, rejected, lost = traffic.generate(3, seed=11, bad_share=0, risky_share=0)
    run = Run()
    for n, declaration in enumerate((routed, rejected, lost)):
        run.plan(declaration)
        run.last_submit[declaration.order_no] = float(n)
        run.last_submit_wall[declaration.order_no] = 1000.0 + n
    # the observer saw none; customs' database holds two of them decided
    in_database = {routed.order_no: (1000.4, 800), rejected.order_no: (1001.3, 100)}

    latencies, routes = _check_outcomes(run, in_database)

    assert routes == {"release": 1, "reject": 1}
    assert latencies == []  # no publication seen: the database's figures give those
    assert run.errors == [
        f"{rejected.order_no}: expected a route, got 100",
        f"{lost.order_no}: no decision (good)",
    ]


def test_a_duplicate_s_refusal_the_observer_missed_is_checked_in_customs_database() -> None:
    run = Run()
    run.duplicate_references = {"seen": "O-1", "in-db": "O-2", "wrong": "O-3", "lost": "O-4"}
    run.rejected_documents["seen"] = -301010
    refused = {"in-db": -301010, "wrong": -621028, "seen": -999}  # the observer's answer wins

    _check_outcomes(run, {}, refused)

    assert run.refused_as_expected["-301010"] == 2
    assert run.errors == [
        "O-3: the duplicate order got -621028, not -301010",
        "O-4: the duplicate order got no receipt",
    ]


def test_a_spread_message_is_sent_from_its_moment_on_not_before() -> None:
    started: list[float] = []

    async def send() -> None:
        started.append(time.monotonic())

    async def both() -> float:
        moment = time.monotonic() + 0.05
        await asyncio.gather(_at(moment, send()), _at(moment - 1, send()))  # one already due
        return moment

    moment = asyncio.run(both())

    assert len(started) == 2
    assert min(started) < moment <= max(started)
