"""MES shop sites: locations, sub-locations, manufacturers (mes/shop)

Revision ID: a17847d76520
Revises: e67596f4aab5
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a17847d76520"
down_revision: str | None = "e67596f4aab5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_locations",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column(
            "countries_served",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("admin_group", sa.String(length=2000), nullable=True),
        sa.Column("standard_group", sa.String(length=2000), nullable=True),
        sa.Column("order_completion_note", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["users.id"],
            name=op.f("fk_mes_locations_contact_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_locations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_locations")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_mes_locations_workspace_id_name")
        ),
    )
    with op.batch_alter_table("mes_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_locations_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_manufacturers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "contact", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "support", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_template", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("base_template_id", sa.Uuid(), nullable=True),
        sa.Column(
            "custom_field_values",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_template_id"],
            ["mes_manufacturers.id"],
            name=op.f("fk_mes_manufacturers_base_template_id_mes_manufacturers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_manufacturers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_manufacturers")),
    )
    with op.batch_alter_table("mes_manufacturers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_manufacturers_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_manufacturers_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_sub_locations",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("archived", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_sub_locations_location_id_mes_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_sub_locations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_sub_locations")),
        sa.UniqueConstraint(
            "location_id", "name", name=op.f("uq_mes_sub_locations_location_id_name")
        ),
    )
    with op.batch_alter_table("mes_sub_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_sub_locations_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_sub_locations_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "uq_mes_sub_locations_default",
            ["location_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_sub_locations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mes_sub_locations_default",
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )
        batch_op.drop_index(batch_op.f("ix_mes_sub_locations_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_sub_locations_location_id"))

    op.drop_table("mes_sub_locations")
    with op.batch_alter_table("mes_manufacturers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_manufacturers_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_manufacturers_name"))

    op.drop_table("mes_manufacturers")
    with op.batch_alter_table("mes_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_locations_workspace_id"))

    op.drop_table("mes_locations")
