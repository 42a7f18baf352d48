"""Workspace-wide views of reviews and tasks (productflo-sync-api: Workspace Analytics)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Workspace
from threadline.collab.models import Review, ReviewStatus, ReviewTask, Task, TaskStatus
from threadline.collab.reviews import review_options
from threadline.collab.service import paths_of
from threadline.collab.tasks import LOADED as task_options


async def _counts(
    session: AsyncSession, stmt: Select[*tuple[Any, ...]], statuses: type[enum.Enum]
) -> dict[str, int]:
    found = {status.value: count for status, count in (await session.execute(stmt)).all()}
    counts = {s.value: int(found.get(s.value, 0)) for s in statuses}
    counts["total"] = sum(counts.values())
    return counts


async def stats(session: AsyncSession, *, workspace: Workspace) -> dict[str, dict[str, int]]:
    """Reviews, standalone tasks and review tasks of a workspace counted by status."""
    reviews = await _counts(
        session,
        select(Review.status, func.count())
        .where(Review.workspace_id == workspace.id)
        .group_by(Review.status),
        ReviewStatus,
    )
    tasks = await _counts(
        session,
        select(Task.status, func.count())
        .where(Task.workspace_id == workspace.id, Task.deleted_at.is_(None))
        .group_by(Task.status),
        TaskStatus,
    )
    review_tasks = await _counts(
        session,
        select(ReviewTask.status, func.count())
        .join(Review, Review.id == ReviewTask.review_id)
        .where(Review.workspace_id == workspace.id)
        .group_by(ReviewTask.status),
        TaskStatus,
    )
    return {"reviews": reviews, "tasks": tasks, "review_tasks": review_tasks}


async def workspace_reviews(
    session: AsyncSession, *, workspace: Workspace, status: str, limit: int
) -> tuple[list[tuple[Review, str]], int]:
    """The newest ``limit`` reviews of a workspace (``status``: one status or ``all``), each with
    its file's path, and how many match in all."""
    where = [Review.workspace_id == workspace.id]
    if status != "all":
        where.append(Review.status == ReviewStatus(status))
    total = await session.scalar(select(func.count()).select_from(Review).where(*where))
    rows = (
        await session.scalars(
            select(Review)
            .options(*review_options())
            .where(*where)
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(limit)
        )
    ).all()
    paths = await paths_of(session, workspace=workspace, file_ids={r.file_id for r in rows})
    return [(r, paths[r.file_id]) for r in rows], int(total or 0)


async def workspace_tasks(
    session: AsyncSession, *, workspace: Workspace, status: str, limit: int
) -> tuple[list[tuple[Task, str]], int]:
    """The newest ``limit`` live tasks of a workspace, each with its file's path, and the total."""
    where = [Task.workspace_id == workspace.id, Task.deleted_at.is_(None)]
    if status != "all":
        where.append(Task.status == TaskStatus(status))
    total = await session.scalar(select(func.count()).select_from(Task).where(*where))
    rows: Sequence[Task] = (
        await session.scalars(
            select(Task)
            .options(*task_options)
            .where(*where)
            .order_by(Task.created_at.desc(), Task.id.desc())
            .limit(limit)
        )
    ).all()
    paths = await paths_of(session, workspace=workspace, file_ids={t.file_id for t in rows})
    return [(t, paths[t.file_id]) for t in rows], int(total or 0)
