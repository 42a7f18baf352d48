"""MES people: roles of users in bureaus, bureaus' users and settings (mes/people)

Revision ID: e67596f4aab5
Revises: 5d3fdeb24c2b
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e67596f4aab5"
down_revision: str | None = "5d3fdeb24c2b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_bureau_settings",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "notifications", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "order_banner", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_bureau_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_bureau_settings")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_mes_bureau_settings_workspace_id")),
    )
    with op.batch_alter_table("mes_bureau_settings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_bureau_settings_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "mes_bureau_users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column(
            "emails", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("tos", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_self_registered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "context", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_bureau_users_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_bureau_users_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_bureau_users")),
        sa.UniqueConstraint(
            "workspace_id", "user_id", name=op.f("uq_mes_bureau_users_workspace_id_user_id")
        ),
    )
    with op.batch_alter_table("mes_bureau_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_bureau_users_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "mes_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("hide_info", sa.String(length=32), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mes_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_roles_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_roles")),
        sa.UniqueConstraint(
            "workspace_id",
            "user_id",
            "role",
            "location_id",
            name=op.f("uq_mes_roles_workspace_id_user_id_role_location_id"),
        ),
    )
    with op.batch_alter_table("mes_roles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_roles_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "ix_mes_roles_workspace_user", ["workspace_id", "user_id"], unique=False
        )
        batch_op.create_index(
            "uq_mes_roles_unlocated",
            ["workspace_id", "user_id", "role"],
            unique=True,
            sqlite_where=sa.text("location_id IS NULL"),
            postgresql_where=sa.text("location_id IS NULL"),
        )


def downgrade() -> None:
    op.drop_table("mes_roles")
    op.drop_table("mes_bureau_users")
    op.drop_table("mes_bureau_settings")
