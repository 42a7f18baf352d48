"""Request bodies and response shapes of comments, reviews, tasks and review templates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from threadline.collab.models import MAX_COMMENT, ReviewStatus, TaskStatus
from threadline.schemas import ApiModel

ServePathText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=600)
]
WorkspaceRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT)
]
ChecklistItem = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]
SortIndex = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


def _as_utc(value: datetime) -> datetime:
    """A time without a zone is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


DueAt = Annotated[datetime, AfterValidator(_as_utc)]
ReviewFilter = Literal["all", "open", "in_review", "completed", "canceled"]
TaskFilter = Literal["all", "open", "in_progress", "done", "canceled"]


# --- comments ---------------------------------------------------------------------------------


class CommentCreate(ApiModel):
    path: ServePathText
    body: CommentBody
    author: Username | None = None  # accepted as in the reference; the caller is the author
    version_id: uuid.UUID | None = None


class CommentRead(ApiModel):
    id: uuid.UUID
    path: str
    file_id: uuid.UUID
    version_id: uuid.UUID | None
    author: str | None
    body: str
    mentions: list[str]
    created_at: str | None


# --- reviews ----------------------------------------------------------------------------------


class ReviewCreate(ApiModel):
    path: ServePathText
    reviewer_email: EmailStr
    message: Text | None = None
    due_at: DueAt | None = None
    version_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None


class ReviewUpdate(ApiModel):
    status: ReviewStatus | None = None
    reviewer_email: EmailStr | None = None
    due_at: DueAt | None = None


class ReviewTaskCreate(ApiModel):
    title: Title
    description: Text | None = None
    due_at: DueAt | None = None


class ReviewTaskUpdate(ApiModel):
    status: TaskStatus


class ReviewTaskRead(ApiModel):
    id: uuid.UUID
    review_id: uuid.UUID
    title: str
    description: str | None
    due_at: str | None
    status: TaskStatus
    created_by: str | None
    created_at: str | None
    updated_at: str | None


class ReviewRead(ApiModel):
    id: uuid.UUID
    path: str
    file_id: uuid.UUID
    version_id: uuid.UUID | None
    reviewer: str
    reviewer_email: str
    created_by: str | None
    message: str | None
    due_at: str | None
    status: ReviewStatus
    created_at: str | None
    updated_at: str | None
    tasks: list[ReviewTaskRead]


# --- tasks ------------------------------------------------------------------------------------


class TaskCreate(ApiModel):
    path: ServePathText
    title: Title
    description: Text | None = None
    owner_email: EmailStr | None = None
    due_at: DueAt | None = None
    status: TaskStatus = TaskStatus.open


class TaskUpdate(ApiModel):
    """Fields left out stay as they are; ``null`` clears description, owner and due date."""

    status: TaskStatus | None = None
    title: Title | None = None
    description: Text | None = None
    owner_email: EmailStr | None = None
    due_at: DueAt | None = None
    sort_index: SortIndex | None = None


class TaskRead(ApiModel):
    id: uuid.UUID
    path: str
    file_id: uuid.UUID
    title: str
    description: str | None
    owner: str | None
    owner_email: str | None
    created_by: str | None
    due_at: str | None
    status: TaskStatus
    sort_index: int
    created_at: str | None
    updated_at: str | None


# --- templates --------------------------------------------------------------------------------


class TemplateCreate(ApiModel):
    workspace: WorkspaceRef | None = None  # or ?workspace=; the reference leaves it implicit
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    message: Text | None = None
    checklist: Annotated[list[ChecklistItem], Field(max_length=100)] = []


class TemplateRead(ApiModel):
    id: uuid.UUID
    workspace: str
    name: str
    message: str | None
    checklist: list[str]
    created_by: str | None
    created_at: str | None


# --- analytics --------------------------------------------------------------------------------


class WorkspaceStats(ApiModel):
    workspace: str
    reviews: dict[str, int]
    tasks: dict[str, int]
    review_tasks: dict[str, int]
