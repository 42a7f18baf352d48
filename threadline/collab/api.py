"""Native collaboration API (productflo-sync-api: Comments, Design Reviews, Standalone Tasks,
Workspace Analytics, Review Templates, Rate limits)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from threadline.auth.deps import Ctx, RequestContext
from threadline.collab import analytics, reviews, service, tasks
from threadline.collab.models import Comment, Review, ReviewTask, ReviewTemplate, Task
from threadline.collab.schemas import (
    CommentCreate,
    CommentRead,
    ReviewCreate,
    ReviewFilter,
    ReviewRead,
    ReviewTaskCreate,
    ReviewTaskRead,
    ReviewTaskUpdate,
    ReviewUpdate,
    TaskCreate,
    TaskFilter,
    TaskRead,
    TaskUpdate,
    TemplateCreate,
    TemplateRead,
    WorkspaceStats,
)
from threadline.db import iso
from threadline.errors import Invalid
from threadline.pagination import MAX_PAGE_SIZE, PageParams, page_of, page_params
from threadline.ratelimit import client_ip
from threadline.schemas import Page
from threadline.vault.paths import parse_serve_path

router = APIRouter(prefix="/v1", tags=["collaboration"])
COMMENTS_LIMIT = "120/minute"
ServePathQuery = Query(..., max_length=600, description="/v1/serve/<workspace>/<username>/<file>")


async def _limit_comments(request: Request, ctx: RequestContext, path: str) -> None:
    """120 comment requests a minute per workspace and IP (productflo-sync-api: Rate limits).

    The workspace is part of the file path, which a POST carries in its body, so the hit is
    counted here rather than in a ``rate_limit`` dependency that only sees the query string.
    """
    workspace = parse_serve_path(path).workspace
    await ctx.runtime.rate_limiter.hit(
        "comments", COMMENTS_LIMIT, f"{workspace}|{client_ip(request)}"
    )


# --- rendering --------------------------------------------------------------------------------


def comment_read(comment: Comment, path: str) -> CommentRead:
    return CommentRead(
        id=comment.id,
        path=path,
        file_id=comment.file_id,
        version_id=comment.version_id,
        author=comment.author.username if comment.author else None,
        body=comment.body,
        mentions=comment.mentions,
        created_at=iso(comment.created_at),
    )


def review_task_read(task: ReviewTask) -> ReviewTaskRead:
    return ReviewTaskRead(
        id=task.id,
        review_id=task.review_id,
        title=task.title,
        description=task.description,
        due_at=iso(task.due_at),
        status=task.status,
        created_by=task.created_by.username if task.created_by else None,
        created_at=iso(task.created_at),
        updated_at=iso(task.updated_at),
    )


def review_read(review: Review, path: str) -> ReviewRead:
    return ReviewRead(
        id=review.id,
        path=path,
        file_id=review.file_id,
        version_id=review.version_id,
        reviewer=review.reviewer.username,
        reviewer_email=review.reviewer.email,
        created_by=review.created_by.username if review.created_by else None,
        message=review.message,
        due_at=iso(review.due_at),
        status=review.status,
        created_at=iso(review.created_at),
        updated_at=iso(review.updated_at),
        tasks=[review_task_read(t) for t in review.tasks],
    )


def task_read(task: Task, path: str) -> TaskRead:
    return TaskRead(
        id=task.id,
        path=path,
        file_id=task.file_id,
        title=task.title,
        description=task.description,
        owner=task.owner.username if task.owner else None,
        owner_email=task.owner.email if task.owner else None,
        created_by=task.created_by.username if task.created_by else None,
        due_at=iso(task.due_at),
        status=task.status,
        sort_index=task.sort_index,
        created_at=iso(task.created_at),
        updated_at=iso(task.updated_at),
    )


def template_read(template: ReviewTemplate, workspace: str) -> TemplateRead:
    return TemplateRead(
        id=template.id,
        workspace=workspace,
        name=template.name,
        message=template.message,
        checklist=template.checklist,
        created_by=template.created_by.username if template.created_by else None,
        created_at=iso(template.created_at),
    )


async def _path_of(ctx: RequestContext, workspace: Any, file_id: uuid.UUID) -> str:
    return (await service.paths_of(ctx.session, workspace=workspace, file_ids=[file_id]))[file_id]


# --- comments ---------------------------------------------------------------------------------


@router.get("/comments", response_model=Page[CommentRead])
async def list_comments(
    request: Request,
    ctx: Ctx,
    path: str = ServePathQuery,
    params: PageParams = Depends(page_params),
) -> Page[CommentRead]:
    """A file's comments, oldest first."""
    await _limit_comments(request, ctx, path)
    ref = await service.file_at(ctx.session, user=ctx.user, path=path)
    rows, total = await service.list_comments(ctx.session, file=ref.file, params=params)
    return page_of([comment_read(c, ref.path) for c in rows], total, params)


@router.post("/comments", status_code=201, response_model=CommentRead)
async def create_comment(request: Request, body: CommentCreate, ctx: Ctx) -> CommentRead:
    """Comment on a file (engineer+); ``@username`` notifies that workspace member."""
    await _limit_comments(request, ctx, body.path)
    ref = await service.file_at(ctx.session, user=ctx.user, path=body.path)
    comment = await service.add_comment(
        ctx.session, ref=ref, body=body.body, version_id=body.version_id
    )
    return comment_read(comment, ref.path)


# --- design reviews ---------------------------------------------------------------------------


@router.get("/reviews", response_model=Page[ReviewRead])
async def list_reviews(
    ctx: Ctx, path: str = ServePathQuery, params: PageParams = Depends(page_params)
) -> Page[ReviewRead]:
    """A file's design reviews with their tasks, newest first."""
    ref = await service.file_at(ctx.session, user=ctx.user, path=path)
    rows, total = await reviews.list_reviews(ctx.session, file_id=ref.file.id, params=params)
    return page_of([review_read(r, ref.path) for r in rows], total, params)


@router.post("/reviews", status_code=201, response_model=ReviewRead)
async def create_review(body: ReviewCreate, ctx: Ctx) -> ReviewRead:
    """Ask a workspace member to review a file (engineer+)."""
    ref = await service.file_at(ctx.session, user=ctx.user, path=body.path)
    review = await reviews.create_review(ctx.session, ref=ref, review_in=body)
    return review_read(review, ref.path)


@router.patch("/reviews/{review_id}", response_model=ReviewRead)
async def update_review(review_id: uuid.UUID, body: ReviewUpdate, ctx: Ctx) -> ReviewRead:
    """Change a review's status, reviewer or due date (reviewer, creator or manager+)."""
    access, review = await reviews.get_review(ctx.session, user=ctx.user, review_id=review_id)
    path = await _path_of(ctx, access.workspace, review.file_id)
    review = await reviews.update_review(
        ctx.session, access=access, review=review, path=path, review_in=body
    )
    return review_read(review, path)


@router.post("/reviews/{review_id}/tasks", status_code=201, response_model=ReviewTaskRead)
async def create_review_task(
    review_id: uuid.UUID, body: ReviewTaskCreate, ctx: Ctx
) -> ReviewTaskRead:
    """Add a task to a review (reviewer or manager+)."""
    access, review = await reviews.get_review(ctx.session, user=ctx.user, review_id=review_id)
    task = await reviews.add_review_task(ctx.session, access=access, review=review, task_in=body)
    return review_task_read(task)


@router.patch("/reviews/{review_id}/tasks/{task_id}", response_model=ReviewTaskRead)
async def update_review_task(
    review_id: uuid.UUID, task_id: uuid.UUID, body: ReviewTaskUpdate, ctx: Ctx
) -> ReviewTaskRead:
    """Set a review task's status."""
    access, review = await reviews.get_review(ctx.session, user=ctx.user, review_id=review_id)
    task = await reviews.update_review_task(
        ctx.session, access=access, review=review, task_id=task_id, status=body.status
    )
    return review_task_read(task)


# --- standalone tasks -------------------------------------------------------------------------


@router.get("/tasks", response_model=Page[TaskRead])
async def list_tasks(
    ctx: Ctx, path: str = ServePathQuery, params: PageParams = Depends(page_params)
) -> Page[TaskRead]:
    """A file's tasks in their manual order (sortIndex)."""
    ref = await service.file_at(ctx.session, user=ctx.user, path=path)
    rows, total = await tasks.list_tasks(ctx.session, file_id=ref.file.id, params=params)
    return page_of([task_read(t, ref.path) for t in rows], total, params)


@router.post("/tasks", status_code=201, response_model=TaskRead)
async def create_task(body: TaskCreate, ctx: Ctx) -> TaskRead:
    """Create a task on a file (engineer+)."""
    ref = await service.file_at(ctx.session, user=ctx.user, path=body.path)
    task = await tasks.create_task(ctx.session, ref=ref, task_in=body)
    return task_read(task, ref.path)


@router.patch("/tasks/{task_id}", response_model=TaskRead)
async def update_task(task_id: uuid.UUID, body: TaskUpdate, ctx: Ctx) -> TaskRead:
    """Update a task (its creator, its owner or manager+)."""
    access, task = await tasks.get_task(ctx.session, user=ctx.user, task_id=task_id)
    path = await _path_of(ctx, access.workspace, task.file_id)
    task = await tasks.update_task(ctx.session, access=access, task=task, path=path, task_in=body)
    return task_read(task, path)


@router.delete("/tasks/{task_id}")
async def delete_task(task_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    """Soft-delete a task (its creator or manager+)."""
    access, task = await tasks.get_task(ctx.session, user=ctx.user, task_id=task_id)
    path = await _path_of(ctx, access.workspace, task.file_id)
    await tasks.delete_task(ctx.session, access=access, task=task, path=path)
    return {"ok": True, "id": str(task.id)}


# --- workspace analytics ----------------------------------------------------------------------

Limit = Query(50, ge=1, le=MAX_PAGE_SIZE, description="At most this many, newest first")


@router.get("/workspace/stats", response_model=WorkspaceStats)
async def workspace_stats(ctx: Ctx, workspace: str = Query(..., max_length=64)) -> WorkspaceStats:
    """Counts of reviews, tasks and review tasks by status."""
    access = await ctx.require_role(workspace, "viewer")
    counts = await analytics.stats(ctx.session, workspace=access.workspace)
    return WorkspaceStats(workspace=access.workspace.name, **counts)


@router.get("/workspace/reviews")
async def workspace_reviews(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    status: ReviewFilter = Query("all"),
    limit: int = Limit,
) -> dict[str, Any]:
    """Reviews across the workspace, newest first."""
    access = await ctx.require_role(workspace, "viewer")
    rows, total = await analytics.workspace_reviews(
        ctx.session, workspace=access.workspace, status=status, limit=limit
    )
    return {
        "items": [review_read(r, p).model_dump(mode="json", by_alias=True) for r, p in rows],
        "total": total,
        "limit": limit,
    }


@router.get("/workspace/tasks")
async def workspace_tasks(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    status: TaskFilter = Query("all"),
    limit: int = Limit,
) -> dict[str, Any]:
    """Tasks across the workspace, newest first."""
    access = await ctx.require_role(workspace, "viewer")
    rows, total = await analytics.workspace_tasks(
        ctx.session, workspace=access.workspace, status=status, limit=limit
    )
    return {
        "items": [task_read(t, p).model_dump(mode="json", by_alias=True) for t, p in rows],
        "total": total,
        "limit": limit,
    }


# --- review templates -------------------------------------------------------------------------


@router.get("/review-templates", response_model=Page[TemplateRead])
async def list_templates(
    ctx: Ctx, workspace: str = Query(..., max_length=64), params: PageParams = Depends(page_params)
) -> Page[TemplateRead]:
    """The workspace's review templates by name (engineer+)."""
    access = await ctx.require_role(workspace, "engineer")
    rows, total = await reviews.list_templates(
        ctx.session, workspace=access.workspace, params=params
    )
    return page_of([template_read(t, access.workspace.name) for t in rows], total, params)


@router.post("/review-templates", status_code=201, response_model=TemplateRead)
async def create_template(
    body: TemplateCreate, ctx: Ctx, workspace: str | None = Query(None, max_length=64)
) -> TemplateRead:
    """Create a review template (manager+); the workspace comes in the body or as ?workspace=."""
    name = body.workspace or workspace
    if not name:
        raise Invalid(
            "Name the workspace in the body or as ?workspace=.", code="WORKSPACE_REQUIRED"
        )
    if body.workspace and workspace and body.workspace != workspace:
        raise Invalid(
            "The body and ?workspace= name different workspaces.", code="WORKSPACE_MISMATCH"
        )
    access = await ctx.require_role(name, "viewer")
    template = await reviews.create_template(ctx.session, access=access, template_in=body)
    return template_read(template, access.workspace.name)


@router.delete("/review-templates/{template_id}")
async def delete_template(
    template_id: uuid.UUID, ctx: Ctx, workspace: str = Query(..., max_length=64)
) -> dict[str, Any]:
    """Delete a review template (manager+)."""
    access = await ctx.require_role(workspace, "viewer")
    await reviews.delete_template(ctx.session, access=access, template_id=template_id)
    return {"ok": True, "id": str(template_id)}
