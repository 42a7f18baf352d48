"""MES cross-cutting: comments, labels, label relationships, custom fields (mes/crosscut)

Revision ID: 85226ccdbbd5
Revises: 7337983c2dc1
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "85226ccdbbd5"
down_revision: str | None = "7337983c2dc1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_comments",
        sa.Column("related_table_name", sa.String(length=64), nullable=False),
        sa.Column("related_uuid", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "mentioned_users",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "comment_action",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_comments_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_comments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_comments")),
    )
    with op.batch_alter_table("mes_comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_comments_related", ["related_table_name", "related_uuid"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_comments_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_comments_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_custom_fields",
        sa.Column("field_id", sa.String(length=255), nullable=False),
        sa.Column("field_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("related_table_name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=True),
        sa.Column("required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_smart", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "is_visible_for_restricted", sa.Boolean(), server_default=sa.true(), nullable=False
        ),
        sa.Column(
            "options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("default_value", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("meta", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("edited_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["edited_by_id"],
            ["users.id"],
            name=op.f("fk_mes_custom_fields_edited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_custom_fields_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_custom_fields")),
        sa.UniqueConstraint(
            "workspace_id",
            "related_table_name",
            "field_id",
            name=op.f("uq_mes_custom_fields_workspace_id_related_table_name_field_id"),
        ),
    )
    with op.batch_alter_table("mes_custom_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_custom_fields_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_labels",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("editable", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_labels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_labels")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_mes_labels_workspace_id_name")),
    )
    with op.batch_alter_table("mes_labels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_labels_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_label_relationships",
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("target_kind", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["mes_labels.id"],
            name=op.f("fk_mes_label_relationships_label_id_mes_labels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_label_relationships_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_label_relationships")),
        sa.UniqueConstraint(
            "label_id", "target_id", name=op.f("uq_mes_label_relationships_label_id_target_id")
        ),
    )
    with op.batch_alter_table("mes_label_relationships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_label_relationships_label_id"), ["label_id"], unique=False
        )
        batch_op.create_index(
            "ix_mes_label_relationships_target", ["target_kind", "target_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_label_relationships_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_label_relationships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_label_relationships_workspace_id"))
        batch_op.drop_index("ix_mes_label_relationships_target")
        batch_op.drop_index(batch_op.f("ix_mes_label_relationships_label_id"))

    op.drop_table("mes_label_relationships")
    with op.batch_alter_table("mes_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_labels_workspace_id"))

    op.drop_table("mes_labels")
    with op.batch_alter_table("mes_custom_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_custom_fields_workspace_id"))

    op.drop_table("mes_custom_fields")
    with op.batch_alter_table("mes_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_comments_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_comments_user_id"))
        batch_op.drop_index("ix_mes_comments_related")

    op.drop_table("mes_comments")
