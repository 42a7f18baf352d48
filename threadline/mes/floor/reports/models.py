"""ORM models of traceability reports: one row per requested report, worked by a durable job
(threadline/jobs) that stores the document in the blob store and finishes the row exactly once.

The document exists twice: ``sha256`` is the printable HTML (the reference's ``content``),
``json_sha256`` the same report as JSON for machines.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.demand.models import status_column
from threadline.mes.floor.models import JobStatus
from threadline.mes.models import BureauOwned


class ReportDocument:
    """What both reports have: status, who asked, the job working it, the stored document."""

    status: Mapped[JobStatus]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The durable job that builds it: a job that ended without finishing the row (its process
    # died too often) shows the row as ``error``, never as pending forever.
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None]
    json_sha256: Mapped[str | None] = mapped_column(String(64))
    json_file_size: Mapped[int | None]


class TraceabilityReport(ReportDocument, BureauOwned, Base):
    """A piece's report (``/traceability-report/``), limited to the ``filters`` groups."""

    __tablename__ = "mes_traceability_reports"

    status: Mapped[JobStatus] = mapped_column(
        status_column(JobStatus, "mes_trace_report_status"), default=JobStatus.pending
    )
    piece_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_pieces.id", ondelete="CASCADE"), index=True
    )
    filters: Mapped[list[Any]] = mapped_column(default=list)


class MaterialBatchTraceabilityReport(ReportDocument, BureauOwned, Base):
    """A material batch's report (``/material-batch-traceability-report/``)."""

    __tablename__ = "mes_batch_traceability_reports"

    status: Mapped[JobStatus] = mapped_column(
        status_column(JobStatus, "mes_batch_trace_report_status"),
        default=JobStatus.pending,
    )
    material_batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="CASCADE"), index=True
    )
