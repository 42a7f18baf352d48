"""Who may change a file, and the lock hierarchy (cascadia-files-api: Lock Hierarchy).

Files belong to the team: any member with :data:`WRITER_ROLE` (engineer) or above may change any
file of the workspace, whoever's folder it sits in; viewers may not (403). What stops a writer is
someone else's lock: item lock (highest: blocks everything on the part and its files) > checkout
of the part on a branch (blocks others on that branch) > file lock (ProductFlo TTL lock or
Cascadia file checkout: blocks changes to that file), each 423 (productflo-sync-api: Locks, "Many
mutating operations respect locks and return 423 when locked by another user"). A lock covers
its file for everyone but its holder, the folder's owner included; managers can force-unlock.
One guard, :func:`ensure_can_modify`, is called by every mutating vault operation of every face.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Role, User
from threadline.auth.service import Access
from threadline.db import iso, utcnow
from threadline.errors import Conflict, Forbidden, Invalid, Locked
from threadline.vault.models import Branch, FileLock, ItemCheckout, ItemLock, LockKind, VaultFile

# The least role that may change files (any member's); the native and Cascadia faces both ask it.
WRITER_ROLE = Role.engineer

DEFAULT_TTL_MS = 10 * 60 * 1000
MIN_TTL_MS = 60 * 1000
MAX_TTL_MS = 7 * 24 * 3600 * 1000


def is_active(lock: FileLock | None) -> bool:
    return lock is not None and (lock.expires_at is None or lock.expires_at > utcnow())


async def file_lock(session: AsyncSession, file: VaultFile) -> FileLock | None:
    """The file's lock, or None when there is none or it has expired."""
    lock = await session.scalar(select(FileLock).where(FileLock.file_id == file.id))
    return lock if is_active(lock) else None


async def _name(session: AsyncSession, user_id: uuid.UUID) -> str:
    user = await session.get(User, user_id)
    return user.name if user else "another user"


async def item_lock(session: AsyncSession, item_id: uuid.UUID) -> ItemLock | None:
    return await session.scalar(select(ItemLock).where(ItemLock.item_id == item_id))


async def ensure_can_modify(session: AsyncSession, *, actor: User, file: VaultFile) -> None:
    """423 when someone else's lock covers ``file``: item lock, branch checkout or file lock."""
    if file.item_id is not None:
        held = await item_lock(session, file.item_id)
        if held and held.owner_id != actor.id:
            raise Locked(
                f"Item is locked by {await _name(session, held.owner_id)}.", code="ITEM_LOCKED"
            )
        checkout = await session.scalar(
            select(ItemCheckout)
            .join(Branch, Branch.id == ItemCheckout.branch_id)
            .where(ItemCheckout.item_id == file.item_id, Branch.name == file.branch)
        )
        if checkout and checkout.owner_id != actor.id:
            raise Locked(
                f"Item is already checked out by {await _name(session, checkout.owner_id)} "
                f"on branch {file.branch}.",
                code="CHECKOUT_CONFLICT",
            )
    lock = await file_lock(session, file)
    if lock and lock.owner_id != actor.id:
        holder = await session.get(User, lock.owner_id)
        # cascadia-files-api: Lock Error Codes gives the message; ``lockedBy`` names the holder.
        raise Locked(
            f"File is locked by {holder.name if holder else 'another user'}.",
            code="FILE_LOCKED",
            lockedBy=holder.username if holder else None,
        )


def check_ttl(ttl_ms: int | None) -> int:
    ttl = DEFAULT_TTL_MS if ttl_ms is None else ttl_ms
    if ttl < MIN_TTL_MS or ttl > MAX_TTL_MS:
        raise Invalid(
            f"ttlMs must be between {MIN_TTL_MS} (1 minute) and {MAX_TTL_MS}.", code="INVALID_TTL"
        )
    return ttl


async def acquire(
    session: AsyncSession,
    *,
    actor: User,
    access: Access,
    file: VaultFile,
    owner: User,
    kind: LockKind,
    ttl_ms: int | None = None,
) -> FileLock:
    """Lock ``file`` for ``owner``; renewing your own lock extends it.

    Someone else's valid lock answers 409 LOCK_HELD for a TTL lock (productflo: Locks) and 423
    RESOURCE_LOCKED for a checkout (cascadia: File Check-Out).
    """
    if file.item_id is not None:
        held = await item_lock(session, file.item_id)
        if held and held.owner_id != owner.id:
            raise Locked(
                f"Item is locked by {await _name(session, held.owner_id)}.", code="ITEM_LOCKED"
            )
    row = await session.scalar(
        select(FileLock).where(FileLock.file_id == file.id).with_for_update()
    )
    if is_active(row) and row is not None and row.owner_id != owner.id:
        holder = await _name(session, row.owner_id)
        if kind == LockKind.checkout:
            raise Locked(f"File is already checked out by {holder}.", code="RESOURCE_LOCKED")
        raise Conflict(f"File is locked by {holder}.", code="LOCK_HELD", lockedBy=holder)
    expires = (
        None if kind == LockKind.checkout else utcnow() + timedelta(milliseconds=check_ttl(ttl_ms))
    )
    if row is None:
        row = FileLock(file_id=file.id, owner_id=owner.id, kind=kind, expires_at=expires)
        session.add(row)
    else:
        row.owner_id, row.kind, row.expires_at = owner.id, kind, expires
        row.created_at = utcnow()
    await session.flush()  # the lock id goes into the response
    _audit(
        session,
        actor,
        access,
        file,
        "lock" if kind == LockKind.lock else "checkout",
        {"owner": owner.username},
    )
    return row


def _audit(
    session: AsyncSession,
    actor: User,
    access: Access,
    file: VaultFile,
    action: str,
    after: dict[str, Any] | None = None,
    notify: str | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        workspace=access.workspace,
        entity_type="file",
        entity_id=file.id,
        action=action,
        after={"name": file.name, **(after or {})},
        notify=notify,
    )


async def release(
    session: AsyncSession,
    *,
    actor: User,
    access: Access,
    file: VaultFile,
    lock_id: uuid.UUID | None,
) -> None:
    """Release your own lock (``lock_id`` must match when given); others need force-unlock."""
    row = await file_lock(session, file)
    if row is None:
        raise Conflict("The file is not locked.", code="NOT_LOCKED")
    if lock_id is not None and row.id != lock_id:
        raise Conflict("That lock is no longer the file's lock.", code="LOCK_MISMATCH")
    if row.owner_id != actor.id:
        raise Forbidden(
            f"The lock belongs to {await _name(session, row.owner_id)}; "
            "a manager can force-unlock it.",
            code="NOT_LOCK_OWNER",
        )
    await session.delete(row)
    _audit(session, actor, access, file, "unlock")


async def force_unlock(
    session: AsyncSession, *, actor: User, access: Access, file: VaultFile, message: str | None
) -> uuid.UUID | None:
    """Manager override; returns the former holder's id (they are told through the event)."""
    row = await file_lock(session, file)
    if row is None:
        raise Conflict("The file is not locked.", code="NOT_LOCKED")
    holder = row.owner_id
    await session.delete(row)
    _audit(
        session,
        actor,
        access,
        file,
        "force_unlock",
        {"formerOwner": str(holder), "message": message},
    )
    return holder


async def drop_lock(session: AsyncSession, file: VaultFile) -> None:
    await session.execute(delete(FileLock).where(FileLock.file_id == file.id))


async def request(
    session: AsyncSession, *, actor: User, access: Access, file: VaultFile
) -> FileLock:
    """Ask the holder to release the file; recorded (and published to the holder)."""
    row = await file_lock(session, file)
    if row is None:
        raise Conflict("The file is not locked; lock it yourself.", code="NOT_LOCKED")
    holder = await session.get(User, row.owner_id)
    _audit(
        session,
        actor,
        access,
        file,
        "lock_request",
        {"holder": str(row.owner_id), "from": actor.username},
        notify=holder.username if holder else None,
    )
    return row


async def lock_all(
    session: AsyncSession, *, actor: User, access: Access, owner: User, ttl_ms: int | None
) -> tuple[int, list[str]]:
    """Lock every live file of the workspace for ``owner`` (manager+); files someone else holds
    are skipped and named."""
    expires = utcnow() + timedelta(milliseconds=check_ttl(ttl_ms))
    files = (
        await session.scalars(
            select(VaultFile).where(
                VaultFile.workspace_id == access.workspace.id, VaultFile.deleted_at.is_(None)
            )
        )
    ).all()
    current = (
        {
            lock.file_id: lock
            for lock in (
                await session.scalars(
                    select(FileLock).where(FileLock.file_id.in_([f.id for f in files]))
                )
            ).all()
        }
        if files
        else {}
    )
    locked, skipped = 0, []
    for file in files:
        row = current.get(file.id)
        if is_active(row) and row is not None and row.owner_id != owner.id:
            skipped.append(file.name)
            continue
        if row is None:
            session.add(
                FileLock(file_id=file.id, owner_id=owner.id, kind=LockKind.lock, expires_at=expires)
            )
        else:
            row.owner_id, row.kind, row.expires_at = owner.id, LockKind.lock, expires
        locked += 1
    audit.record(
        session,
        actor=actor,
        workspace=access.workspace,
        entity_type="workspace",
        entity_id=access.workspace.id,
        action="lock_all",
        after={"locked": locked, "skipped": len(skipped)},
    )
    return locked, skipped


async def unlock_all(session: AsyncSession, *, actor: User, access: Access) -> int:
    """Remove every file lock and file checkout in the workspace (manager+)."""
    ids = select(VaultFile.id).where(VaultFile.workspace_id == access.workspace.id)
    rows: Sequence[FileLock] = (
        await session.scalars(select(FileLock).where(FileLock.file_id.in_(ids)))
    ).all()
    for row in rows:
        await session.delete(row)
    audit.record(
        session,
        actor=actor,
        workspace=access.workspace,
        entity_type="workspace",
        entity_id=access.workspace.id,
        action="unlock_all",
        after={"unlocked": len(rows)},
    )
    return len(rows)


async def lock_info(session: AsyncSession, file: VaultFile, path: str) -> dict[str, Any] | None:
    """``GET /v1/locks``: the current lock, or None."""
    row = await file_lock(session, file)
    if row is None:
        return None
    owner = await session.get(User, row.owner_id)
    return {
        "lockId": str(row.id),
        "path": path,
        "owner": owner.username if owner else None,
        "kind": row.kind.value,
        "lockedAt": iso(row.created_at),
        "expiresAt": iso(row.expires_at),
    }
