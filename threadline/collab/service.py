"""Collaboration rules shared by every part of the package, and comments with @mentions.

Reviews and templates live in :mod:`threadline.collab.reviews`, standalone tasks in
:mod:`threadline.collab.tasks`, workspace analytics in :mod:`threadline.collab.analytics`.
Services never commit; every write is audited (the audit record becomes the live event).
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from threadline.audit import service as audit
from threadline.auth.models import Membership, Role, User, Workspace
from threadline.auth.service import Access
from threadline.collab.models import Comment, Task
from threadline.db import iso
from threadline.errors import Forbidden, NotFound
from threadline.pagination import PageParams, paginate
from threadline.vault import service as vault
from threadline.vault.models import FileVersion, VaultFile
from threadline.vault.paths import parse_serve_path

# ``@alice`` or ``@bob.smith``; not the middle of an e-mail address such as ``x@y.com``.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9][a-z0-9._-]{0,63})", re.IGNORECASE)


@dataclass(frozen=True)
class FileRef:
    """A live vault file addressed by ``/v1/serve/...`` and the caller's access to it."""

    access: Access
    file: VaultFile
    path: str


async def file_at(session: AsyncSession, *, user: User, path: str) -> FileRef:
    """Resolve a serve path for reading (viewer+); strangers and missing files answer 404."""
    where = parse_serve_path(path)
    f = await vault.folder(
        session, user=user, workspace=where.workspace, username=where.username, write=False
    )
    file = await vault.get_file(session, f, where.filename)
    return FileRef(access=f.access, file=file, path=f.path(file.name))


def require(access: Access, minimum: Role) -> None:
    """403 INSUFFICIENT_ROLE unless the caller holds ``minimum`` in the workspace."""
    if not access.role.at_least(minimum):
        raise Forbidden(
            f"This needs the {minimum.value} role in {access.workspace.name}; "
            f"you are {access.role.value}.",
            code="INSUFFICIENT_ROLE",
        )


async def paths_of(
    session: AsyncSession, *, workspace: Workspace, file_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """``/v1/serve/...`` paths of files (trashed ones too), in one query."""
    if not file_ids:
        return {}
    rows = await session.execute(
        select(VaultFile.id, VaultFile.name, User.username)
        .join(User, User.id == VaultFile.owner_id)
        .where(VaultFile.id.in_(set(file_ids)))
    )
    return {fid: vault.serve_path(workspace.name, owner, name) for fid, name, owner in rows.all()}


async def member_by_email(session: AsyncSession, *, workspace: Workspace, email: str) -> User:
    """The member with ``email``; anyone else is 404, whether the account exists or not."""
    user = await session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.email == email.strip().lower(), Membership.workspace_id == workspace.id)
    )
    if user is None:
        raise NotFound(
            f"No member with e-mail {email} in {workspace.name}.", code="MEMBER_NOT_FOUND"
        )
    return user


async def check_version(session: AsyncSession, *, file: VaultFile, version_id: uuid.UUID) -> None:
    """404 VERSION_NOT_FOUND unless ``version_id`` is a version of ``file``."""
    found = await session.scalar(
        select(FileVersion.id).where(FileVersion.id == version_id, FileVersion.file_id == file.id)
    )
    if found is None:
        raise NotFound(f"{file.name} has no version {version_id}.", code="VERSION_NOT_FOUND")


# --- comments ---------------------------------------------------------------------------------


def mentioned_usernames(body: str) -> list[str]:
    """``@username`` tokens of a comment, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(body):
        # A sentence may end right after the name: "thanks @bob."
        seen.setdefault(match.group(1).lower().rstrip("._-"), None)
    return [name for name in seen if name]


async def _members_named(
    session: AsyncSession, workspace: Workspace, usernames: Sequence[str]
) -> list[str]:
    if not usernames:
        return []
    found = set(
        (
            await session.scalars(
                select(User.username)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == workspace.id, User.username.in_(usernames))
            )
        ).all()
    )
    return [name for name in usernames if name in found]


def comment_snapshot(comment: Comment, path: str, author: User) -> dict[str, Any]:
    return {
        "path": path,
        "author": author.username,
        "body": comment.body,
        "mentions": comment.mentions,
        "versionId": str(comment.version_id) if comment.version_id else None,
    }


async def add_comment(
    session: AsyncSession,
    *,
    ref: FileRef,
    body: str,
    version_id: uuid.UUID | None = None,
) -> Comment:
    """Comment on a file (engineer+). Each workspace member the body @mentions, other than the
    author, gets a ``mention`` audit record addressed to them alone, i.e. a private live event."""
    require(ref.access, Role.engineer)
    author = ref.access.user
    if version_id is not None:
        await check_version(session, file=ref.file, version_id=version_id)
    mentions = await _members_named(session, ref.access.workspace, mentioned_usernames(body))
    comment = Comment(
        workspace_id=ref.access.workspace.id,
        file_id=ref.file.id,
        version_id=version_id,
        author=author,
        body=body,
        mentions=mentions,
    )
    session.add(comment)
    await session.flush()  # the id goes into the audit rows, the timestamp into the response
    after = comment_snapshot(comment, ref.path, author)
    audit.record(
        session,
        actor=author,
        workspace=ref.access.workspace,
        entity_type="comment",
        entity_id=comment.id,
        action="create",
        after=after,
    )
    for username in mentions:
        if username == author.username:
            continue
        audit.record(
            session,
            actor=author,
            workspace=ref.access.workspace,
            entity_type="comment",
            entity_id=comment.id,
            action="mention",
            after={**after, "mentioned": username},
            notify=username,
        )
    return comment


async def list_comments(
    session: AsyncSession, *, file: VaultFile, params: PageParams
) -> tuple[list[Comment], int]:
    """One page of a file's comments, oldest first."""
    rows, total = await paginate(
        session,
        select(Comment)
        .options(joinedload(Comment.author))
        .where(Comment.file_id == file.id)
        .order_by(Comment.created_at, Comment.id),
        params,
    )
    return [row[0] for row in rows], total


# --- timeline and history (wired into the vault's /v1/timeline and /v1/versions) --------------


async def timeline_events(
    session: AsyncSession, *, file: VaultFile, types: set[str]
) -> list[dict[str, Any]]:
    """A file's comments and live tasks as timeline events, newest first:
    ``{"type": "comment"|"task", "at": iso, ...}`` (productflo-sync-api: History, Timeline)."""
    events: list[dict[str, Any]] = []
    if "comment" in types:
        comments = await session.scalars(
            select(Comment).options(joinedload(Comment.author)).where(Comment.file_id == file.id)
        )
        events += [
            {
                "type": "comment",
                "at": iso(c.created_at),
                "id": str(c.id),
                "author": c.author.username if c.author else None,
                "body": c.body,
                "mentions": c.mentions,
                "versionId": str(c.version_id) if c.version_id else None,
            }
            for c in comments
        ]
    if "task" in types:
        tasks = await session.scalars(
            select(Task)
            .options(joinedload(Task.owner), joinedload(Task.created_by))
            .where(Task.file_id == file.id, Task.deleted_at.is_(None))
        )
        events += [
            {
                "type": "task",
                "at": iso(t.created_at),
                "id": str(t.id),
                "title": t.title,
                "status": t.status.value,
                "owner": t.owner.username if t.owner else None,
                "createdBy": t.created_by.username if t.created_by else None,
                "dueAt": iso(t.due_at),
            }
            for t in tasks
        ]
    events.sort(key=lambda e: (e["at"] or "", e["id"]), reverse=True)
    return events


async def nearest_comments(
    session: AsyncSession, *, file: VaultFile, versions: Iterable[FileVersion]
) -> dict[uuid.UUID, str]:
    """For each version, the latest comment pinned to it; failing that, the unpinned comment
    closest in time to the version's ``created_at``. Versions with neither are left out."""
    rows = (
        await session.execute(
            select(Comment.version_id, Comment.created_at, Comment.body)
            .where(Comment.file_id == file.id)
            .order_by(Comment.created_at, Comment.id)
        )
    ).all()
    pinned = {version_id: body for version_id, _at, body in rows if version_id is not None}
    loose = [(at, body) for version_id, at, body in rows if version_id is None]
    times = [at for at, _body in loose]
    nearest: dict[uuid.UUID, str] = {}
    for version in versions:
        if version.id in pinned:
            nearest[version.id] = pinned[version.id]
            continue
        if not loose:
            continue
        i = bisect.bisect_left(times, version.created_at)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(loose)]
        best = min(candidates, key=lambda j: abs(times[j] - version.created_at))
        nearest[version.id] = loose[best][1]
    return nearest
