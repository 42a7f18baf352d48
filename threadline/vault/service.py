"""Vault rules: folders, files and versions, optimistic-concurrency uploads with conflict copies,
trash, revert. Locks live in :mod:`threadline.vault.locks`, branches and conflicts in
:mod:`threadline.vault.branches`. Services never commit; every write is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Membership, Role, User, Workspace
from threadline.auth.service import Access, require_role
from threadline.db import utcnow
from threadline.errors import Conflict, Invalid, NotFound
from threadline.vault import locks
from threadline.vault.models import MAIN, FileVersion, VaultFile
from threadline.vault.paths import ServePath, conflict_name


@dataclass(frozen=True)
class Folder:
    """A member's folder in a workspace, and the caller's access to it."""

    access: Access
    owner: User

    def path(self, name: str) -> str:
        return str(ServePath(self.access.workspace.name, self.owner.username, name))


@dataclass(frozen=True)
class StoredBlob:
    """Bytes already in the blob store, about to become a version."""

    sha256: str
    size: int
    content_type: str
    original_name: str


async def folder(
    session: AsyncSession,
    *,
    user: User,
    workspace: str | uuid.UUID,
    username: str | None,
    write: bool,
) -> Folder:
    """Resolve ``workspace``/``username``: reading needs viewer, writing engineer, in any
    member's folder (files are the team's; locks, not folders, stop a writer: see
    :mod:`threadline.vault.locks`). A username that is not a member answers 404."""
    access = await require_role(
        session, user=user, workspace=workspace, minimum=locks.WRITER_ROLE if write else Role.viewer
    )
    name = (username or user.username).lower()
    if name == user.username:
        return Folder(access=access, owner=user)
    owner = await session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.username == name, Membership.workspace_id == access.workspace.id)
    )
    if owner is None:
        raise NotFound(f"No member {name!r} in {access.workspace.name}.", code="MEMBER_NOT_FOUND")
    return Folder(access=access, owner=owner)


def _live(workspace_id: uuid.UUID, owner_id: uuid.UUID, name: str, branch: str) -> Any:
    return select(VaultFile).where(
        VaultFile.workspace_id == workspace_id,
        VaultFile.owner_id == owner_id,
        VaultFile.name == name,
        VaultFile.branch == branch,
        VaultFile.deleted_at.is_(None),
    )


async def find_file(
    session: AsyncSession, f: Folder, name: str, *, branch: str = MAIN, for_update: bool = False
) -> VaultFile | None:
    """The live file at ``name`` on ``branch`` (row-locked on PostgreSQL when ``for_update``)."""
    stmt = _live(f.access.workspace.id, f.owner.id, name, branch)
    if for_update:
        stmt = stmt.with_for_update()
    found: VaultFile | None = await session.scalar(stmt)
    return found


async def get_file(session: AsyncSession, f: Folder, name: str, *, branch: str = MAIN) -> VaultFile:
    found = await find_file(session, f, name, branch=branch)
    if found is None:
        raise NotFound(f"{f.path(name)} not found.", code="FILE_NOT_FOUND")
    return found


async def file_by_id(
    session: AsyncSession, *, user: User, file_id: uuid.UUID, minimum: Role | str, live: bool = True
) -> tuple[Access, VaultFile]:
    """A file addressed by id (Cascadia): 404 RESOURCE_NOT_FOUND for strangers, as if missing."""
    file = await session.get(VaultFile, file_id)
    missing = NotFound(f"File {file_id} not found.", code="RESOURCE_NOT_FOUND")
    if file is None or (live and file.deleted_at is not None):
        raise missing
    try:
        access = await require_role(
            session, user=user, workspace=file.workspace_id, minimum=minimum
        )
    except NotFound:
        raise missing from None
    return access, file


def snapshot(file: VaultFile) -> dict[str, Any]:
    return {
        "name": file.name,
        "branch": file.branch,
        "version": file.current_version,
        "sha256": file.sha256,
        "size": file.size,
        "itemId": str(file.item_id) if file.item_id else None,
    }


def record(
    session: AsyncSession,
    actor: User,
    workspace: Workspace,
    file: VaultFile,
    action: str,
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        workspace=workspace,
        entity_type="file",
        entity_id=file.id,
        action=action,
        before=before,
        after=snapshot(file),
    )


def add_version(
    session: AsyncSession,
    file: VaultFile,
    blob: StoredBlob,
    *,
    actor: User,
    message: str | None,
    source: str = "upload",
) -> FileVersion:
    """Append the next version and make it current."""
    file.current_version += 1
    file.sha256, file.size, file.content_type = blob.sha256, blob.size, blob.content_type
    file.updated_at = utcnow()
    version = FileVersion(
        number=file.current_version,
        sha256=blob.sha256,
        size=blob.size,
        content_type=blob.content_type,
        original_name=blob.original_name,
        message=message,
        author_id=actor.id,
        source=source,
    )
    if "versions" in file.__dict__:  # a new file: its (empty) collection is loaded
        file.versions.append(version)
    else:  # an existing file: never lazy-load its history just to append to it
        version.file_id = file.id
        session.add(version)
    return version


def new_file(f: Folder, name: str, blob: StoredBlob, branch: str, **extra: Any) -> VaultFile:
    return VaultFile(
        workspace_id=f.access.workspace.id,
        owner_id=f.owner.id,
        name=name,
        branch=branch,
        current_version=0,
        sha256=blob.sha256,
        size=blob.size,
        content_type=blob.content_type,
        versions=[],
        **extra,
    )


@dataclass
class UploadOutcome:
    file: VaultFile  # the file the bytes went to (the conflict copy on conflict)
    version: FileVersion
    conflict_with: VaultFile | None = None  # set when a stale base made a _conflict_ copy


async def upload(
    session: AsyncSession,
    *,
    f: Folder,
    actor: User,
    name: str,
    blob: StoredBlob,
    base_version: str | None,
    replace: bool,
    message: str | None,
    branch: str = MAIN,
    item_id: uuid.UUID | None = None,
    description: str | None = None,
    on_conflict: Literal["copy", "reject"] = "copy",
) -> UploadOutcome:
    """Store ``blob`` as the next version of ``name`` (productflo-sync-api: Upload examples).

    A new name becomes version 1. Over an existing file the caller must show the current etag
    (``baseVersion``) or ask to ``replace``; a stale or missing base does not overwrite: the
    bytes are kept as a ``<name>_conflict_<user>_<time>`` copy (or refused with 409 when
    ``on_conflict="reject"``). Locks held by others answer 423. ``item_id`` links the file to a
    part (a Cascadia item): a file without one gains it, a file of another part answers 409.
    """
    current = await find_file(session, f, name, branch=branch, for_update=True)
    if current is None:
        file = new_file(f, name, blob, branch, item_id=item_id, description=description)
        try:
            async with session.begin_nested():  # a concurrent first upload may win the name
                session.add(file)
                version = add_version(session, file, blob, actor=actor, message=message)
                await session.flush()
        except IntegrityError:
            current = await find_file(session, f, name, branch=branch, for_update=True)
            if current is None:
                raise
        else:
            record(session, actor, f.access.workspace, file, "create")
            return UploadOutcome(file=file, version=version)
    await locks.ensure_can_modify(session, actor=actor, file=current)
    if item_id is not None and current.item_id not in (None, item_id):
        raise Conflict(
            f"{f.path(name)} belongs to another item; rename the file to attach it here.",
            code="FILE_EXISTS",
        )
    if replace or (
        base_version is not None and base_version in (current.etag, str(current.current_version))
    ):
        before = snapshot(current)
        version = add_version(session, current, blob, actor=actor, message=message)
        if description is not None:
            current.description = description
        if item_id is not None:
            current.item_id = item_id
        await session.flush()  # the version id goes into the response
        record(session, actor, f.access.workspace, current, "version", before)
        return UploadOutcome(file=current, version=version)
    why = (
        f"{f.path(name)} is at {current.etag}, not {base_version}"
        if base_version
        else f"{f.path(name)} exists; send baseVersion={current.etag} or replace=true"
    )
    if on_conflict == "reject":
        raise Conflict(why + ".", code="VERSION_CONFLICT", currentEtag=current.etag)
    copy = await _conflict_copy(session, f, actor, current, blob, message, item_id)
    return UploadOutcome(file=copy, version=copy.versions[-1], conflict_with=current)


async def _conflict_copy(
    session: AsyncSession,
    f: Folder,
    actor: User,
    original: VaultFile,
    blob: StoredBlob,
    message: str | None,
    item_id: uuid.UUID | None,
) -> VaultFile:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    n = 1
    while True:
        name = conflict_name(original.name, actor.username, stamp, n)
        copy = new_file(
            f,
            name,
            blob,
            original.branch,
            conflict_of_id=original.id,
            item_id=original.item_id or item_id,
        )
        try:
            async with session.begin_nested():
                session.add(copy)
                add_version(session, copy, blob, actor=actor, message=message)
                await session.flush()
        except IntegrityError:
            n += 1  # another conflict in the same second
            continue
        record(
            session, actor, f.access.workspace, copy, "conflict", {"conflictOf": str(original.id)}
        )
        return copy


async def list_files(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    owner_id: uuid.UUID | None = None,
    limit: int = 5000,
) -> Sequence[tuple[VaultFile, str]]:
    """Live files (with their owner's username), by owner, name and branch."""
    stmt = (
        select(VaultFile, User.username)
        .join(User, User.id == VaultFile.owner_id)
        .where(VaultFile.workspace_id == workspace_id, VaultFile.deleted_at.is_(None))
    )
    if owner_id is not None:
        stmt = stmt.where(VaultFile.owner_id == owner_id)
    rows = await session.execute(
        stmt.order_by(User.username, VaultFile.name, VaultFile.branch).limit(limit)
    )
    return [(file, username) for file, username in rows.all()]


async def versions_of(
    session: AsyncSession, file: VaultFile
) -> Sequence[tuple[FileVersion, str | None]]:
    """Every version, newest first, with the author's username."""
    rows = await session.execute(
        select(FileVersion, User.username)
        .outerjoin(User, User.id == FileVersion.author_id)
        .where(FileVersion.file_id == file.id)
        .order_by(FileVersion.number.desc())
    )
    return [(v, u) for v, u in rows.all()]


async def trash(session: AsyncSession, *, actor: User, access: Access, file: VaultFile) -> None:
    """Soft-delete to the workspace trash (423 when someone else holds a lock)."""
    await locks.ensure_can_modify(session, actor=actor, file=file)
    before = snapshot(file)
    file.deleted_at = utcnow()
    file.deleted_by_id = actor.id
    await locks.drop_lock(session, file)
    record(session, actor, access.workspace, file, "delete", before)


async def list_trash(
    session: AsyncSession, *, workspace_id: uuid.UUID, owner_id: uuid.UUID | None
) -> Sequence[tuple[VaultFile, str]]:
    stmt = (
        select(VaultFile, User.username)
        .join(User, User.id == VaultFile.owner_id)
        .where(VaultFile.workspace_id == workspace_id, VaultFile.deleted_at.is_not(None))
    )
    if owner_id is not None:
        stmt = stmt.where(VaultFile.owner_id == owner_id)
    rows = await session.execute(stmt.order_by(VaultFile.deleted_at.desc()))
    return [(file, username) for file, username in rows.all()]


async def restore(session: AsyncSession, *, actor: User, f: Folder, key: str) -> VaultFile:
    """Bring a trashed file back (409 when a live file already has its name)."""
    try:
        file_id = uuid.UUID(key)
    except ValueError:
        raise Invalid(
            f"{key!r} is not a trash key (a file id from GET /v1/trash).", code="INVALID_KEY"
        ) from None
    file = await session.scalar(
        select(VaultFile).where(
            VaultFile.id == file_id,
            VaultFile.workspace_id == f.access.workspace.id,
            VaultFile.owner_id == f.owner.id,
            VaultFile.deleted_at.is_not(None),
        )
    )
    if file is None:
        raise NotFound(f"Nothing in the trash under {key}.", code="TRASH_ITEM_NOT_FOUND")
    if await find_file(session, f, file.name, branch=file.branch):
        raise Conflict(
            f"{f.path(file.name)} exists again; rename or delete it first.", code="FILE_EXISTS"
        )
    file.deleted_at = None
    file.deleted_by_id = None
    record(session, actor, f.access.workspace, file, "restore")
    return file


async def copies_by_name(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    name: str,
    branch: str = MAIN,
    for_update: bool = False,
) -> Sequence[VaultFile]:
    """Every member's live copy of ``name`` (ProductFlo propagates reverts and resolutions)."""
    stmt = select(VaultFile).where(
        VaultFile.workspace_id == workspace_id,
        VaultFile.name == name,
        VaultFile.branch == branch,
        VaultFile.deleted_at.is_(None),
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt.order_by(VaultFile.owner_id))).all()


async def propagate(
    session: AsyncSession,
    *,
    actor: User,
    access: Access,
    name: str,
    branch: str,
    blob: StoredBlob,
    message: str | None,
    source: str,
) -> list[VaultFile]:
    """Make ``blob`` the new version of every member's copy of ``name``; any copy locked by
    someone else refuses the whole operation (423), so nothing is half-propagated."""
    copies = await copies_by_name(
        session, workspace_id=access.workspace.id, name=name, branch=branch, for_update=True
    )
    if not copies:
        raise NotFound(f"No copy of {name} in {access.workspace.name}.", code="FILE_NOT_FOUND")
    for copy in copies:
        await locks.ensure_can_modify(session, actor=actor, file=copy)
    for copy in copies:
        before = snapshot(copy)
        add_version(session, copy, blob, actor=actor, message=message, source=source)
        record(session, actor, access.workspace, copy, source, before)
    await session.flush()
    return list(copies)


async def revert(
    session: AsyncSession,
    *,
    actor: User,
    f: Folder,
    name: str,
    version_id: uuid.UUID,
    message: str | None,
) -> list[VaultFile]:
    """Revert ``name`` to an earlier version, across all members' copies (respects locks)."""
    file = await get_file(session, f, name)
    version = await session.scalar(
        select(FileVersion).where(FileVersion.id == version_id, FileVersion.file_id == file.id)
    )
    if version is None:
        raise NotFound(
            f"Version {version_id} is not a version of {f.path(name)}.", code="VERSION_NOT_FOUND"
        )
    access = await require_role(
        session, user=actor, workspace=f.access.workspace.id, minimum=locks.WRITER_ROLE
    )
    blob = StoredBlob(version.sha256, version.size, version.content_type, version.original_name)
    note = message or f"Revert to version {version.number}"
    return await propagate(
        session,
        actor=actor,
        access=access,
        name=name,
        branch=file.branch,
        blob=blob,
        message=note,
        source="revert",
    )


async def backfill(session: AsyncSession, *, actor: User, access: Access, owner: User) -> int:
    """Give a member a copy of every main-branch file of the workspace they lack (the newest
    copy of each name). Content is shared by hash, so this copies no bytes."""
    rows = await list_files(session, workspace_id=access.workspace.id)
    have = {file.name for file, _ in rows if file.owner_id == owner.id and file.branch == MAIN}
    newest: dict[str, VaultFile] = {}
    for file, _username in rows:
        if file.branch != MAIN or file.conflict_of_id or file.name in have:
            continue
        if file.name not in newest or file.updated_at > newest[file.name].updated_at:
            newest[file.name] = file
    f = Folder(access=access, owner=owner)
    for source in newest.values():
        blob = StoredBlob(source.sha256, source.size, source.content_type, source.name)
        copy = new_file(
            f, source.name, blob, MAIN, item_id=source.item_id, description=source.description
        )
        session.add(copy)
        add_version(
            session,
            copy,
            blob,
            actor=actor,
            message="Backfilled when the folder was initialised",
            source="backfill",
        )
        await session.flush()
        record(session, actor, access.workspace, copy, "backfill")
    return len(newest)


async def file_at_path(session: AsyncSession, where: ServePath, *, branch: str = MAIN) -> VaultFile:
    """The live file at a serve path, without any access check (signed URLs carry their own)."""
    file = await session.scalar(
        select(VaultFile)
        .join(Workspace, Workspace.id == VaultFile.workspace_id)
        .join(User, User.id == VaultFile.owner_id)
        .where(
            Workspace.name == where.workspace,
            User.username == where.username,
            VaultFile.name == where.filename,
            VaultFile.branch == branch,
            VaultFile.deleted_at.is_(None),
        )
    )
    if file is None:
        raise NotFound(f"{where} not found.", code="FILE_NOT_FOUND")
    return file


def serve_path(workspace: str, username: str, name: str) -> str:
    return str(ServePath(workspace, username, name))
