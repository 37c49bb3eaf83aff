"""Risk use cases: record what customs accepted, show it."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from messaging.consumer import HandlerContext
from risk.db import Observation
from schemas.envelope import utc_now
from schemas.events import DocumentAcceptedV1


class NotFound(LookupError):
    """Risk has not seen that document."""


def record_accepted(ctx: HandlerContext, event: DocumentAcceptedV1) -> None:
    """Keep an accepted customs document as an observation (once, whatever the redeliveries)."""
    document_id = str(event.document_id)
    if ctx.session.get(Observation, document_id) is not None:
        return
    ctx.session.add(
        Observation(
            document_id=document_id,
            message_type=event.message_type,
            business_key=event.business_key,
            ebp_code=event.parties.get("ebpCode"),
            ebc_code=event.parties.get("ebcCode"),
            goods_value=event.goods_value,
            currency=event.currency,
            line_count=event.line_count,
            correlation_id=ctx.envelope.correlation_id,
            observed_at=utc_now(),
        )
    )


def observation(engine: Engine, document_id: str) -> Observation:
    """What risk recorded about one customs document."""
    with Session(engine) as session:
        found = session.get(Observation, document_id)
        if found is None:
            raise NotFound(f"risk has no observation of document {document_id}")
        return found
