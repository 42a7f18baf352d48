"""ORM models of the MES shop room: where the shop is and what it runs (mes-api-reference.txt
``/location/``, ``/sub-location/``, ``/manufacturer/``, and the machines)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class Location(BureauOwned, Base):
    """An office of the bureau that keeps stock, processes orders or ships goods."""

    __tablename__ = "mes_locations"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    phone: Mapped[str | None] = mapped_column(String(64))
    countries_served: Mapped[list[Any] | None] = mapped_column()
    admin_group: Mapped[str | None] = mapped_column(String(2000))
    standard_group: Mapped[str | None] = mapped_column(String(2000))
    order_completion_note: Mapped[str] = mapped_column(Text, default="")


class SubLocation(BureauOwned, Base):
    """A sub-division of a location; every location has exactly one default sub-location."""

    __tablename__ = "mes_sub_locations"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        # "There must be one default sub-location for every location": at most one, by index.
        Index(
            "uq_mes_sub_locations_default",
            "location_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived: Mapped[datetime | None]


class Manufacturer(BureauOwned, Base):
    """An organisation that makes printers or materials; templates are shared starting points."""

    __tablename__ = "mes_manufacturers"

    name: Mapped[str] = mapped_column(String(255), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[dict[str, Any] | None]
    support: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)
    is_template: Mapped[bool] = mapped_column(default=False, server_default=false())
    base_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_manufacturers.id", ondelete="SET NULL")
    )
    custom_field_values: Mapped[list[Any] | None] = mapped_column()
