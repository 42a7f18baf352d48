"""Branches, merges and conflicts (productflo-sync-api: Branches & Merges, Conflicts).

Branches are first-class: a branch copy of ``model.step`` is the same name on another branch.
With ``PF_BRANCH_SUFFIX_WRITES`` (phase 1) the copy is instead written on main under a suffixed
name, ``model@fix.step``; listing, merging and deleting understand both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.auth.models import User
from threadline.auth.service import Access
from threadline.db import iso, utcnow
from threadline.errors import Conflict, Invalid, NotFound
from threadline.vault import locks, service
from threadline.vault.models import MAIN, Branch, VaultFile
from threadline.vault.paths import check_branch_name, parse_serve_path, suffix_branch_name
from threadline.vault.service import Folder, StoredBlob


async def ensure_branch(session: AsyncSession, access: Access, name: str, actor: User) -> Branch:
    """The workspace's branch row for ``name`` (created on first use)."""
    row = await session.scalar(
        select(Branch).where(Branch.workspace_id == access.workspace.id, Branch.name == name)
    )
    if row is None:
        row = Branch(workspace_id=access.workspace.id, name=name, created_by_id=actor.id)
        session.add(row)
        await session.flush()  # the branch id is the Cascadia branchId
    return row


async def branch_copy(
    session: AsyncSession, f: Folder, base: str, branch: str, *, suffix_writes: bool
) -> VaultFile | None:
    """The live copy of ``base`` on ``branch`` in either representation."""
    found = await service.find_file(session, f, base, branch=branch)
    if found is None and suffix_writes:
        found = await service.find_file(session, f, suffix_branch_name(base, branch))
    if found is None:
        found = await service.find_file(session, f, suffix_branch_name(base, branch))
    return found


async def list_branches(session: AsyncSession, f: Folder, base: str) -> list[dict[str, Any]]:
    """main plus every branch holding a copy of ``base`` in this folder."""
    rows = (
        await session.scalars(
            select(VaultFile).where(
                VaultFile.workspace_id == f.access.workspace.id,
                VaultFile.owner_id == f.owner.id,
                VaultFile.deleted_at.is_(None),
            )
        )
    ).all()
    out: dict[str, VaultFile] = {}
    prefix, dot, ext = base.rpartition(".")
    for file in rows:
        if file.name == base:
            out[file.branch] = file
        elif (
            file.branch == MAIN
            and dot
            and file.name.startswith(prefix + "@")
            and file.name.endswith("." + ext)
        ):
            out.setdefault(file.name[len(prefix) + 1 : -len(ext) - 1], file)
    if MAIN not in out:
        raise NotFound(f"{f.path(base)} not found.", code="FILE_NOT_FOUND")
    return [
        {
            "name": name,
            "path": f.path(file.name),
            "etag": file.etag,
            "version": file.current_version,
            "updatedAt": iso(file.updated_at),
            "main": name == MAIN,
        }
        for name, file in sorted(out.items(), key=lambda kv: (kv[0] != MAIN, kv[0]))
    ]


async def create_branch(
    session: AsyncSession, *, actor: User, f: Folder, base: str, branch: str, suffix_writes: bool
) -> VaultFile:
    """Start ``branch`` of ``base`` from main's current version."""
    check_branch_name(branch)
    if branch == MAIN:
        raise Invalid("main always exists.", code="INVALID_BRANCH")
    main = await service.get_file(session, f, base)
    if await branch_copy(session, f, base, branch, suffix_writes=suffix_writes):
        raise Conflict(f"Branch {branch} of {base} already exists.", code="BRANCH_EXISTS")
    await ensure_branch(session, f.access, branch, actor)
    name, on = (suffix_branch_name(base, branch), MAIN) if suffix_writes else (base, branch)
    blob = StoredBlob(main.sha256, main.size, main.content_type, main.name)
    copy = service.new_file(f, name, blob, on, item_id=main.item_id)
    session.add(copy)
    service.add_version(
        session,
        copy,
        blob,
        actor=actor,
        message=f"Branched from main v{main.current_version}",
        source="branch",
    )
    await session.flush()
    service.record(session, actor, f.access.workspace, copy, "branch", {"from": main.etag})
    return copy


async def delete_branch(
    session: AsyncSession, *, actor: User, f: Folder, base: str, branch: str, suffix_writes: bool
) -> VaultFile:
    if branch == MAIN:
        raise Invalid("main cannot be deleted.", code="CANNOT_DELETE_MAIN")
    check_branch_name(branch)
    copy = await branch_copy(session, f, base, branch, suffix_writes=suffix_writes)
    if copy is None:
        raise NotFound(f"No branch {branch} of {base}.", code="BRANCH_NOT_FOUND")
    await service.trash(session, actor=actor, access=f.access, file=copy)
    return copy


async def merge(
    session: AsyncSession,
    *,
    actor: User,
    f: Folder,
    filename: str,
    from_branch: str,
    message: str | None,
    suffix_writes: bool,
) -> VaultFile:
    """Make the branch's current content the next version on main (respects locks)."""
    if from_branch == MAIN:
        raise Invalid("Merge from a branch other than main.", code="INVALID_BRANCH")
    copy = await branch_copy(session, f, filename, from_branch, suffix_writes=suffix_writes)
    if copy is None:
        raise NotFound(f"No branch {from_branch} of {filename}.", code="BRANCH_NOT_FOUND")
    main = await service.find_file(session, f, filename, for_update=True)
    if main is None:
        raise NotFound(f"{f.path(filename)} not found.", code="FILE_NOT_FOUND")
    await locks.ensure_can_modify(session, actor=actor, file=main)
    before = service.snapshot(main)
    blob = StoredBlob(copy.sha256, copy.size, copy.content_type, copy.name)
    service.add_version(
        session,
        main,
        blob,
        actor=actor,
        message=message or f"Merge branch {from_branch}",
        source="merge",
    )
    await session.flush()
    service.record(session, actor, f.access.workspace, main, "merge", before)
    return main


@dataclass(frozen=True)
class ConflictRow:
    base_name: str
    path: str
    conflict_path: str
    author: str
    created_at: str | None


async def list_conflicts(
    session: AsyncSession, *, access: Access, owner: User | None
) -> list[ConflictRow]:
    """Live ``_conflict_`` copies in the workspace (or one member's folder)."""
    original, copy_owner, original_owner = aliased(VaultFile), aliased(User), aliased(User)
    stmt = (
        select(VaultFile, original, copy_owner.username, original_owner.username)
        .join(original, original.id == VaultFile.conflict_of_id)
        .join(copy_owner, copy_owner.id == VaultFile.owner_id)
        .join(original_owner, original_owner.id == original.owner_id)
        .where(VaultFile.workspace_id == access.workspace.id, VaultFile.deleted_at.is_(None))
    )
    if owner is not None:
        stmt = stmt.where(VaultFile.owner_id == owner.id)
    ws = access.workspace.name
    return [
        ConflictRow(
            base_name=orig.name,
            path=service.serve_path(ws, orig_owner, orig.name),
            conflict_path=service.serve_path(ws, copy_user, copy.name),
            author=copy_user,
            created_at=iso(copy.created_at),
        )
        for copy, orig, copy_user, orig_owner in (
            await session.execute(stmt.order_by(VaultFile.created_at))
        ).all()
    ]


async def resolve(
    session: AsyncSession,
    *,
    actor: User,
    access: Access,
    base_name: str,
    accepted_path: str,
    message: str | None,
) -> list[VaultFile]:
    """Accept one version of ``base_name`` — the original or a conflict copy — make it the next
    version of every member's copy, and move the conflict copies to the trash."""
    accepted_at = parse_serve_path(accepted_path)
    if accepted_at.workspace != access.workspace.name:
        raise NotFound(f"{accepted_path} not found.", code="FILE_NOT_FOUND")
    owner = await service.folder(
        session,
        user=actor,
        workspace=access.workspace.id,
        username=accepted_at.username,
        write=False,
    )
    accepted = await service.get_file(session, owner, accepted_at.filename)
    if accepted.name != base_name:
        original = (
            await session.get(VaultFile, accepted.conflict_of_id)
            if accepted.conflict_of_id
            else None
        )
        if original is None or original.name != base_name:
            raise Invalid(
                f"{accepted_path} is not a version of {base_name}.", code="NOT_A_CONFLICT_VERSION"
            )
    blob = StoredBlob(accepted.sha256, accepted.size, accepted.content_type, base_name)
    updated = await service.propagate(
        session,
        actor=actor,
        access=access,
        name=base_name,
        branch=accepted.branch,
        blob=blob,
        message=message or f"Resolved conflict with {accepted_path}",
        source="resolve",
    )
    ids = [f.id for f in updated]
    copies = (
        await session.scalars(
            select(VaultFile).where(
                VaultFile.conflict_of_id.in_(ids), VaultFile.deleted_at.is_(None)
            )
        )
    ).all()
    for copy in copies:
        copy.deleted_at = utcnow()
        copy.deleted_by_id = actor.id
        service.record(session, actor, access.workspace, copy, "resolved")
    return updated
