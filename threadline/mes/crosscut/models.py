"""ORM models of the MES crosscut room: comments, labels and their relationships, and custom
field definitions (mes-api-reference.txt ``/comment/``, ``/label/``, ``/label-relationship/``,
``/custom_field/``). Events have no table: ``/event/`` reads the one audit log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.face import PREFIX
from threadline.mes.models import BureauOwned


class Comment(BureauOwned, Base):
    """A markdown comment on a row of another table, named by table name and uuid (the
    reference's ``related_table_name`` + ``related_uuid``, not a foreign key: the table varies)."""

    __tablename__ = "mes_comments"
    __table_args__ = (Index("ix_mes_comments_related", "related_table_name", "related_uuid"),)

    related_table_name: Mapped[str] = mapped_column(String(64))
    related_uuid: Mapped[uuid.UUID]
    text: Mapped[str] = mapped_column(Text)
    # The author; kept when the account goes so the thread still reads (author shown as null).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Relative URIs of the mentioned users (``/mes/users/{uuid}/``), in the order given.
    mentioned_users: Mapped[list[Any] | None] = mapped_column()
    comment_action: Mapped[dict[str, Any] | None] = mapped_column()


class Label(BureauOwned, Base):
    """A short coloured tag of the bureau; ``editable`` false locks it against every change."""

    __tablename__ = "mes_labels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(20))
    color: Mapped[str] = mapped_column(String(7))
    description: Mapped[str] = mapped_column(Text, default="")
    editable: Mapped[bool] = mapped_column(default=True, server_default=true())


class LabelRelationship(BureauOwned, Base):
    """A label applied to one MES resource of the same bureau (any kind: ``target_kind``)."""

    __tablename__ = "mes_label_relationships"
    __table_args__ = (
        UniqueConstraint("label_id", "target_id"),
        Index("ix_mes_label_relationships_target", "target_kind", "target_id"),
    )

    label_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_labels.id", ondelete="CASCADE"), index=True
    )
    target_kind: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[uuid.UUID]

    @property
    def target_uri(self) -> str:
        """The target as the audit log keeps URIs: relative (the base URL is the reader's)."""
        return f"{PREFIX}/{self.target_kind}/{self.target_id}/"


class CustomField(BureauOwned, Base):
    """The definition of a custom field a bureau's manager adds to one table (the values live
    inline in that table's ``custom_field_values``, checked against these definitions)."""

    __tablename__ = "mes_custom_fields"
    __table_args__ = (UniqueConstraint("workspace_id", "related_table_name", "field_id"),)

    field_id: Mapped[str] = mapped_column(String(255))
    field_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    related_table_name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    format: Mapped[str | None] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    is_smart: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_visible_for_restricted: Mapped[bool] = mapped_column(default=True, server_default=true())
    options: Mapped[list[Any] | None] = mapped_column()
    default_value: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int | None]
    meta: Mapped[dict[str, Any] | None] = mapped_column()
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
