"""Design reviews, their tasks, and review templates (productflo-sync-api: Design Reviews,
Review Templates). Services never commit; every write is audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from threadline.audit import service as audit
from threadline.auth.models import Role, User, Workspace
from threadline.auth.service import Access, require_role
from threadline.collab.models import Review, ReviewStatus, ReviewTask, ReviewTemplate, TaskStatus
from threadline.collab.schemas import ReviewCreate, ReviewTaskCreate, ReviewUpdate, TemplateCreate
from threadline.collab.service import FileRef, check_version, member_by_email, require
from threadline.db import iso, utcnow
from threadline.errors import Conflict, Forbidden, NotFound
from threadline.pagination import PageParams, paginate

# The review state machine: open → in_review → completed | canceled; open → canceled.
TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    ReviewStatus.open: frozenset({ReviewStatus.in_review, ReviewStatus.canceled}),
    ReviewStatus.in_review: frozenset({ReviewStatus.completed, ReviewStatus.canceled}),
    ReviewStatus.completed: frozenset(),
    ReviewStatus.canceled: frozenset(),
}
CLOSED = frozenset({ReviewStatus.completed, ReviewStatus.canceled})


def review_options() -> list[ExecutableOption]:
    """Everything a rendered review shows, loaded up front (relationships are lazy="raise")."""
    return [
        joinedload(Review.reviewer),
        joinedload(Review.created_by),
        selectinload(Review.tasks).joinedload(ReviewTask.created_by),
    ]


def snapshot(review: Review) -> dict[str, Any]:
    return {
        "fileId": str(review.file_id),
        "versionId": str(review.version_id) if review.version_id else None,
        "reviewer": review.reviewer.username,
        "message": review.message,
        "dueAt": iso(review.due_at),
        "status": review.status.value,
    }


def _assign(session: AsyncSession, access: Access, review: Review, path: str) -> None:
    """Tell the reviewer, alone, that a review now waits for them."""
    if review.reviewer.id == access.user.id:
        return
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review",
        entity_id=review.id,
        action="assign",
        after={**snapshot(review), "path": path},
        notify=review.reviewer.username,
    )


async def list_reviews(
    session: AsyncSession, *, file_id: uuid.UUID, params: PageParams
) -> tuple[list[Review], int]:
    """One page of a file's reviews with their tasks, newest first."""
    rows, total = await paginate(
        session,
        select(Review)
        .options(*review_options())
        .where(Review.file_id == file_id)
        .order_by(Review.created_at.desc(), Review.id.desc()),
        params,
    )
    return [row[0] for row in rows], total


async def create_review(session: AsyncSession, *, ref: FileRef, review_in: ReviewCreate) -> Review:
    """Ask a workspace member to review a file (engineer+); a template seeds message and tasks."""
    access = ref.access
    require(access, Role.engineer)
    reviewer = await member_by_email(
        session, workspace=access.workspace, email=str(review_in.reviewer_email)
    )
    if review_in.version_id is not None:
        await check_version(session, file=ref.file, version_id=review_in.version_id)
    checklist: list[str] = []
    message = review_in.message
    if review_in.template_id is not None:
        template = await get_template(
            session, workspace=access.workspace, template_id=review_in.template_id
        )
        checklist = list(template.checklist)
        message = message if message is not None else template.message
    review = Review(
        workspace_id=access.workspace.id,
        file_id=ref.file.id,
        version_id=review_in.version_id,
        reviewer=reviewer,
        created_by=access.user,
        message=message,
        due_at=review_in.due_at,
        status=ReviewStatus.open,
        tasks=[
            ReviewTask(title=title, status=TaskStatus.open, created_by=access.user)
            for title in checklist
        ],
    )
    session.add(review)
    await session.flush()  # ids for the audit rows and the response
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review",
        entity_id=review.id,
        action="create",
        after={**snapshot(review), "path": ref.path, "tasks": checklist},
    )
    _assign(session, access, review, ref.path)
    return review


async def get_review(
    session: AsyncSession, *, user: User, review_id: uuid.UUID
) -> tuple[Access, Review]:
    """A review and the caller's access to its workspace; strangers get 404 as if missing."""
    review = await session.scalar(
        select(Review).options(*review_options()).where(Review.id == review_id)
    )
    missing = NotFound(f"Review {review_id} not found.", code="REVIEW_NOT_FOUND")
    if review is None:
        raise missing
    try:
        access = await require_role(
            session, user=user, workspace=review.workspace_id, minimum=Role.viewer
        )
    except NotFound:
        raise missing from None
    return access, review


def _may_manage_review(access: Access, review: Review, *, creator: bool = True) -> bool:
    return (
        access.role.at_least(Role.manager)
        or review.reviewer_id == access.user.id
        or (creator and review.created_by_id == access.user.id)
    )


async def update_review(
    session: AsyncSession, *, access: Access, review: Review, path: str, review_in: ReviewUpdate
) -> Review:
    """Change status, reviewer or due date: the reviewer, the creator or a manager+.
    Status follows :data:`TRANSITIONS`; asking for the current status changes nothing."""
    if not _may_manage_review(access, review):
        raise Forbidden(
            "Only the reviewer, the review's creator or a manager may change a review.",
            code="NOT_REVIEW_PARTICIPANT",
        )
    before = snapshot(review)
    given = review_in.model_fields_set
    if review_in.status is not None and review_in.status != review.status:
        allowed = TRANSITIONS[review.status]
        if review_in.status not in allowed:
            raise Conflict(
                f"A review cannot go from {review.status.value} to {review_in.status.value}; "
                + (
                    f"allowed: {', '.join(sorted(s.value for s in allowed))}."
                    if allowed
                    else f"{review.status.value} is final."
                ),
                code="INVALID_STATUS_TRANSITION",
                allowed=sorted(s.value for s in allowed),
            )
        review.status = review_in.status
    reassigned = False
    if review_in.reviewer_email is not None:
        reviewer = await member_by_email(
            session, workspace=access.workspace, email=str(review_in.reviewer_email)
        )
        reassigned = reviewer.id != review.reviewer_id
        review.reviewer = reviewer
    if "due_at" in given:
        review.due_at = review_in.due_at
    after = snapshot(review)
    if after == before:
        return review
    review.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review",
        entity_id=review.id,
        action="update",
        before=before,
        after={**after, "path": path},
    )
    if reassigned:
        _assign(session, access, review, path)
    return review


def task_snapshot(task: ReviewTask) -> dict[str, Any]:
    return {
        "reviewId": str(task.review_id),
        "title": task.title,
        "status": task.status.value,
        "dueAt": iso(task.due_at),
    }


async def add_review_task(
    session: AsyncSession, *, access: Access, review: Review, task_in: ReviewTaskCreate
) -> ReviewTask:
    """Add a task to an open review: the reviewer or a manager+."""
    if not _may_manage_review(access, review, creator=False):
        raise Forbidden(
            "Only the reviewer or a manager may add tasks to a review.",
            code="NOT_REVIEW_PARTICIPANT",
        )
    if review.status in CLOSED:
        raise Conflict(
            f"The review is {review.status.value}; reopen work in a new review.",
            code="REVIEW_CLOSED",
        )
    task = ReviewTask(
        title=task_in.title,
        description=task_in.description,
        due_at=task_in.due_at,
        status=TaskStatus.open,
        created_by=access.user,
    )
    review.tasks.append(task)
    await session.flush()  # the id goes into the audit row and the response
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review_task",
        entity_id=task.id,
        action="create",
        after=task_snapshot(task),
    )
    return task


async def update_review_task(
    session: AsyncSession,
    *,
    access: Access,
    review: Review,
    task_id: uuid.UUID,
    status: TaskStatus,
) -> ReviewTask:
    """Set a review task's status: the reviewer, the review's or task's creator, a manager+."""
    task = next((t for t in review.tasks if t.id == task_id), None)
    if task is None:
        raise NotFound(f"Review {review.id} has no task {task_id}.", code="TASK_NOT_FOUND")
    if not (_may_manage_review(access, review) or task.created_by_id == access.user.id):
        raise Forbidden(
            "Only the reviewer, the creator or a manager may change a review task.",
            code="NOT_REVIEW_PARTICIPANT",
        )
    if task.status == status:
        return task
    before = task_snapshot(task)
    task.status = status
    task.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review_task",
        entity_id=task.id,
        action="update",
        before=before,
        after=task_snapshot(task),
    )
    return task


# --- templates --------------------------------------------------------------------------------


async def list_templates(
    session: AsyncSession, *, workspace: Workspace, params: PageParams
) -> tuple[list[ReviewTemplate], int]:
    """One page of a workspace's review templates, by name."""
    rows, total = await paginate(
        session,
        select(ReviewTemplate)
        .options(joinedload(ReviewTemplate.created_by))
        .where(ReviewTemplate.workspace_id == workspace.id)
        .order_by(ReviewTemplate.name, ReviewTemplate.id),
        params,
    )
    return [row[0] for row in rows], total


async def get_template(
    session: AsyncSession, *, workspace: Workspace, template_id: uuid.UUID
) -> ReviewTemplate:
    """A template of ``workspace``; one of another workspace is 404 as if missing."""
    template = await session.scalar(
        select(ReviewTemplate)
        .options(joinedload(ReviewTemplate.created_by))
        .where(ReviewTemplate.id == template_id, ReviewTemplate.workspace_id == workspace.id)
    )
    if template is None:
        raise NotFound(
            f"Review template {template_id} not found in {workspace.name}.",
            code="TEMPLATE_NOT_FOUND",
        )
    return template


async def create_template(
    session: AsyncSession, *, access: Access, template_in: TemplateCreate
) -> ReviewTemplate:
    """A named review template (manager+); names are unique per workspace (409)."""
    require(access, Role.manager)
    taken = Conflict(
        f"A review template named {template_in.name!r} already exists.", code="TEMPLATE_EXISTS"
    )
    exists = await session.scalar(
        select(ReviewTemplate.id).where(
            ReviewTemplate.workspace_id == access.workspace.id,
            ReviewTemplate.name == template_in.name,
        )
    )
    if exists is not None:
        raise taken
    template = ReviewTemplate(
        workspace_id=access.workspace.id,
        name=template_in.name,
        message=template_in.message,
        checklist=list(template_in.checklist),
        created_by=access.user,
    )
    try:
        # Two concurrent creates of one name: the unique constraint decides, inside a savepoint.
        async with session.begin_nested():
            session.add(template)
    except IntegrityError:
        raise taken from None
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review_template",
        entity_id=template.id,
        action="create",
        after={"name": template.name, "checklist": template.checklist},
    )
    return template


async def delete_template(session: AsyncSession, *, access: Access, template_id: uuid.UUID) -> None:
    """Delete a template (manager+); reviews it seeded keep their tasks."""
    require(access, Role.manager)
    template = await get_template(session, workspace=access.workspace, template_id=template_id)
    await session.delete(template)
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="review_template",
        entity_id=template_id,
        action="delete",
        before={"name": template.name, "checklist": template.checklist},
    )
