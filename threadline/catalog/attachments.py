"""The file ↔ part link of the digital thread: vault file versions pinned to part revisions.

An attachment pins one *version* of a vault file to one part revision, so a released revision
keeps pointing at the exact bytes it was released with. A revision holds at most one version of
each file: attaching another version of a file already attached re-pins it. An approved revision's
attachments are frozen with it; a submitted one's wait for the decision (as BOMs do).

Which revision is a part's *current* one is decided here, once, for every caller (part detail,
BOM tree ``files`` counts, where-used): :func:`current_revision_query` /
:func:`current_revisions`. A BOM line uses its ``child_version_id`` when set, else its part's
current revision (:func:`line_revision`).

Services never commit; every attach and detach is audited (and so reaches the event stream).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.audit import service as audit
from threadline.auth.models import User
from threadline.auth.service import Access
from threadline.catalog.models import ApprovalStatus, Part, PartVersion, PartVersionFile
from threadline.errors import Conflict, NotFound
from threadline.vault.models import FileVersion, VaultFile
from threadline.vault.paths import ServePath

# --- the "current revision" rule ----------------------------------------------------------------


def current_revision_query(part_ids: Any) -> Select[uuid.UUID, uuid.UUID]:
    """``(part_id, version_id)`` of each part's current revision: its newest approved revision,
    else its newest revision (newest by creation time, then id; ids are time-ordered).

    ``part_ids`` is a list of ids or a SELECT of them (so a BOM query can join this as a
    subquery instead of sending thousands of ids). Parts without revisions are absent.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=PartVersion.part_id,
            order_by=(
                case((PartVersion.status == ApprovalStatus.approved, 0), else_=1),
                PartVersion.created_at.desc(),
                PartVersion.id.desc(),
            ),
        )
        .label("rank")
    )
    ranked = (
        select(PartVersion.part_id, PartVersion.id.label("version_id"), rank)
        .where(PartVersion.part_id.in_(part_ids))
        .subquery("ranked_revisions")
    )
    return select(ranked.c.part_id, ranked.c.version_id).where(ranked.c.rank == 1)


async def current_revisions(
    session: AsyncSession, *, part_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """part id → id of its current revision (:func:`current_revision_query`), in one query."""
    ids = list(set(part_ids))
    if not ids:
        return {}
    rows = await session.execute(current_revision_query(ids))
    return {part_id: version_id for part_id, version_id in rows.all()}


def line_revision(
    child_version_id: uuid.UUID | None, current_version_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The revision a BOM line stands for: its pinned ``child_version_id`` when set, else its
    part's current revision (in SQL: ``coalesce(child_version_id, current.version_id)``)."""
    return child_version_id if child_version_id is not None else current_version_id


async def file_counts(
    session: AsyncSession, *, part_version_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """part revision id → number of attached files (revisions without files are absent)."""
    ids = list({v for v in part_version_ids if v is not None})
    if not ids:
        return {}
    rows = await session.execute(
        select(PartVersionFile.part_version_id, func.count())
        .where(PartVersionFile.part_version_id.in_(ids))
        .group_by(PartVersionFile.part_version_id)
    )
    return {version_id: int(count) for version_id, count in rows.all()}


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentRow:
    """One attachment, read as ``AttachmentRead`` (its properties are the response's fields)."""

    link: PartVersionFile
    revision: str
    file: VaultFile
    pinned: FileVersion
    username: str  # whose folder holds the file
    workspace_name: str
    attached_by: str | None

    @property
    def id(self) -> uuid.UUID:
        return self.link.id

    @property
    def part_id(self) -> uuid.UUID:
        return self.link.part_id

    @property
    def part_version_id(self) -> uuid.UUID:
        return self.link.part_version_id

    @property
    def file_id(self) -> uuid.UUID:
        return self.file.id

    @property
    def version_id(self) -> uuid.UUID:
        return self.pinned.id

    @property
    def version(self) -> int:
        return self.pinned.number

    @property
    def latest_version(self) -> int:
        return self.file.current_version

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def path(self) -> str:
        return str(ServePath(self.workspace_name, self.username, self.file.name))

    @property
    def branch(self) -> str:
        return self.file.branch

    @property
    def size(self) -> int:
        return self.pinned.size

    @property
    def sha256(self) -> str:
        return self.pinned.sha256

    @property
    def content_type(self) -> str:
        return self.pinned.content_type

    @property
    def trashed(self) -> bool:
        return self.file.deleted_at is not None

    @property
    def attached_at(self) -> datetime:
        return self.link.created_at


async def list_attachments(
    session: AsyncSession,
    *,
    access: Access,
    part_id: uuid.UUID,
    part_version_id: uuid.UUID | None = None,
) -> list[AttachmentRow]:
    """The part's attachments (of one revision when ``part_version_id`` is given), newest
    revision first, then by file name; one query."""
    owner, attacher = aliased(User), aliased(User)
    stmt = (
        select(
            PartVersionFile,
            PartVersion.revision,
            VaultFile,
            FileVersion,
            owner.username,
            attacher.username,
        )
        .join(PartVersion, PartVersion.id == PartVersionFile.part_version_id)
        .join(FileVersion, FileVersion.id == PartVersionFile.file_version_id)
        .join(VaultFile, VaultFile.id == FileVersion.file_id)
        .join(owner, owner.id == VaultFile.owner_id)
        .outerjoin(attacher, attacher.id == PartVersionFile.created_by_id)
        .where(
            PartVersionFile.part_id == part_id,
            PartVersionFile.workspace_id == access.workspace.id,
        )
        .order_by(
            PartVersion.created_at.desc(), PartVersion.id.desc(), VaultFile.name, VaultFile.id
        )
    )
    if part_version_id is not None:
        stmt = stmt.where(PartVersionFile.part_version_id == part_version_id)
    return [
        AttachmentRow(
            link=link,
            revision=revision,
            file=file,
            pinned=version,
            username=owner_name,
            workspace_name=access.workspace.name,
            attached_by=attacher_name,
        )
        for link, revision, file, version, owner_name, attacher_name in (
            await session.execute(stmt)
        ).all()
    ]


# --- writing ------------------------------------------------------------------------------------


def ensure_editable(version: PartVersion) -> None:
    """409 when the revision's attachments may not change: approved (frozen with the release)
    or submitted (until it is decided)."""
    if version.status == ApprovalStatus.approved:
        raise Conflict(
            f"Revision {version.revision} is approved; its files are frozen with it. "
            "Attach files to a new revision.",
            code="REVISION_FROZEN",
        )
    if version.status == ApprovalStatus.submitted:
        raise Conflict(
            f"Revision {version.revision} is submitted for approval; its files can change "
            "once it is approved into a new revision or rejected.",
            code="REVISION_NOT_EDITABLE",
        )


async def editable_version(
    session: AsyncSession, *, access: Access, part: Part, part_version_id: uuid.UUID
) -> PartVersion:
    """The part's revision, row-locked (PostgreSQL) so attach/detach and approval serialise;
    409 when it is frozen (:func:`ensure_editable`)."""
    version = await session.scalar(
        select(PartVersion)
        .where(PartVersion.id == part_version_id, PartVersion.part_id == part.id)
        .with_for_update()
    )
    if version is None:
        raise NotFound(f"Version {part_version_id} not found.", code="VERSION_NOT_FOUND")
    ensure_editable(version)
    return version


async def file_version_to_attach(
    session: AsyncSession,
    *,
    access: Access,
    file_id: uuid.UUID,
    file_version_id: uuid.UUID | None,
) -> tuple[VaultFile, FileVersion]:
    """The workspace's live file and the version to pin (default: its current one); another
    workspace's file, or a trashed one, answers 404 like a missing one."""
    file = await session.scalar(
        select(VaultFile).where(
            VaultFile.id == file_id,
            VaultFile.workspace_id == access.workspace.id,
            VaultFile.deleted_at.is_(None),
        )
    )
    if file is None:
        raise NotFound(f"File {file_id} not found.", code="FILE_NOT_FOUND")
    stmt = select(FileVersion).where(FileVersion.file_id == file.id)
    if file_version_id is None:
        stmt = stmt.where(FileVersion.number == file.current_version)
    else:
        stmt = stmt.where(FileVersion.id == file_version_id)
    version = await session.scalar(stmt)
    if version is None:
        raise NotFound(
            f"Version {file_version_id} is not a version of file {file_id}.",
            code="FILE_VERSION_NOT_FOUND",
        )
    return file, version


def _snapshot(link: PartVersionFile, file: VaultFile, version: FileVersion) -> dict[str, Any]:
    return {
        "partId": str(link.part_id),
        "partVersionId": str(link.part_version_id),
        "fileId": str(file.id),
        "fileName": file.name,
        "versionId": str(version.id),
        "version": version.number,
        "sha256": version.sha256,
    }


def _audit(
    session: AsyncSession,
    access: Access,
    link: PartVersionFile,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="part_version_file",
        entity_id=link.id,
        action=action,
        before=before,
        after=after,
    )


@dataclass(frozen=True)
class AttachOutcome:
    link: PartVersionFile
    created: bool  # False: the version was already attached, or another version was re-pinned


async def attach(
    session: AsyncSession,
    *,
    access: Access,
    part: Part,
    version: PartVersion,
    file: VaultFile,
    file_version: FileVersion,
) -> AttachOutcome:
    """Pin ``file_version`` to the revision (``version`` from :func:`editable_version`).

    Attaching the version already pinned changes nothing (idempotent); attaching another
    version of a file already attached moves the pin (audited with before and after). A file
    with no item yet becomes the part's (the Cascadia face lists it under the item).
    """
    pinned = await session.scalar(
        select(PartVersionFile)
        .join(FileVersion, FileVersion.id == PartVersionFile.file_version_id)
        .where(PartVersionFile.part_version_id == version.id, FileVersion.file_id == file.id)
        .order_by(PartVersionFile.created_at)
        .limit(1)
    )
    if pinned is not None:
        if pinned.file_version_id == file_version.id:
            return AttachOutcome(link=pinned, created=False)
        old = await session.get(FileVersion, pinned.file_version_id)
        before = _snapshot(pinned, file, old) if old is not None else None
        pinned.file_version_id = file_version.id
        pinned.created_by_id = access.user.id
        _audit(session, access, pinned, "update", before, _snapshot(pinned, file, file_version))
        return AttachOutcome(link=pinned, created=False)
    link = PartVersionFile(
        workspace_id=access.workspace.id,
        part_id=part.id,
        part_version_id=version.id,
        file_version_id=file_version.id,
        created_by_id=access.user.id,
    )
    try:
        async with session.begin_nested():  # a concurrent attach of the same version may win
            session.add(link)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(
            select(PartVersionFile).where(
                PartVersionFile.part_version_id == version.id,
                PartVersionFile.file_version_id == file_version.id,
            )
        )
        if existing is None:
            raise
        return AttachOutcome(link=existing, created=False)
    if file.item_id is None:
        file.item_id = part.id
    _audit(session, access, link, "create", None, _snapshot(link, file, file_version))
    return AttachOutcome(link=link, created=True)


async def detach(
    session: AsyncSession, *, access: Access, version: PartVersion, attachment_id: uuid.UUID
) -> None:
    """Unpin one attachment from the revision (``version`` from :func:`editable_version`)."""
    row = (
        await session.execute(
            select(PartVersionFile, VaultFile, FileVersion)
            .join(FileVersion, FileVersion.id == PartVersionFile.file_version_id)
            .join(VaultFile, VaultFile.id == FileVersion.file_id)
            .where(
                PartVersionFile.id == attachment_id,
                PartVersionFile.part_version_id == version.id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"Attachment {attachment_id} not found on revision {version.revision}.",
            code="ATTACHMENT_NOT_FOUND",
        )
    link, file, file_version = row
    before = _snapshot(link, file, file_version)
    await session.delete(link)
    _audit(session, access, link, "delete", before, None)
