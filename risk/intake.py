"""What the risk worker does with customs' events, a run at a time.

A run is the consecutive new events of a polled batch, in topic order (`messaging.consumer.
Batched`): accepted documents become observations, declarations ready to route are assessed and
their route announced, inspection conclusions become labels. The effect is that of handling the
events one after the other: the rows a run needs are read at its start in a few statements (the
history of its parties, prices and model keys, which of its events were already handled), each
event is then handled in order against that state, kept up to date in memory (a declaration's
history holds exactly the declarations before it, stored or earlier in the run), and what the
run added is written at its end, one statement per table. The rule set in force is read once
per run: the batch is one transaction, and a change applies from the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from clearway import jsontext
from messaging.consumer import HandlerContext
from messaging.rows import write_rows
from risk import scoring
from risk.db import metadata
from risk.domain.rules import Assessment, RuleSet, assess
from risk.history_store import Recall, RunHistory
from risk.model.features import Declared, History, Value, features
from risk.model.gbm import RiskModel
from risk.model.platform import declared_from, from_json, to_json
from risk.model_history import Tallies
from schemas.envelope import utc_now
from schemas.events import (
    DeclarationReadyV1,
    DocumentAcceptedV1,
    DocumentsAcceptedV1,
    InspectionConcludedV1,
    RiskAssessedV1,
)

RulesInForce = Callable[[Session], RuleSet]

_OBSERVATION = metadata.tables["observation"]
_ASSESSMENT = metadata.tables["risk_assessment"]
_LABEL = metadata.tables["risk_label"]
_INSERT_OBSERVATION = insert(_OBSERVATION)
_INSERT_ASSESSMENT = insert(_ASSESSMENT)
_INSERT_LABEL = insert(_LABEL)
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_OBSERVED = select(_OBSERVATION.c.document_id).where(_OBSERVATION.c.document_id.in_(_IDS))
_ASSESSED = select(_ASSESSMENT.c.declaration_id, _ASSESSMENT.c.facts).where(
    _ASSESSMENT.c.declaration_id.in_(_IDS)
)
_LABELLED = select(_LABEL.c.declaration_id).where(_LABEL.c.declaration_id.in_(_IDS))


@dataclass
class _Assessing:
    """A declaration of the run being assessed: what its handling has found so far."""

    ctx: HandlerContext
    event: DeclarationReadyV1
    declared: Declared
    facts: str
    result: Assessment | None = None
    assessed_at: datetime | None = None
    model_input: tuple[Declared, dict[str, Value], History] | None = None

    @property
    def declaration_id(self) -> str:
        """The event's declaration id as text (the model's facts are referred to by it)."""
        return self.declared.ref


@dataclass(frozen=True)
class Intake:
    """Risk's handler of customs' events: `rules_in_force` reads the rule set in force, `model`
    is the learned model (None: rules only); `recall` keeps what its commits stored that later
    runs would otherwise read again."""

    rules_in_force: RulesInForce
    model: RiskModel | None = None
    recall: Recall = field(default_factory=Recall, compare=False, repr=False)

    def __call__(self, run: Sequence[tuple[HandlerContext, Any]]) -> None:
        """Handle a run of events in topic order, as handling them one by one would."""
        if not run:
            return
        session = run[0][0].session
        session.flush()  # ORM changes made before the run, if any, are what it reads
        conn = session.connection()
        # each accepted document's and declaration's id as text, once, in the order the loop
        # below meets them (a UUID's text costs about 4,000 instructions)
        documents = [str(d.document_id) for _, e in run for d in _accepted(e)]
        declarations = [str(e.declaration_id) for _, e in run if isinstance(e, DeclarationReadyV1)]
        labels = [str(e.declaration_id) for _, e in run if isinstance(e, InspectionConcludedV1)]
        observed = _ids(conn, _OBSERVED, documents)
        facts: dict[str, str | None] = (
            dict(conn.execute(_ASSESSED, {"ids": sorted({*declarations, *labels})}).tuples().all())
            if declarations or labels
            else {}
        )
        labelled = _ids(conn, _LABELLED, labels)

        # Which events are new, in order (an id handled earlier in the run is not new either).
        steps: list[tuple[HandlerContext, Any, Any]] = []
        assessing: list[_Assessing] = []
        document_ids, declaration_ids, label_ids = iter(documents), iter(declarations), iter(labels)
        for ctx, event in run:
            if isinstance(event, DocumentAcceptedV1 | DocumentsAcceptedV1):
                for document in _accepted(event):
                    document_id = next(document_ids)
                    if document_id not in observed:
                        observed.add(document_id)
                        steps.append((ctx, document, document_id))
            elif isinstance(event, DeclarationReadyV1):
                declaration_id = next(declaration_ids)
                if declaration_id not in facts:
                    declared = declared_from(
                        event, ctx.envelope.occurred_at.date(), ref=declaration_id
                    )
                    item = _Assessing(ctx, event, declared, jsontext.dumps(to_json(declared)))
                    facts[declaration_id] = item.facts
                    assessing.append(item)
                    steps.append((ctx, event, item))
            elif isinstance(event, InspectionConcludedV1):
                declaration_id = next(label_ids)
                if declaration_id not in labelled:
                    labelled.add(declaration_id)
                    # counted in the model's history only when assessed before the label came
                    known = facts.get(declaration_id)
                    steps.append((ctx, event, from_json(jsontext.loads(known)) if known else None))

        rules = self.rules_in_force(session) if assessing else None
        history = (
            RunHistory.load(
                conn, [(a.event, a.ctx.envelope.occurred_at) for a in assessing], rules, self.recall
            )
            if rules is not None
            else None
        )
        tallies = Tallies.load(
            conn,
            [a.declared for a in assessing]
            + [d for _, e, d in steps if isinstance(e, InspectionConcludedV1) and d is not None],
        )
        observations: list[dict[str, Any]] = []
        new_labels: list[dict[str, Any]] = []
        # one time for the run's rows, written in one transaction (a time of each row's own
        # cost 2% of the worker's CPU at 800/s: SQLite's writer formats each distinct datetime)
        now = utc_now()
        for ctx, event, extra in steps:
            if isinstance(event, DocumentAcceptedV1):
                observations.append(_observation(ctx, event, extra, now))
            elif isinstance(event, DeclarationReadyV1):
                assert rules is not None and history is not None
                at = ctx.envelope.occurred_at
                recorded = history.history(event, at=at, rules=rules)
                extra.result = assess(event, recorded, rules, declaration_id=extra.declaration_id)
                history.remember(event, at=at, declaration_id=extra.declaration_id)
                extra.assessed_at = now
                if self.model is not None:
                    read = tallies.history(extra.declared)
                    extra.model_input = (extra.declared, features(extra.declared, read), read)
                tallies.add(extra.declared)
            else:
                new_labels.append(_label(event))
                if extra is not None:
                    tallies.add_label(extra, event.found)

        assessments = self._conclude(assessing, rules) if rules is not None else []
        if observations:
            write_rows(conn, _INSERT_OBSERVATION, observations)
        if history is not None:
            history.write(conn)
            self.recall.stage(session, history)
        tallies.write(conn)
        if assessments:
            write_rows(conn, _INSERT_ASSESSMENT, assessments)
        if new_labels:
            write_rows(conn, _INSERT_LABEL, new_labels)

    def _conclude(self, assessing: list[_Assessing], rules: RuleSet) -> list[dict[str, Any]]:
        """The learned model's part (one call for the run), the rows and the announcements."""
        model = self.model
        parts: list[scoring.ModelPart | None] = [None] * len(assessing)
        if model is not None:
            inputs = [a.model_input for a in assessing if a.model_input is not None]
            parts = list(scoring.parts(model, inputs, rules))
        model_version = None if model is None else model.version
        rows = []
        for item, part in zip(assessing, parts, strict=True):
            event, result = item.event, item.result
            assert result is not None
            if model is not None and part is not None:
                result = scoring.combine(result, part, rules, model.version)
            rows.append(
                {
                    "declaration_id": item.declaration_id,
                    "order_no": event.order_no,
                    "ebc_code": event.ebc_code,
                    "buyer_key": event.buyer_key,
                    "score": result.score,
                    "route": result.route,
                    "reasons": jsontext.dumps([r.model_dump() for r in result.reasons]),
                    "ruleset_version": rules.version,
                    "assessed_at": item.assessed_at,
                    "model_version": model_version,
                    "model_score": None if part is None else part.score,
                    "facts": item.facts,
                }
            )
            item.ctx.emit(
                RiskAssessedV1(
                    declaration_id=event.declaration_id,
                    order_no=event.order_no,
                    score=result.score,
                    route=result.route,
                    reasons=result.reasons,
                    ruleset_version=rules.version,
                    model_version=model_version,
                ),
                key=event.order_no,
            )
        return rows


def _accepted(event: Any) -> Sequence[DocumentAcceptedV1]:
    """The accepted documents an event announces: customs announces a request's together
    (DocumentsAcceptedV1), and did one at a time before."""
    if isinstance(event, DocumentsAcceptedV1):
        return event.documents
    if isinstance(event, DocumentAcceptedV1):
        return (event,)
    return ()


def _ids(conn: Connection, statement: Any, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return set(conn.execute(statement, {"ids": sorted(set(ids))}).scalars())


def _observation(
    ctx: HandlerContext, event: DocumentAcceptedV1, document_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "message_type": event.message_type,
        "business_key": event.business_key,
        "ebp_code": event.parties.get("ebpCode"),
        "ebc_code": event.parties.get("ebcCode"),
        "goods_value": event.goods_value,
        "currency": event.currency,
        "line_count": event.line_count,
        "correlation_id": ctx.envelope.correlation_id,
        "observed_at": now,
    }


def _label(event: InspectionConcludedV1) -> dict[str, Any]:
    return {
        "declaration_id": str(event.declaration_id),
        "order_no": event.order_no,
        "found": event.found,
        "finding_codes": jsontext.dumps(list(event.finding_codes)),
        "outcome": event.outcome,
        "decided_by": event.decided_by,
        "decided_at": event.decided_at,
        "recorded_at": utc_now(),
    }
