"""ORM models of durable jobs: one row per long action, claimed and run by a server's worker."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base, enum_column, utcnow


class JobStatus(enum.StrEnum):
    """The reference's job statuses (mes-api-reference: ``status`` of long actions)."""

    pending = "pending"
    processing = "processing"
    complete = "complete"
    error = "error"


class Job(Base):
    """A durable job. ``attempts`` counts claims: it is also the claim's token, so a worker whose
    claim was taken over (it looked dead) cannot complete the job a second time."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim query: due pending rows, and processing rows whose heartbeat went quiet.
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(100))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.pending
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    # The user-facing reason of an ``error`` job (or of the last failed attempt of a retried one).
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # Which process holds the claim ("host:pid:random"), since when, and its last sign of life.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # Not claimed before this time (retries back off).
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
