"""Standalone tasks on a file path (productflo-sync-api: Standalone Tasks).

Services never commit; every write is audited (entity ``task``, so each is a live ``task`` event).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from threadline.audit import service as audit
from threadline.auth.models import Role, User
from threadline.auth.service import Access, require_role
from threadline.collab.models import Task
from threadline.collab.schemas import TaskCreate, TaskUpdate
from threadline.collab.service import FileRef, member_by_email, require
from threadline.db import iso, utcnow
from threadline.errors import Forbidden, NotFound
from threadline.pagination import PageParams, paginate

LOADED = (joinedload(Task.owner), joinedload(Task.created_by))


def snapshot(task: Task) -> dict[str, Any]:
    return {
        "fileId": str(task.file_id),
        "title": task.title,
        "description": task.description,
        "owner": task.owner.username if task.owner else None,
        "dueAt": iso(task.due_at),
        "status": task.status.value,
        "sortIndex": task.sort_index,
    }


def _assign(session: AsyncSession, access: Access, task: Task, path: str) -> None:
    """Tell a new owner, alone, that the task is theirs (not when they assigned themselves)."""
    if task.owner is None or task.owner.id == access.user.id:
        return
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="task",
        entity_id=task.id,
        action="assign",
        after={**snapshot(task), "path": path},
        notify=task.owner.username,
    )


async def list_tasks(
    session: AsyncSession, *, file_id: uuid.UUID, params: PageParams
) -> tuple[list[Task], int]:
    """One page of a file's live tasks in their manual order."""
    rows, total = await paginate(
        session,
        select(Task)
        .options(*LOADED)
        .where(Task.file_id == file_id, Task.deleted_at.is_(None))
        .order_by(Task.sort_index, Task.created_at, Task.id),
        params,
    )
    return [row[0] for row in rows], total


async def create_task(session: AsyncSession, *, ref: FileRef, task_in: TaskCreate) -> Task:
    """A task on a file (engineer+), placed after the file's other tasks."""
    access = ref.access
    require(access, Role.engineer)
    owner = None
    if task_in.owner_email is not None:
        owner = await member_by_email(
            session, workspace=access.workspace, email=str(task_in.owner_email)
        )
    last = await session.scalar(
        select(func.max(Task.sort_index)).where(
            Task.file_id == ref.file.id, Task.deleted_at.is_(None)
        )
    )
    task = Task(
        workspace_id=access.workspace.id,
        file_id=ref.file.id,
        title=task_in.title,
        description=task_in.description,
        owner=owner,
        created_by=access.user,
        due_at=task_in.due_at,
        status=task_in.status,
        sort_index=(last + 1) if last is not None else 0,
    )
    session.add(task)
    await session.flush()  # the id goes into the audit rows and the response
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="task",
        entity_id=task.id,
        action="create",
        after={**snapshot(task), "path": ref.path},
    )
    _assign(session, access, task, ref.path)
    return task


async def get_task(session: AsyncSession, *, user: User, task_id: uuid.UUID) -> tuple[Access, Task]:
    """A live task and the caller's access to its workspace; strangers get 404 as if missing."""
    task = await session.scalar(
        select(Task).options(*LOADED).where(Task.id == task_id, Task.deleted_at.is_(None))
    )
    missing = NotFound(f"Task {task_id} not found.", code="TASK_NOT_FOUND")
    if task is None:
        raise missing
    try:
        access = await require_role(
            session, user=user, workspace=task.workspace_id, minimum=Role.viewer
        )
    except NotFound:
        raise missing from None
    return access, task


async def update_task(
    session: AsyncSession, *, access: Access, task: Task, path: str, task_in: TaskUpdate
) -> Task:
    """Patch a task: its creator, its owner or a manager+. Statuses may change freely."""
    me = access.user.id
    if not (access.role.at_least(Role.manager) or me in (task.created_by_id, task.owner_id)):
        raise Forbidden(
            "Only the task's creator, its owner or a manager may change it.",
            code="NOT_TASK_PARTICIPANT",
        )
    given = task_in.model_fields_set
    before = snapshot(task)
    previous_owner = task.owner.id if task.owner else None
    for field in ("status", "title", "sort_index"):
        value = getattr(task_in, field)
        if value is not None:  # required columns: null means "leave as is"
            setattr(task, field, value)
    for field in ("description", "due_at"):
        if field in given:
            setattr(task, field, getattr(task_in, field))
    if "owner_email" in given:
        task.owner = (
            await member_by_email(
                session, workspace=access.workspace, email=str(task_in.owner_email)
            )
            if task_in.owner_email is not None
            else None
        )
    after = snapshot(task)
    if after == before:
        return task
    task.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="task",
        entity_id=task.id,
        action="update",
        before=before,
        after={**after, "path": path},
    )
    if (task.owner.id if task.owner else None) != previous_owner:
        _assign(session, access, task, path)
    return task


async def delete_task(session: AsyncSession, *, access: Access, task: Task, path: str) -> None:
    """Soft-delete a task: its creator or a manager+."""
    if not (access.role.at_least(Role.manager) or task.created_by_id == access.user.id):
        raise Forbidden(
            "Only the task's creator or a manager may delete it.", code="NOT_TASK_PARTICIPANT"
        )
    task.deleted_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="task",
        entity_id=task.id,
        action="delete",
        before={**snapshot(task), "path": path},
    )
