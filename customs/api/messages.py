"""Routes for CEB messages: submitting them, and the receipts and submissions they lead to."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from clearway import idempotency
from clearway.http import current_correlation_id
from customs import deciding, preflight, service, visibility
from customs.api.problems import RequestInvalid, SigningNotConfigured
from customs.api.scope import CallerOwner, CallerScope
from customs.ceb import jsonform
from customs.ceb.parsing import MAX_BODY_BYTES, too_large
from customs.domain.errors import MessageFormatError
from customs.service import ReceiptView

router = APIRouter()

_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            jsonform.MEDIA_TYPE: {
                "schema": {
                    "oneOf": [jsonform.json_schema(t) for t in jsonform.json_message_types()]
                }
            },
        },
    }
}


# Submissions run at most this many at a time in the thread pool. A submission's thread waits for
# the group commit, whose writer checks and writes the messages queued meanwhile as one group
# (`service.check_and_write`), so more threads make larger groups, whose reads, statements and
# commit are shared. bench.e2e, 2026-12-06 (the checks still in each caller's thread),
# alternating: PostgreSQL at 300/s offered 199/214 declarations/s decided with 4, 236/243/253
# with 8, 266/267 with 16; SQLite at 450/s p50 433/442 ms with 4, 339/342/392 with 8, 368 with
# 16. 2026-12-07 (checks in the writer's turn, a slow hour, 16 clients): SQLite at 200/s offered
# 166/s decided with 16 against 155/s with 8 (means of eight alternating pairs), at 100/s p50
# 311-319 against 406-492 ms; PostgreSQL at 100/s 67-88 against 62-83/s. Each thread holds a
# message in memory (the API's RSS at the end of a run 172 MB with 16 against 164 with 8) and
# may take a pooled connection.
SUBMIT_THREADS = 16


def _submit_limiter(request: Request) -> CapacityLimiter:
    """The application's limiter of concurrent submissions (made in its event loop)."""
    state = request.app.state
    limiter: CapacityLimiter | None = getattr(state, "submit_limiter", None)
    if limiter is None:
        limiter = state.submit_limiter = CapacityLimiter(SUBMIT_THREADS)
    return limiter


async def _read_capped(request: Request) -> bytes:
    """The body, refused as soon as it passes the cap (nothing more is read or parsed)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/messages", status_code=202, openapi_extra=_MESSAGE_BODY)
async def submit_message(
    request: Request,
    scope: CallerScope,
    owner: CallerOwner,
) -> Response:
    """Submit one CEB message as XML (or its JSON form, application/json): up to 100 documents;
    202 with a receipt reference per document. With an Idempotency-Key, a replay answers the
    first answer unchanged (the key is stored in the transaction that stores the documents)."""
    body = await _read_capped(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    as_json = media_type == jsonform.MEDIA_TYPE
    keeper: idempotency.Keeper = request.app.state.idempotency

    async def handle(held: idempotency.Claim | None) -> Response:
        xml = body
        try:
            if as_json:  # the same message as XML, then the same checks
                xml = await run_in_threadpool(jsonform.to_xml, body)

            def finish(conn: Connection, accepted: service.SubmissionAccepted) -> None:
                if held is not None:
                    response = _accepted_response(accepted)
                    idempotency.complete(
                        conn, keeper.table, held, idempotency.stored_response(response)
                    )

            accepted = await to_thread.run_sync(
                partial(
                    service.submit_message,
                    request.app.state.customs,
                    xml,
                    correlation_id=current_correlation_id(),
                    scope=scope,
                    finish=finish,
                ),
                limiter=_submit_limiter(request),
            )
        except MessageFormatError as exc:
            if as_json:
                raise jsonform.in_json_terms(exc) from None
            raise
        return _accepted_response(accepted)

    return await keeper.run(request, owner=owner, body=body, handler=handle)


@router.post("/preflight")
async def preflight_check(request: Request, scope: CallerScope) -> dict[str, Any]:
    """Check one import document (its JSON form) as a submission would, storing nothing: format
    errors (path, rule, value), match problems against the counterparts on file you may see, and
    for an inventory the tax estimate and the buyer's remaining annual quota."""
    body = await _read_capped(request)
    return await run_in_threadpool(
        partial(preflight.preflight, request.app.state.customs, body, scope=scope)
    )


@router.post("/render", responses={200: {"content": {"application/xml": {}}}})
async def render_message(request: Request) -> Response:
    """The unsigned CEB XML a JSON message stands for (also for kinds that must be signed), to
    sign and then submit as XML; only the JSON's shape is checked, nothing is stored."""
    body = await _read_capped(request)
    xml = await run_in_threadpool(partial(jsonform.to_xml, body, unsigned=True))
    return Response(xml, media_type="application/xml")


def _accepted_response(accepted: service.SubmissionAccepted) -> Response:
    content = {
        "submissionId": accepted.submission_id,
        "messageType": accepted.message_type,
        "documents": [
            {
                "reference": d.reference,
                "businessKey": d.business_key,
                "returnStatus": d.return_status,
                "receipt": f"/v1/receipts/{d.reference}",
            }
            for d in accepted.documents
        ],
    }
    return Response(
        idempotency.json_body(content),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/v1/submissions/{accepted.submission_id}"},
    )


def _receipt_json(view: ReceiptView) -> dict[str, Any]:
    return {
        "reference": view.reference,
        "messageType": view.receipt_message,
        **view.keys,
        "returnStatus": view.return_status,
        "returnTime": view.return_time,
        "returnInfo": view.return_info,
        "history": list(view.history),
    }


def response_format(request: Request) -> str:
    """json, xml (the CEB receipt) or dxp (the receipt in a DxpMsg signed by the platform)."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt.lower() not in ("json", "xml", "dxp"):
            raise RequestInvalid("format", "format", "format is json, xml or dxp")
        return fmt.lower()
    accept = request.headers.get("accept", "")
    return "xml" if "xml" in accept and "json" not in accept else "json"


@router.get("/receipts")
async def list_receipts(
    request: Request,
    scope: CallerScope,
    *,
    after: Annotated[int, Query(ge=0, description="After this receipt id (a cursor)")] = 0,
    since: Annotated[datetime | None, Query(description="Issued at or after this time")] = None,
    status: Annotated[int | None, Query(description="Only this return status")] = None,
    messageType: Annotated[str | None, Query(pattern=r"^CEB\d{3}Message$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    """Pull the receipts issued to your documents, oldest first: keep the last `id` and pass it
    as `after` next time."""
    found = await run_in_threadpool(
        partial(
            service.receipts_since,
            request.app.state.customs,
            scope,
            after=after,
            since=since,
            status=status,
            message_type=messageType,
            limit=limit,
        )
    )
    return {"receipts": found, "next": found[-1]["id"] if found else after}


@router.get(
    "/receipts/{reference}",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
async def get_receipt(reference: str, request: Request, scope: CallerScope) -> Response:
    """The latest receipt of a document: JSON (with history), the official XML (?format=xml),
    or that XML in a DXP envelope signed by the platform (?format=dxp)."""
    fmt = response_format(request)
    customs = request.app.state.customs
    if not await run_in_threadpool(visibility.document_visible, customs, scope, reference):
        raise deciding.NotFound(f"no document with reference {reference}")
    view = await run_in_threadpool(service.receipt_view, customs, reference)
    if fmt == "xml":
        return Response(view.as_xml(), media_type="application/xml")
    if fmt == "dxp":
        signer = customs.receipt_signer
        if signer is None:
            raise SigningNotConfigured("set CUSTOMS_RECEIPT_KEY_FILE and CUSTOMS_RECEIPT_CERT_FILE")
        signed = await run_in_threadpool(
            partial(
                signer.envelope,
                view.as_xml(),
                msg_type=view.receipt_message,
                receiver_id=view.sender_code,
            )
        )
        return Response(signed, media_type="application/xml")
    return JSONResponse(_receipt_json(view))


@router.get("/platform-certificate", responses={200: {"content": {"application/x-pem-file": {}}}})
async def platform_certificate(request: Request) -> Response:
    """The certificate that signs the platform's receipts (PEM), to verify them with."""
    signer = request.app.state.customs.receipt_signer
    if signer is None:
        raise SigningNotConfigured("set CUSTOMS_RECEIPT_KEY_FILE and CUSTOMS_RECEIPT_CERT_FILE")
    return Response(signer.certificate_pem, media_type="application/x-pem-file")


@router.get("/submissions/{submission_id}")
async def get_submission(
    submission_id: str, request: Request, scope: CallerScope
) -> dict[str, Any]:
    """The documents of a submission with their current return status."""
    customs = request.app.state.customs
    if not await run_in_threadpool(visibility.submission_visible, customs, scope, submission_id):
        raise deciding.NotFound(f"no submission {submission_id}")
    docs = await run_in_threadpool(
        service.submission_documents, request.app.state.customs, submission_id
    )
    return {
        "submissionId": submission_id,
        "documents": [
            {
                "reference": d.id,
                "businessKey": d.business_key,
                "returnStatus": d.return_status,
                "receipt": f"/v1/receipts/{d.id}",
            }
            for d in docs
        ],
    }
