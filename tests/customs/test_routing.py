"""The worker applies a run of risk's routes at once exactly as one route at a time would.

The same generated traffic is submitted to two customs databases (decided on arrival). Each
ready declaration then gets a route (release, review, inspect), some a second one (stale by
then), one cancelled declaration one too, and a rejected declaration one (stale). One database
applies each route alone with `clearance_service.apply_route`, the other the whole run with
`clearance_service.apply_routes` (`customs.routing`). Every receipt, decision, declaration,
document and emitted event must be the same; the run announces its receipts together
(ClearancesChangedV1), where each route alone announces each of its own.
"""

from __future__ import annotations

import json
from contextlib import suppress
from itertools import accumulate
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clearway import traffic
from customs import clearance_service, routing, service
from customs.ceb.parsing import MessageFormatError
from customs.context import Customs
from customs.db import Decision, Declaration, Document, Receipt, runtime
from customs.vault import Vault
from messaging.consumer import HandlerContext
from schemas.envelope import Envelope
from schemas.events import ClearancesChangedV1, RiskAssessedV1, RiskReason
from tests.conftest import TEST_DATA_KEY

IDENTITIES = traffic.make_identities()
ROUTES = ("release", "review", "inspect", "release", "release")


def _submit(customs: Customs) -> None:
    declarations = list(traffic.generate(60, seed=5, bad_share=0.2))
    traffic.register_signers(customs, IDENTITIES)
    for message in traffic.messages(declarations, IDENTITIES):
        with suppress(MessageFormatError):  # refused at once: never declared
            service.submit_message(customs, message.body, correlation_id="routing")


def _routes(customs: Customs) -> list[Envelope[Any]]:
    """The routes risk would send, in an order both databases share (by order number)."""
    with Session(customs.engine, expire_on_commit=False) as session:
        declarations = sorted(
            session.execute(select(Declaration)).scalars(), key=lambda d: (d.order_no, d.ebp_code)
        )
        ready = [d for d in declarations if d.status == 120]
        rejected = [d for d in declarations if d.status == 100]
        assert len(ready) > 30 and rejected
        cancelled = ready.pop()
        session.execute(
            update(Declaration).where(Declaration.id == cancelled.id).values(cancelled=True)
        )
        session.commit()
    routed = [
        *((d, ROUTES[i % len(ROUTES)]) for i, d in enumerate(ready)),
        (cancelled, "release"),
        (rejected[0], "release"),
        *((d, "inspect") for d in ready[:5]),  # a second route: stale by then
    ]
    return [
        Envelope[Any](
            producer="risk",
            correlation_id=f"corr-{i}",
            key=d.order_no,
            payload=RiskAssessedV1(
                declaration_id=d.id,
                order_no=d.order_no,
                score=10 * (i % 9),
                route=route,
                reasons=[RiskReason(code="R1", text="a reason", points=10)] if i % 2 else [],
                ruleset_version="3",
                model_version=None,
            ),
        )
        for i, (d, route) in enumerate(routed)
    ]


def _without_id(text: str | None) -> str | None:
    """A route as stored (its JSON), less the declaration id each database gave."""
    if text is None:
        return None
    route = json.loads(text)
    assert route.pop("declaration_id")
    return json.dumps(route, sort_keys=True)


def _state(customs: Customs, staged: list[Envelope[Any]]) -> dict[str, Any]:
    with Session(customs.engine) as session:
        names = {
            d.id: f"{d.message_type} {d.guid} #{d.seq}"
            for d in session.execute(select(Document)).scalars()
        }
        for d in session.execute(select(Declaration)).scalars():
            names[d.id] = f"declaration {d.ebp_code}/{d.order_no}"
        state = {
            "documents": sorted(
                (names[d.id], d.return_status) for d in session.execute(select(Document)).scalars()
            ),
            "receipts": [
                (names[r.document_id], r.return_status, r.return_info)
                for r in session.execute(select(Receipt).order_by(Receipt.id)).scalars()
            ],
            "declarations": sorted(
                (names[d.id], d.status, d.route, _without_id(d.risk))
                for d in session.execute(select(Declaration)).scalars()
            ),
            "decisions": [
                (
                    names[d.declaration_id],
                    d.action,
                    d.actor,
                    d.reason,
                    d.from_status,
                    d.to_status,
                    _without_id(d.detail),
                )
                for d in session.execute(select(Decision).order_by(Decision.id)).scalars()
            ],
        }
    emitted = []
    for envelope in staged:  # an announcement of several receipts: each in its place
        payload = envelope.payload
        for event in payload.changes if isinstance(payload, ClearancesChangedV1) else [payload]:
            values = json.loads(event.model_dump_json())
            emitted.append(
                {k: names.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
            )
    state["emitted"] = emitted
    state["caused_by"] = [envelope.causation_id for envelope in staged]
    return state


def _contexts(session: Session, routes: list[Envelope[Any]], staged: list) -> list:
    return [(HandlerContext(session, e, "customs", runtime, staged), e.payload) for e in routes]


def test_a_run_of_routes_applied_at_once_equals_its_routes_applied_one_by_one(
    customs_engine, second_engine, monkeypatch
):
    monkeypatch.setattr(routing, "CHANGES_PER_EVENT", 7)  # the run's receipts in several events
    alone = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    together = Customs(engine=second_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    for customs in (alone, together):
        _submit(customs)
    routes_alone, routes_together = _routes(alone), _routes(together)

    staged_alone: list = []
    with Session(customs_engine) as session:
        for ctx, payload in _contexts(session, routes_alone, staged_alone):
            with session.begin():  # one transaction per route, as with max_poll_records=1
                clearance_service.apply_route(alone, ctx, payload)
    staged_together: list = []
    with Session(second_engine) as session, session.begin():
        run = _contexts(session, routes_together, staged_together)
        assert routing.apply_routes_run(run)  # the run takes the batched path

    expected = _state(alone, staged_alone)
    got = _state(together, staged_together)
    for part in ("documents", "receipts", "declarations", "decisions", "emitted"):
        assert got[part] == expected[part], part
    # the run's receipts in events of at most 7, in order, each caused by the route of its
    # first receipt (whose position both runs share); alone, each caused by its own route
    sizes = [len(e.payload.changes) for e in staged_together]
    assert sizes[:-1] == [7] * (len(sizes) - 1) and 1 <= sizes[-1] <= 7
    assert sum(sizes) == len(staged_alone) == len(expected["emitted"])
    firsts = list(accumulate([0, *sizes[:-1]]))
    position = {str(e.event_id): i for i, e in enumerate(routes_together)}
    position_alone = {str(e.event_id): i for i, e in enumerate(routes_alone)}
    assert [position[c] for c in got["caused_by"]] == [
        position_alone[expected["caused_by"][first]] for first in firsts
    ]
    assert len(set(expected["caused_by"])) > len(sizes)  # the routes alone: one cause each
    # the routes did what they should: every route, stale ones left alone
    statuses = {status for _, status, _ in expected["receipts"]}
    assert {300, 399, 500, 800} <= statuses
    assert len(expected["decisions"]) == len(routes_alone) - 7  # cancelled, rejected, 5 again


def test_a_run_naming_an_unknown_declaration_is_refused_as_one_route_would_be(customs):
    _submit(customs)
    (known, *_) = _routes(customs)
    unknown = known.model_copy(
        update={"payload": known.payload.model_copy(update={"declaration_id": known.event_id})}
    )
    with Session(customs.engine) as session, session.begin():
        run = _contexts(session, [known, unknown], [])
        assert not routing.apply_routes_run(run)  # left to the general path, which refuses it
        with pytest.raises(clearance_service.DeclarationNotFound):
            clearance_service.apply_routes(customs, run)
