"""Cascadia's item-level locking on catalog parts (cascadia-files-api: Lock Hierarchy, Item Lock
API, Item Checkout API): item locks across all branches and branch-scoped checkouts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Role, User
from threadline.auth.service import Access, require_role
from threadline.catalog import attachments
from threadline.catalog import service as catalog
from threadline.catalog.models import Part, PartVersion
from threadline.db import iso, utcnow
from threadline.errors import Conflict, Forbidden, Invalid, Locked, NotFound
from threadline.vault import service
from threadline.vault.models import Branch, ItemCheckout, ItemLock, VaultFile
from threadline.vault.service import Folder, UploadOutcome


async def item_access(
    session: AsyncSession, *, user: User, item_id: uuid.UUID, minimum: Role | str
) -> tuple[Access, Part]:
    """The part and the caller's access: 404 RESOURCE_NOT_FOUND for strangers, as if missing."""
    missing = NotFound(f"Item {item_id} not found.", code="RESOURCE_NOT_FOUND")
    workspace_id = await catalog.workspace_of_part(session, item_id)
    if workspace_id is None:
        raise missing
    try:
        access = await require_role(session, user=user, workspace=workspace_id, minimum=minimum)
    except NotFound:
        raise missing from None
    return access, await catalog.get_part(session, workspace_id=workspace_id, part_id=item_id)


async def branch(session: AsyncSession, access: Access, branch_id: uuid.UUID | None) -> Branch:
    """The workspace's branch ``branch_id`` (all checkout operations need one)."""
    if branch_id is None:
        raise Invalid("branchId is required.", code="BRANCH_REQUIRED")
    row = await session.scalar(
        select(Branch).where(Branch.id == branch_id, Branch.workspace_id == access.workspace.id)
    )
    if row is None:
        raise NotFound(f"Branch {branch_id} not found.", code="RESOURCE_NOT_FOUND")
    return row


def person(user: User | None) -> dict[str, Any] | None:
    return {"id": str(user.id), "name": user.name, "email": user.email} if user else None


def _record(
    session: AsyncSession,
    actor: User,
    access: Access,
    part: Part,
    action: str,
    after: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        workspace=access.workspace,
        entity_type="item",
        entity_id=part.id,
        action=action,
        after={"partNumber": part.part_number, **(after or {})},
    )


async def _holder(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def lock_item(
    session: AsyncSession, *, actor: User, access: Access, part: Part, force: bool
) -> ItemLock:
    """Lock the item across all branches; ``force`` takes over another user's lock (managers
    and server administrators only)."""
    row = await session.scalar(
        select(ItemLock).where(ItemLock.item_id == part.id).with_for_update()
    )
    if row is not None and row.owner_id != actor.id:
        if not force:
            holder = await _holder(session, row.owner_id)
            raise Locked(
                f"Item is locked by {holder.name if holder else 'another user'}.",
                code="ITEM_LOCKED",
            )
        if not (actor.is_admin or access.role.at_least(Role.manager)):
            raise Forbidden("Only administrators can force an item lock.", code="INSUFFICIENT_ROLE")
    if row is None:
        row = ItemLock(item_id=part.id, owner_id=actor.id)
        session.add(row)
    else:
        row.owner_id = actor.id
        row.created_at = utcnow()
    await session.flush()  # lockedAt is read back for the response
    _record(session, actor, access, part, "lock", {"force": force})
    return row


async def unlock_item(
    session: AsyncSession, *, actor: User, access: Access, part: Part, force: bool
) -> None:
    row = await session.scalar(select(ItemLock).where(ItemLock.item_id == part.id))
    if row is None:
        raise Conflict("Item is not locked.", code="NOT_LOCKED")
    if row.owner_id != actor.id and not (
        force and (actor.is_admin or access.role.at_least(Role.manager))
    ):
        holder = await _holder(session, row.owner_id)
        raise Locked(
            f"Item is locked by {holder.name if holder else 'another user'}.", code="ITEM_LOCKED"
        )
    await session.delete(row)
    _record(session, actor, access, part, "unlock")


async def lock_status(session: AsyncSession, part: Part) -> dict[str, Any]:
    row = await session.scalar(select(ItemLock).where(ItemLock.item_id == part.id))
    if row is None:
        return {"isLocked": False}
    minutes = int((utcnow() - row.created_at).total_seconds() // 60)
    return {
        "isLocked": True,
        "lockType": "lock",
        "lockedBy": person(await _holder(session, row.owner_id)),
        "lockedAt": iso(row.created_at),
        "lockedFor": minutes,
        "scope": "item",
    }


async def _refuse_item_lock(session: AsyncSession, actor: User, part: Part) -> None:
    """423 ITEM_LOCKED when another user holds the item lock (cascadia rule 1)."""
    held = await session.scalar(select(ItemLock).where(ItemLock.item_id == part.id))
    if held and held.owner_id != actor.id:
        holder = await _holder(session, held.owner_id)
        raise Locked(
            f"Item is locked by {holder.name if holder else 'another user'}.", code="ITEM_LOCKED"
        )


async def ensure_can_add_files(
    session: AsyncSession, *, actor: User, part: Part, branch_name: str
) -> None:
    """423 when another user's item lock (rule 1) or checkout of the item on ``branch_name``
    (rule 2) forbids adding files to the item there; files that already exist are guarded
    by :func:`threadline.vault.locks.ensure_can_modify`."""
    await _refuse_item_lock(session, actor, part)
    held = await session.scalar(
        select(ItemCheckout)
        .join(Branch, Branch.id == ItemCheckout.branch_id)
        .where(ItemCheckout.item_id == part.id, Branch.name == branch_name)
    )
    if held and held.owner_id != actor.id:
        holder = await _holder(session, held.owner_id)
        raise Locked(
            f"Item is already checked out by {holder.name if holder else 'another user'} "
            f"on branch {branch_name}.",
            code="CHECKOUT_CONFLICT",
        )


@dataclass(frozen=True)
class UploadLink:
    """Where a native upload's file belongs: a part (``itemId``) and, optionally, the part
    revision its new version is attached to (``partVersionId``)."""

    part: Part
    revision: PartVersion | None


async def upload_link(
    session: AsyncSession,
    *,
    access: Access,
    actor: User,
    item_id: uuid.UUID | None,
    part_version_id: uuid.UUID | None,
    branch_name: str,
) -> UploadLink | None:
    """Check an upload's ``itemId``/``partVersionId`` before anything is recorded: the part
    must be the workspace's (404 PART_NOT_FOUND), the revision the part's (404) and open
    (409 REVISION_FROZEN / REVISION_NOT_EDITABLE), and no one else's item lock or checkout may
    forbid adding files (423). A revision alone names its part."""
    if item_id is None and part_version_id is None:
        return None
    if item_id is None:
        item_id = await session.scalar(
            select(PartVersion.part_id)
            .join(Part, Part.id == PartVersion.part_id)
            .where(PartVersion.id == part_version_id, Part.workspace_id == access.workspace.id)
        )
        if item_id is None:
            raise NotFound(f"Version {part_version_id} not found.", code="VERSION_NOT_FOUND")
    part = await catalog.get_part(session, workspace_id=access.workspace.id, part_id=item_id)
    revision = None
    if part_version_id is not None:
        revision = await attachments.editable_version(
            session, access=access, part=part, part_version_id=part_version_id
        )
    await ensure_can_add_files(session, actor=actor, part=part, branch_name=branch_name)
    return UploadLink(part=part, revision=revision)


async def attach_upload(
    session: AsyncSession, *, access: Access, link: UploadLink | None, outcome: UploadOutcome
) -> uuid.UUID | None:
    """Attach the uploaded version to the link's revision (never a conflict copy); returns the
    attachment's id."""
    if link is None or link.revision is None or outcome.conflict_with is not None:
        return None
    attached = await attachments.attach(
        session,
        access=access,
        part=link.part,
        version=link.revision,
        file=outcome.file,
        file_version=outcome.version,
    )
    return attached.link.id


async def upload_folder(
    session: AsyncSession, *, access: Access, actor: User, part: Part, name: str, branch_name: str
) -> Folder:
    """Where an upload of ``name`` to the item goes: the folder holding the item's file of that
    name on the branch, whoever uploaded it first (a Cascadia file belongs to its item), else
    the uploader's own folder. 409 when the uploader's ``name`` there belongs to another item."""
    existing = await session.scalar(
        select(VaultFile)
        .where(
            VaultFile.item_id == part.id,
            VaultFile.name == name,
            VaultFile.branch == branch_name,
            VaultFile.deleted_at.is_(None),
        )
        .order_by(VaultFile.created_at)
        .limit(1)
    )
    if existing is not None and existing.owner_id != actor.id:
        owner = await session.get(User, existing.owner_id)
        if owner is not None:
            return Folder(access=access, owner=owner)
    f = Folder(access=access, owner=actor)
    clash = existing or await service.find_file(session, f, name, branch=branch_name)
    if clash is not None and clash.item_id not in (None, part.id):
        raise Conflict(
            f"{f.path(name)} belongs to another item; rename the file to attach it here.",
            code="FILE_EXISTS",
        )
    return f


async def checkout(
    session: AsyncSession, *, actor: User, access: Access, part: Part, on: Branch
) -> ItemCheckout:
    """Check the item out to ``actor`` on a branch (cascadia rules 1 and 2)."""
    await _refuse_item_lock(session, actor, part)
    row = await session.scalar(
        select(ItemCheckout)
        .where(ItemCheckout.item_id == part.id, ItemCheckout.branch_id == on.id)
        .with_for_update()
    )
    if row is not None:
        if row.owner_id != actor.id:
            holder = await _holder(session, row.owner_id)
            raise Conflict(
                f"Item is already checked out by {holder.name if holder else 'another user'}.",
                code="CHECKOUT_CONFLICT",
            )
        return row
    row = ItemCheckout(item_id=part.id, branch_id=on.id, owner_id=actor.id)
    session.add(row)
    await session.flush()
    _record(session, actor, access, part, "checkout", {"branch": on.name})
    return row


async def end_checkout(
    session: AsyncSession, *, actor: User, access: Access, part: Part, on: Branch, action: str
) -> None:
    """Check in or cancel: only the user who checked the item out."""
    row = await session.scalar(
        select(ItemCheckout).where(ItemCheckout.item_id == part.id, ItemCheckout.branch_id == on.id)
    )
    if row is None:
        raise Conflict("Item is not checked out.", code="NOT_CHECKED_OUT")
    if row.owner_id != actor.id:
        raise Forbidden("You do not have this item checked out.", code="NOT_YOUR_CHECKOUT")
    await session.delete(row)
    _record(session, actor, access, part, action, {"branch": on.name})


async def checkout_status(session: AsyncSession, part: Part, on: Branch) -> dict[str, Any]:
    row = await session.scalar(
        select(ItemCheckout).where(ItemCheckout.item_id == part.id, ItemCheckout.branch_id == on.id)
    )
    if row is None:
        return {"isCheckedOut": False, "branchId": str(on.id)}
    return {
        "isCheckedOut": True,
        "branchId": str(on.id),
        "branchName": on.name,
        "checkedOutBy": person(await _holder(session, row.owner_id)),
        "checkedOutAt": iso(row.created_at),
    }
