"""Requesting a traceability report and building it.

A POST stores the request (``status: pending``) and enqueues a ``mes.traceability-report`` job
in the same transaction. The job builds the document (threadline/mes/floor/reports/thread.py),
stores its HTML and JSON in the blob store and marks the row ``complete``; anything that goes
wrong while building ends the row in ``error`` with the reason in ``error``. The row's rendered
``status`` also follows its job: ``processing`` while a worker holds it, and ``error`` if the job
ended without finishing the row (its server kept dying under it), so no report waits forever.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Role, User, Workspace
from threadline.blobs import BlobStore
from threadline.db import utcnow
from threadline.errors import Invalid
from threadline.jobs import service as jobs
from threadline.jobs.models import Job
from threadline.jobs.models import JobStatus as JobRowStatus
from threadline.mes.demand.models import Piece
from threadline.mes.face import PREFIX, MesContext
from threadline.mes.files import links
from threadline.mes.floor.models import JobStatus
from threadline.mes.floor.reports import batch as batch_thread
from threadline.mes.floor.reports import document, thread
from threadline.mes.floor.reports.models import (
    MaterialBatchTraceabilityReport,
    TraceabilityReport,
)
from threadline.mes.material.models import MaterialBatch
from threadline.mes.material.resources import material_batch
from threadline.mes.resources import Links, Rules, Values, render

log = logging.getLogger(__name__)

JOB_KIND = "mes.traceability-report"
PIECE_KIND = "traceability-report"
BATCH_KIND = "material-batch-traceability-report"
MODELS: dict[str, Any] = {
    PIECE_KIND: TraceabilityReport,
    BATCH_KIND: MaterialBatchTraceabilityReport,
}
FAILED = "The report could not be built ({name}); the server log has the details."
USER_GONE = "The user who asked for the report no longer exists."


def check_filters(raw: Any) -> list[str]:
    """``filters`` as sent: a non-empty list of the reference's groups, each once."""
    if raw is None:
        raise Invalid("The field filters is required.", code="FIELD_REQUIRED", field="filters")
    expected = ", ".join(thread.FILTERS)
    if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
        raise Invalid(
            f"The value of filters must be a non-empty list of: {expected}.",
            code="INVALID_FIELD",
            field="filters",
        )
    unknown = [f for f in raw if f not in thread.FILTERS]
    if unknown:
        raise Invalid(
            f"The value of filters has unknown groups ({', '.join(unknown)}); "
            f"the groups are: {expected}.",
            code="INVALID_FIELD",
            field="filters",
            unknown=unknown,
        )
    return list(dict.fromkeys(raw))


class ReportRules(Rules):
    """Both reports: stored pending with their asker, a job enqueued, links once complete."""

    kind: str = PIECE_KIND

    async def before_create(self, ctx: MesContext, values: Values, links_: Links) -> None:
        if self.kind == PIECE_KIND:
            values["filters"] = check_filters(values.get("filters"))
        values["user_id"] = ctx.user.id
        values["status"] = JobStatus.pending

    async def after_create(self, ctx: MesContext, row: Any, links_: Links) -> None:
        job = jobs.enqueue(
            ctx.session,
            kind=JOB_KIND,
            workspace_id=row.workspace_id,
            payload={"kind": self.kind, "id": str(row.id)},
            actor_id=ctx.user.id,
        )
        row.job_id = job.id

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        open_jobs = [r.job_id for r in rows if r.job_id and r.status == JobStatus.pending]
        job_rows = {
            j.id: j
            for j in (
                await ctx.session.scalars(select(Job).where(Job.id.in_(open_jobs)))
                if open_jobs
                else []
            )
        }
        key = ctx.runtime.secret_key
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            status, error = shown_status(row, job_rows.get(row.job_id) if row.job_id else None)
            done = status == JobStatus.complete
            out[row.id] = {
                "status": status.value,
                "error": error,
                "content": links.link(key, ctx.base_url, "content", self.kind, row.id, row.sha256)
                if done and row.sha256
                else None,
                "content_json": links.link(
                    key, ctx.base_url, "json", self.kind, row.id, row.json_sha256
                )
                if done and row.json_sha256
                else None,
            }
        return out


class BatchReportRules(ReportRules):
    kind = BATCH_KIND


def shown_status(row: Any, job: Job | None) -> tuple[JobStatus, str | None]:
    """The report's status as its job makes it: the row's own once it finished, else its
    job's (``processing`` while claimed, ``error`` when it ended without finishing the row)."""
    if row.status != JobStatus.pending or job is None:
        return row.status, row.error
    if job.status == JobRowStatus.processing:
        return JobStatus.processing, None
    if job.status == JobRowStatus.error:
        return JobStatus.error, job.error
    return JobStatus.pending, None


# --- the job ------------------------------------------------------------------------------------


def _bureau(workspace: Workspace) -> dict[str, Any]:
    return {"uri": f"{PREFIX}/bureau/{workspace.id}/", "name": workspace.name}


async def build_piece(
    session: AsyncSession, row: TraceabilityReport, workspace: Workspace, user: User
) -> tuple[bytes, bytes]:
    """The piece report's JSON and HTML."""
    piece = await session.get(Piece, row.piece_id)
    assert piece is not None  # the report cascades with its piece
    built = await thread.piece_report(session, piece, list(row.filters))
    doc = {
        "type": PIECE_KIND,
        "report": f"{PREFIX}/{PIECE_KIND}/{row.id}/",
        "bureau": _bureau(workspace),
        "piece": f"{PREFIX}/piece/{piece.id}/",
        "filters": list(row.filters),
        "user": user.email,
        "generated": utcnow().isoformat(),
        **built,
    }
    return orjson.dumps(doc), document.piece_document(doc)


async def build_batch(
    session: AsyncSession, row: MaterialBatchTraceabilityReport, workspace: Workspace, user: User
) -> tuple[bytes, bytes]:
    """The batch report's JSON and HTML."""
    batch = await session.get(MaterialBatch, row.material_batch_id)
    assert batch is not None  # the report cascades with its batch
    ctx = MesContext(
        session=session,
        user=user,
        runtime=None,  # type: ignore[arg-type]  # a job reads no runtime service
        base_url="",  # URIs relative, as the stored document keeps them
        roles={row.workspace_id: Role.viewer},
    )
    built = await batch_thread.batch_report(ctx, batch)
    doc = {
        "type": BATCH_KIND,
        "report": f"{PREFIX}/{BATCH_KIND}/{row.id}/",
        "bureau": _bureau(workspace),
        "material_batch": (await render(ctx, material_batch, [batch]))[0],
        "user": user.email,
        "generated": utcnow().isoformat(),
        **built,
    }
    return orjson.dumps(doc), document.batch_document(doc)


BUILDERS: dict[str, Callable[..., Awaitable[tuple[bytes, bytes]]]] = {
    PIECE_KIND: build_piece,
    BATCH_KIND: build_batch,
}


async def _fail(session: AsyncSession, model: Any, row_id: uuid.UUID, message: str) -> None:
    # An UPDATE rather than attributes: after a rolled-back savepoint the row's state is stale.
    await session.execute(
        update(model)
        .where(model.id == row_id)
        .values(status=JobStatus.error, error=message, updated_at=utcnow())
    )


async def build(session: AsyncSession, blobs: BlobStore, kind: str, row_id: uuid.UUID) -> Any:
    """The job's work: the report's documents into the blob store, the row complete; or the row
    in ``error`` with the reason. Only a lost database raises (the job is then retried)."""
    model = MODELS[kind]
    row = await session.get(model, row_id)
    if row is None or row.status in (JobStatus.complete, JobStatus.error):
        return {"skipped": "no pending report"}
    user = await session.get(User, row.user_id) if row.user_id else None
    if user is None:
        await _fail(session, model, row_id, USER_GONE)
        return {"error": USER_GONE}
    workspace = await session.get(Workspace, row.workspace_id)
    assert workspace is not None  # the report cascades with its bureau
    try:
        async with session.begin_nested():
            data, page = await BUILDERS[kind](session, row, workspace, user)
            json_blob = await blobs.put_bytes(data)
            html_blob = await blobs.put_bytes(page)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the job service retries the whole job
    except Exception as exc:  # any other failure ends the report in error, never stuck
        log.exception("traceability report %s (%s) failed", row_id, kind)
        message = FAILED.format(name=type(exc).__name__)
        await _fail(session, model, row_id, message)
        return {"error": message}
    row.sha256, row.file_size = html_blob.sha256, html_blob.size
    row.json_sha256, row.json_file_size = json_blob.sha256, json_blob.size
    row.status, row.error = JobStatus.complete, None
    return {"status": "complete", "sha256": html_blob.sha256}


Handler = Callable[[AsyncSession, Any], Awaitable[dict[str, Any] | None]]


def job_handler(blobs: BlobStore) -> Handler:
    """The ``mes.traceability-report`` handler for threadline/jobs, bound to the server's blob
    store (registered where the worker starts, like the order quotes')."""

    async def handle(session: AsyncSession, job: Any) -> dict[str, Any] | None:
        kind, raw_id = job.payload.get("kind"), job.payload.get("id")
        if kind not in MODELS or not isinstance(raw_id, str):
            return {"skipped": "unknown payload"}
        result: dict[str, Any] = await build(session, blobs, kind, uuid.UUID(raw_id))
        return result

    return handle
