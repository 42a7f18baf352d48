"""ORM models of collaboration (productflo-sync-api: Comments, Design Reviews, Standalone Tasks,
Review Templates). Everything hangs off a vault file and belongs to that file's workspace."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from threadline.auth.models import User
from threadline.db import Base, JSONDoc, enum_column

MAX_COMMENT = 10_000


class ReviewStatus(enum.StrEnum):
    """open → in_review → completed | canceled; open → canceled."""

    open = "open"
    in_review = "in_review"
    completed = "completed"
    canceled = "canceled"


class TaskStatus(enum.StrEnum):
    """Status of a standalone task or a review task."""

    open = "open"
    in_progress = "in_progress"
    done = "done"
    canceled = "canceled"


class Comment(Base):
    """A remark on a file, optionally pinned to one of its versions."""

    __tablename__ = "collab_comments"
    __table_args__ = (
        Index("ix_collab_comments_file_created", "file_id", "created_at"),
        Index("ix_collab_comments_workspace", "workspace_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vault_files.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vault_file_versions.id", ondelete="SET NULL")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # Usernames of the workspace members the body @mentions, as resolved when it was written.
    mentions: Mapped[list[str]] = mapped_column(JSONDoc, default=list)

    author: Mapped[User | None] = relationship(lazy="raise")


class Review(Base):
    """A design review of a file (or one version of it) assigned to one reviewer."""

    __tablename__ = "collab_reviews"
    __table_args__ = (
        Index("ix_collab_reviews_file", "file_id"),
        Index("ix_collab_reviews_workspace_status", "workspace_id", "status"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vault_files.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vault_file_versions.id", ondelete="SET NULL")
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    message: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus, "review_status"), default=ReviewStatus.open
    )

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id], lazy="raise")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="raise")
    tasks: Mapped[list[ReviewTask]] = relationship(
        back_populates="review",
        order_by="ReviewTask.created_at, ReviewTask.id",
        cascade="all, delete-orphan",
        lazy="raise",
    )


class ReviewTask(Base):
    """A checklist item of a review."""

    __tablename__ = "collab_review_tasks"
    __table_args__ = (Index("ix_collab_review_tasks_review", "review_id"),)

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collab_reviews.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "review_task_status"), default=TaskStatus.open
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    review: Mapped[Review] = relationship(back_populates="tasks", lazy="raise")
    created_by: Mapped[User | None] = relationship(lazy="raise")


class Task(Base):
    """A standalone task on a file path; soft-deleted so history keeps it."""

    __tablename__ = "collab_tasks"
    __table_args__ = (
        Index("ix_collab_tasks_file_sort", "file_id", "sort_index"),
        Index("ix_collab_tasks_workspace_status", "workspace_id", "status"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vault_files.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.open
    )
    sort_index: Mapped[int] = mapped_column(default=0)
    deleted_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="raise")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="raise")


class ReviewTemplate(Base):
    """A reusable review: default message plus a checklist that seeds review tasks."""

    __tablename__ = "collab_review_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    checklist: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by: Mapped[User | None] = relationship(lazy="raise")
