"""Helpers shared by the vault's route modules: addressing files and rendering them."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from threadline.auth.deps import RequestContext
from threadline.db import iso
from threadline.pagination import PageParams, page_of
from threadline.ratelimit import client_ip
from threadline.schemas import Page
from threadline.vault import service
from threadline.vault.models import MAIN, VaultFile
from threadline.vault.paths import parse_serve_path
from threadline.vault.schemas import (
    FileRead,
)
from threadline.vault.service import Folder

PREVIEW_BYTES = 64 * 1024
MAX_BATCH = 20


def upload_rate_key(request: Request) -> str:
    return f"{request.query_params.get('workspace', '')}|{client_ip(request)}"


def file_read(file: VaultFile, workspace: str, username: str) -> FileRead:
    return FileRead(
        id=file.id,
        path=service.serve_path(workspace, username, file.name),
        name=file.name,
        username=username,
        branch=file.branch,
        size=file.size,
        content_type=file.content_type,
        etag=file.etag,
        sha256=file.sha256,
        version=file.current_version,
        item_id=file.item_id,
        conflict_of=file.conflict_of_id,
        created_at=iso(file.created_at),
        updated_at=iso(file.updated_at),
    )


async def at_path(
    ctx: RequestContext, path: str, *, write: bool, branch: str = MAIN
) -> tuple[Folder, VaultFile]:
    where = parse_serve_path(path)
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=where.workspace, username=where.username, write=write
    )
    return f, await service.get_file(ctx.session, f, where.filename, branch=branch)


def page_in_memory(items: list[Any], params: PageParams) -> Page[Any]:
    """One page of an already-loaded list (a folder's files are few)."""
    return page_of(items[params.offset : params.offset + params.page_size], len(items), params)


async def named(
    ctx: RequestContext,
    workspace: str,
    username: str | None,
    filename: str,
    *,
    write: bool,
    branch: str = MAIN,
) -> tuple[Folder, VaultFile]:
    """The folder and the live file ``filename`` in it (query-parameter addressing)."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=write
    )
    return f, await service.get_file(ctx.session, f, filename, branch=branch)
