"""What happens to a MES file's bytes: the upload PUT streams them into the blob store (no
second copy), then a durable job reads them back, checks them intact (``virus_scan: passed`` —
Threadline runs no anti-virus, see docs/mes/files.md) and computes a model's geometry.

A file that cannot be read ends in the reference's statuses, never a 500: the design file in
``error`` with its reason in ``notes``, the model in ``irreparable`` (unreadable geometry),
``error`` (a format Threadline cannot convert) or ``file-too-large``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.blobs import BlobStore, BlobTooLarge
from threadline.errors import Invalid, NotFound, PayloadTooLarge
from threadline.jobs import service as jobs
from threadline.mes.files import geometry
from threadline.mes.files.models import (
    DesignFile,
    DesignFileStatus,
    Document,
    Model,
    ModelStatus,
    VirusScan,
)
from threadline.mes.files.service import READABLE_FORMATS

JOB_KIND = "mes.file.process"
MODELS: dict[str, Any] = {"model": Model, "design-file": DesignFile, "document": Document}


async def waiting_row(session: AsyncSession, kind: str, row_id: uuid.UUID) -> Any:
    """The row an upload link names, if it still waits for its bytes (else 404 / 400)."""
    row = await session.get(MODELS[kind], row_id)
    if row is None:
        raise NotFound(f"The requested {kind} cannot be found.", code="RESOURCE_NOT_FOUND")
    if row.sha256 is not None:
        raise Invalid(f"This {kind} already has its content.", code="ALREADY_UPLOADED")
    return row


async def receive(
    session: AsyncSession,
    blobs: BlobStore,
    kind: str,
    row_id: uuid.UUID,
    chunks: AsyncIterable[bytes],
    *,
    max_bytes: int,
) -> None:
    """Store the PUT's bytes and hand the row to the job (``enqueue`` in the same commit)."""
    try:
        blob = await blobs.put_stream(chunks, max_bytes=max_bytes)
    except BlobTooLarge:
        row = await waiting_row(session, kind, row_id)
        _fail_too_large(row)
        await _fail_models_of(session, row, ModelStatus.file_too_large)
        await session.commit()
        raise PayloadTooLarge(
            f"The file is larger than {max_bytes} bytes.", code="FILE_TOO_LARGE"
        ) from None
    row = await waiting_row(session, kind, row_id)
    row.sha256, row.file_size = blob.sha256, blob.size
    if isinstance(row, (Model, DesignFile)):
        row.status = ModelStatus.processing if kind == "model" else DesignFileStatus.processing
    if isinstance(row, DesignFile):
        for model in await _models_of(session, row):
            model.sha256, model.file_size = blob.sha256, blob.size
            model.status = ModelStatus.processing
    await enqueue(session, kind, row)


async def enqueue(session: AsyncSession, kind: str, row: Any) -> None:
    """A durable job processes the row (threadline/jobs), once the caller's transaction commits."""

    jobs.enqueue(
        session,
        kind=JOB_KIND,
        workspace_id=row.workspace_id,
        payload={"kind": kind, "id": str(row.id)},
    )


def _fail_too_large(row: Any) -> None:
    if isinstance(row, Model):
        row.status = ModelStatus.file_too_large
    elif isinstance(row, DesignFile):
        row.status = DesignFileStatus.error
        row.notes = "The file is larger than the upload limit (MAX_UPLOAD_MB)."


async def _models_of(session: AsyncSession, design: DesignFile) -> list[Model]:
    return list(await session.scalars(select(Model).where(Model.design_file_id == design.id)))


async def _fail_models_of(session: AsyncSession, row: Any, status: ModelStatus) -> None:
    if isinstance(row, DesignFile):
        for model in await _models_of(session, row):
            model.status = status


async def _read(blobs: BlobStore, sha256: str) -> bytes | None:
    """The stored bytes if they hash to their digest (None when missing or corrupt)."""
    try:
        if not await blobs.verify(sha256):
            return None
    except KeyError:
        return None
    return b"".join([chunk async for chunk in blobs.read(sha256)])


async def process(
    session: AsyncSession, blobs: BlobStore, kind: str, row_id: uuid.UUID
) -> dict[str, Any]:
    """The job's work for one row; returns the job's result."""
    row = await session.get(MODELS[kind], row_id)
    if row is None or row.sha256 is None:
        return {"skipped": "no such row or no content"}
    data = await _read(blobs, row.sha256)
    if data is None:
        _set_error(row, "The stored bytes are missing or do not match their digest.")
        await _fail_models_of(session, row, ModelStatus.error)
        return {"status": "error"}
    row.virus_scan = VirusScan.passed
    if isinstance(row, Document):
        return {"status": "passed"}
    models = [row] if isinstance(row, Model) else await _models_of(session, row)
    fmt = (row.conversion_original_type or row.type) if isinstance(row, Model) else row.format
    if fmt not in READABLE_FORMATS:
        why = f"Threadline reads STL and STEP files; {fmt} files cannot be converted."
        _set_error(row, why)
        for model in models:
            model.status, model.conversion_status, model.conversion_notes = (
                ModelStatus.error,
                "failed",
                why,
            )
        return {"status": "error", "reason": why}
    try:
        measured = geometry.measure(data, fmt)
    except geometry.UnreadableGeometry as exc:
        _set_error(row, f"The file cannot be read as {fmt}: {exc}")
        for model in models:
            model.status = ModelStatus.irreparable
            model.virus_scan = VirusScan.passed
        return {"status": "irreparable", "reason": str(exc)}
    for model in models:
        apply_geometry(model, measured)
        model.virus_scan = VirusScan.passed
        if model.conversion_original_type:
            model.conversion_status = "complete"
    if isinstance(row, DesignFile):
        row.status = DesignFileStatus.processed
    return {"status": "processed", "polygons": measured.polygons}


def apply_geometry(model: Model, measured: geometry.Measured) -> None:
    """Geometry in mm: the file's unit scales the measured numbers."""
    for name, value in geometry.in_mm(measured, model.file_unit).items():
        setattr(model, name, value)
    model.status = ModelStatus.processed


def _set_error(row: Any, why: str) -> None:
    if isinstance(row, DesignFile):
        row.status, row.notes = DesignFileStatus.error, why
    elif isinstance(row, Model):
        row.status, row.conversion_notes = ModelStatus.irreparable, why


Handler = Callable[[AsyncSession, Any], Awaitable[dict[str, Any] | None]]


def job_handler(blobs: BlobStore) -> Handler:
    """The ``mes.file.process`` handler ``fn(session, job)`` for threadline/jobs, bound to the
    running server's blob store (register it where the worker starts, with ``runtime.blobs``)."""

    async def handle(session: AsyncSession, job: Any) -> dict[str, Any] | None:
        kind, raw_id = job.payload.get("kind"), job.payload.get("id")
        if kind not in MODELS or not isinstance(raw_id, str):
            return {"skipped": "unknown payload"}
        return await process(session, blobs, kind, uuid.UUID(raw_id))

    return handle


async def stored_digests(session: AsyncSession) -> set[str]:
    """Every digest a MES file points at: ``threadline fsck --repair`` must not delete these as
    orphans (it counts vault versions only)."""
    digests: set[str] = set()
    for model in MODELS.values():
        digests.update(await session.scalars(select(model.sha256).where(model.sha256.is_not(None))))
    return digests
