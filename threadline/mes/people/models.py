"""ORM models of the MES people room: a member's MES roles, their standing in each bureau, and
the bureau's MES settings (mes-api-reference.txt ``/role/``, ``/users/``, ``/bureau/``).

The account (``users``), the bureau (``workspaces``) and the membership (``memberships``) are
Threadline's own tables; these hold only what the MES face adds to them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class MesRole(BureauOwned, Base):
    """One MES role of a user in a bureau; a user may hold several (``/role/``).

    ``rank`` orders the roles (manager highest) so "highest role is used" and
    ``filter[highest_only]`` are one comparison in SQL. ``location_id`` names a
    ``mes_locations`` row; that table comes later in the migration chain, so the reference is
    checked by the face (same bureau) rather than by a foreign key.
    """

    __tablename__ = "mes_roles"
    __table_args__ = (
        Index("ix_mes_roles_workspace_user", "workspace_id", "user_id"),
        # A role without a location is held once per user and bureau.
        Index(
            "uq_mes_roles_unlocated",
            "workspace_id",
            "user_id",
            "role",
            unique=True,
            sqlite_where=text("location_id IS NULL"),
            postgresql_where=text("location_id IS NULL"),
        ),
        UniqueConstraint("workspace_id", "user_id", "role", "location_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(SmallInteger)
    location_id: Mapped[uuid.UUID | None]
    hide_info: Mapped[str | None] = mapped_column(String(32))


class MesBureauUser(BureauOwned, Base):
    """What a bureau keeps about one of its users (``/users/``): archived or blocked users lose
    the bureau on the MES face; address, company and the rest are the bureau's own record."""

    __tablename__ = "mes_bureau_users"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())
    blocked_until: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(255))
    emails: Mapped[list[Any] | None] = mapped_column()
    tos: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_self_registered: Mapped[bool] = mapped_column(default=False, server_default=false())
    context: Mapped[dict[str, Any] | None] = mapped_column()


class MesBureauSettings(BureauOwned, Base):
    """The bureau's reference fields that a workspace does not have (``/bureau/``); ``name`` is
    the display name (the workspace's own name is a URL slug)."""

    __tablename__ = "mes_bureau_settings"
    __table_args__ = (UniqueConstraint("workspace_id"),)

    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    notifications: Mapped[dict[str, Any] | None] = mapped_column()
    order_banner: Mapped[dict[str, Any] | None] = mapped_column()
    reply_to: Mapped[str | None] = mapped_column(String(320))
