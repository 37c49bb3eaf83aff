"""Bulk upload: a CSV or XLSX sheet of documents, filed in the background, row by row.

The sheet has one row per document: a `kind` column (order, payment, waybill, inventory) and the
CEB field names as columns (`line.<name>` for the one goods line of an order or inventory; see
`gateway.domain.filing.SHEET_COLUMNS`). The job and every row are stored before the upload is
answered, so a restart loses nothing accepted: unfinished jobs resume when the gateway starts.

Each row is checked on its own (customs pre-flight: the same format checks as a submission);
a bad row is reported (row, field, rule, message) and never blocks the others. Good rows are
submitted together, up to 100 documents of one kind per CEB message; if customs refuses a batch
as a whole, its rows are submitted one by one so only the bad ones fail.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.concurrency import run_in_threadpool

from gateway import filing
from gateway.context import Gateway
from gateway.db import TenantCode, UploadJob, UploadRow
from gateway.domain import filing as forms
from gateway.domain.access import Kind, Principal
from gateway.tenancy import Invalid, NotFound, audit
from schemas.envelope import utc_now

log = logging.getLogger(__name__)
BATCH = 100  # documents per CEB message (the import XSDs' maxOccurs)
MAX_ROWS = 5000
_RUNNING: set[asyncio.Task[None]] = set()


# --- sheets -----------------------------------------------------------------------------------


def template_rows() -> list[list[str]]:
    """The header and one example row per kind (the forms' example values)."""
    rows = [list(forms.SHEET_COLUMNS)]
    for kind in forms.KINDS:
        values = {f.name: f.example for f in forms.FORMS[kind]}
        rows.append([kind if c == "kind" else values.get(c, "") for c in forms.SHEET_COLUMNS])
    return rows


def template_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(template_rows())
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read it as UTF-8


def template_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "documents"
    for row in template_rows():
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_sheet(filename: str, data: bytes) -> list[dict[str, str]]:
    """The data rows of an uploaded CSV or XLSX, by column name (every cell as text)."""
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        table = list(_xlsx_rows(data))
    elif lowered.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("file", "utf-8", "a CSV file must be UTF-8 encoded") from None
        table = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise Invalid("file", "file-type", "upload a .csv or .xlsx file (see the templates)")
    if not table or "kind" not in [h.strip() for h in table[0]]:
        raise Invalid("file", "header", "the first row must name the columns, starting with kind")
    header = [h.strip() for h in table[0]]
    unknown = [h for h in header if h and h not in forms.SHEET_COLUMNS]
    if unknown:
        raise Invalid("file", "columns", "unknown columns: " + ", ".join(unknown[:10]))
    rows = [
        {name: value.strip() for name, value in zip(header, row, strict=False) if name}
        for row in table[1:]
    ]
    if len(rows) > MAX_ROWS:
        raise Invalid("file", "max-rows", f"at most {MAX_ROWS} rows per upload")
    return rows


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise Invalid("file", "xlsx", "the file is not a readable .xlsx workbook") from None
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(values_only=True):
        yield ["" if cell is None else str(cell) for cell in row]


# --- jobs -------------------------------------------------------------------------------------


def _error(field: str, rule: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "rule": rule, "message": message}]


def create_job(
    gateway: Gateway, principal: Principal, filename: str, rows: list[dict[str, str]]
) -> str:
    """Store the job and every row (bad rows already marked) before anything is filed."""
    now = utc_now()
    job = UploadJob(
        id=str(uuid.uuid4()),
        tenant_id=principal.tenant_id or "",
        actor=principal.name,
        filename=filename[:300],
        state="queued",
        total_rows=len(rows),
        created_at=now,
    )
    stored: list[UploadRow] = []
    for number, values in enumerate(rows, start=2):  # row 1 is the header
        kind = values.get("kind", "")
        state, errors, document = "pending", None, {}
        if kind not in forms.KINDS:
            state = "invalid"
            errors = _error("kind", "document-kind", f"kind is one of {', '.join(forms.KINDS)}")
        else:
            document = forms.document(kind, filing.stamped(kind, values, now=now))
            if forms.sender_code(kind, document["head"], principal.codes) is None:
                state = "invalid"
                names = " / ".join(forms.SENDER_FIELDS[kind])
                errors = _error(
                    forms.SENDER_FIELDS[kind][0],
                    "own-code",
                    f"{names} must be one of your enterprise codes",
                )
        stored.append(
            UploadRow(
                job_id=job.id,
                row_number=number,
                kind=kind[:20],
                document=json.dumps(document, ensure_ascii=False),
                state=state,
                errors=json.dumps(errors, ensure_ascii=False) if errors else None,
            )
        )
    with Session(gateway.engine, expire_on_commit=False) as session, session.begin():
        session.add(job)
        session.flush()
        session.add_all(stored)
        audit(session, principal, "upload.create", job.id, {"file": filename, "rows": len(rows)})
    return job.id


def start(gateway: Gateway, job_id: str) -> None:
    """Process the job in the background, in this process."""
    task = asyncio.get_running_loop().create_task(process(gateway, job_id))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


def resume(gateway: Gateway) -> None:
    """Start every job a previous run of the gateway left unfinished."""
    with Session(gateway.engine) as session:
        unfinished = session.execute(
            select(col(UploadJob.id)).where(col(UploadJob.state) != "done")
        ).scalars()
        for job_id in list(unfinished):
            start(gateway, job_id)


async def wait_all() -> None:
    """Wait for the jobs running in this process (used when the gateway stops, and by tests)."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)


def _principal(gateway: Gateway, job: UploadJob) -> Principal:
    with Session(gateway.engine) as session:
        codes = session.execute(
            select(col(TenantCode.code)).where(col(TenantCode.tenant_id) == job.tenant_id)
        ).scalars()
        return Principal(
            kind=Kind.TENANT,
            name=job.actor,
            tenant_id=job.tenant_id,
            codes=frozenset(codes),
            via="upload",
        )


def _rows(gateway: Gateway, job_id: str, state: str) -> list[UploadRow]:
    with Session(gateway.engine, expire_on_commit=False) as session:
        return list(
            session.execute(
                select(UploadRow)
                .where(col(UploadRow.job_id) == job_id, col(UploadRow.state) == state)
                .order_by(col(UploadRow.row_number))
            ).scalars()
        )


def _update(gateway: Gateway, row_id: int | None, **values: Any) -> None:
    with Session(gateway.engine) as session, session.begin():
        row = session.get(UploadRow, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def _set_job(gateway: Gateway, job_id: str, **values: Any) -> None:
    with Session(gateway.engine) as session, session.begin():
        job = session.get(UploadJob, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)


def _row_errors(errors: list[dict[str, Any]]) -> str:
    shown = [
        {
            "field": forms.field_of_pointer(str(e.get("path", ""))) or e.get("path") or "",
            "rule": e.get("rule", ""),
            "message": e.get("message", ""),
        }
        for e in errors
    ]
    return json.dumps(shown, ensure_ascii=False)


async def process(gateway: Gateway, job_id: str) -> None:
    """Check every pending row on its own, then file the good ones in batches."""
    try:
        await _process(gateway, job_id)
    except Exception:  # the job stays unfinished and resumes at the next start
        log.exception("upload %s stopped; it resumes when the gateway restarts", job_id)


async def _process(gateway: Gateway, job_id: str) -> None:
    with Session(gateway.engine, expire_on_commit=False) as session:
        job = session.get(UploadJob, job_id)
    if job is None or job.state == "done":
        return
    await run_in_threadpool(_set_job, gateway, job_id, state="running")
    principal = await run_in_threadpool(_principal, gateway, job)
    for row in await run_in_threadpool(_rows, gateway, job_id, "pending"):
        answer = await filing.preflight(gateway, principal, row.kind, json.loads(row.document))
        if answer.status_code != 200:
            errors = _row_errors(filing.problem_errors(answer))
            await run_in_threadpool(_update, gateway, row.id, state="invalid", errors=errors)
            continue
        found = answer.json()["formatErrors"]
        if found:
            errors = _row_errors(found)
            await run_in_threadpool(_update, gateway, row.id, state="invalid", errors=errors)
        else:
            await run_in_threadpool(_update, gateway, row.id, state="valid")
    valid = await run_in_threadpool(_rows, gateway, job_id, "valid")
    for kind in forms.KINDS:
        mine = [r for r in valid if r.kind == kind]
        for start_at in range(0, len(mine), BATCH):
            await _file(gateway, principal, kind, mine[start_at : start_at + BATCH])
    await run_in_threadpool(_set_job, gateway, job_id, state="done", finished_at=utc_now())


async def _file(gateway: Gateway, principal: Principal, kind: str, rows: list[UploadRow]) -> None:
    documents = [json.loads(r.document) for r in rows]
    try:
        answer = await filing.submit(gateway, principal, kind, documents)
    except filing.SigningUnavailable as exc:
        errors = json.dumps(_error("", "hosted-signing", str(exc)), ensure_ascii=False)
        for row in rows:
            await run_in_threadpool(_update, gateway, row.id, state="refused", errors=errors)
        return
    if answer.status_code == 202:
        for row, accepted in zip(rows, answer.json()["documents"], strict=True):
            await run_in_threadpool(
                _update, gateway, row.id, state="filed", reference=accepted["reference"]
            )
        return
    if len(rows) > 1:  # one bad document refuses the whole message: file them one by one
        for row in rows:
            await _file(gateway, principal, kind, [row])
        return
    errors = _row_errors(filing.problem_errors(answer))
    await run_in_threadpool(_update, gateway, rows[0].id, state="refused", errors=errors)


def status(gateway: Gateway, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job's progress and its per-row report (only the tenant's own jobs)."""
    with Session(gateway.engine) as session:
        job = session.get(UploadJob, job_id)
        if job is None or job.tenant_id != principal.tenant_id:
            raise NotFound(f"no upload {job_id}")
        counts: dict[str, int] = {
            state: number
            for state, number in session.execute(
                select(col(UploadRow.state), func.count())
                .where(col(UploadRow.job_id) == job_id)
                .group_by(col(UploadRow.state))
            ).all()
        }
        rows = session.execute(
            select(UploadRow)
            .where(col(UploadRow.job_id) == job_id)
            .order_by(col(UploadRow.row_number))
        ).scalars()
        report = [
            {
                "row": r.row_number,
                "kind": r.kind,
                "state": r.state,
                "reference": r.reference,
                "errors": json.loads(r.errors) if r.errors else [],
            }
            for r in rows
            if r.state in ("invalid", "refused", "filed")
        ]
    finished = sum(counts.get(s, 0) for s in ("invalid", "refused", "filed"))
    return {
        "id": job.id,
        "filename": job.filename,
        "state": job.state,
        "total": job.total_rows,
        "finished": finished,
        "filed": counts.get("filed", 0),
        "invalid": counts.get("invalid", 0),
        "refused": counts.get("refused", 0),
        "percent": 100 if job.total_rows == 0 else int(100 * finished / job.total_rows),
        "rows": report,
    }
