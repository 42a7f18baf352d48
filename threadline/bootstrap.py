"""First start: the owner account and the demo workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service as auth
from threadline.auth.models import Role, User, Workspace
from threadline.auth.security import Passwords
from threadline.auth.service import Access
from threadline.boms import importer as bom_importer
from threadline.boms import service as boms
from threadline.boms.models import BomType
from threadline.boms.schemas import BomCreate
from threadline.catalog import service as catalog
from threadline.catalog.models import Domain
from threadline.catalog.schemas import PartCreate
from threadline.config import Settings

DEMO_WORKSPACE = "demo"
DEMO_DATA = Path(__file__).parent / "demo"


@dataclass(frozen=True)
class OwnerCreated:
    user: User
    generated_password: str | None  # set only when we made one up and must show it once


async def ensure_owner(
    session: AsyncSession, *, settings: Settings, passwords: Passwords
) -> OwnerCreated | None:
    """On an empty database, create the server owner; otherwise do nothing."""
    if await auth.count_users(session):
        return None
    generated = None if settings.admin_password else secrets.token_urlsafe(12)
    password = settings.admin_password or generated
    assert password is not None
    user = await auth.create_user(
        session,
        email=settings.admin_email,
        password_hash=await passwords.hash(password),
        name="Administrator",
        is_admin=True,
    )
    return OwnerCreated(user=user, generated_password=generated)


async def seed_demo(session: AsyncSession, *, owner: User) -> Workspace | None:
    """Create the ``demo`` workspace owned by ``owner`` unless it exists; returns it if created.

    It holds a real product: the bitaxe Ultra (open hardware), its EBOM imported from the
    project's own KiCad BOM export (threadline/demo/NOTICE.md names the two cells that differ
    from the published file, so that it imports without a warning).
    """
    if await session.scalar(select(Workspace.id).where(Workspace.name == DEMO_WORKSPACE)):
        return None
    workspace = await auth.create_workspace(session, user=owner, name=DEMO_WORKSPACE)
    access = Access(user=owner, workspace=workspace, role=Role.owner)
    assembly = await catalog.create_part(
        session,
        access=access,
        part_in=PartCreate(
            workspace=DEMO_WORKSPACE,
            part_number="BITAXE-ULTRA",
            name="bitaxe Ultra Bitcoin miner",
            domain=Domain.electronic,
            description="Open-source ASIC miner board (skot/bitaxe).",
        ),
    )
    bom = await boms.create_bom(
        session,
        access=access,
        bom_in=BomCreate(
            workspace=DEMO_WORKSPACE,
            assembly_part_id=assembly.id,
            type=BomType.ebom,
            revision="A",
            change_note="Imported from the project's KiCad BOM export",
        ),
    )
    data = (DEMO_DATA / "bitaxe-ultra-bom.csv").read_bytes()
    await bom_importer.import_bom(
        session, access=access, bom=bom, data=data, dry_run=False, replace=True
    )
    return workspace


async def first_admin(session: AsyncSession) -> User | None:
    """The oldest administrator, who owns what the server seeds."""
    return await session.scalar(
        select(User).where(User.is_admin.is_(True)).order_by(User.created_at).limit(1)
    )
