"""First start: the owner account and the demo workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service as auth
from threadline.auth.models import User, Workspace
from threadline.auth.security import Passwords
from threadline.config import Settings

DEMO_WORKSPACE = "demo"


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
    """Create the ``demo`` workspace owned by ``owner`` unless it exists; returns it if created."""
    if await session.scalar(select(Workspace.id).where(Workspace.name == DEMO_WORKSPACE)):
        return None
    return await auth.create_workspace(session, user=owner, name=DEMO_WORKSPACE)


async def first_admin(session: AsyncSession) -> User | None:
    """The oldest administrator, who owns what the server seeds."""
    return await session.scalar(
        select(User).where(User.is_admin.is_(True)).order_by(User.created_at).limit(1)
    )
