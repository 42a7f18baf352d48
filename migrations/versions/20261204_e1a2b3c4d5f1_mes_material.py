"""MES material traceability (lots, containers, batches, batch actions and their linking edges)

Revision ID: e1a2b3c4d5f1
Revises: df5a93080286
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e1a2b3c4d5f1"
down_revision: str | None = "df5a93080286"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "mes_material_lots",
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("delivery_id", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "on_order",
                "received",
                "in_testing",
                "available",
                "in_use",
                "done",
                "scrapped",
                "return_to_supplier",
                "in_storage",
                name="mes_material_lot_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("number_of_containers", sa.Integer(), nullable=False),
        sa.Column("size_of_container", sa.Double(), nullable=False),
        sa.Column("full_quantity", sa.Double(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("units", sa.String(length=16), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("sub_location_id", sa.Uuid(), nullable=True),
        sa.Column("expiration_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimated_delivery_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_delivery_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_cycles_limit", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_material_lots_location_id_mes_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_material_lots_material_id_mes_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sub_location_id"],
            ["mes_sub_locations.id"],
            name=op.f("fk_mes_material_lots_sub_location_id_mes_sub_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_material_lots_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_material_lots")),
    )
    with op.batch_alter_table("mes_material_lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_material_lots_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_lots_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_material_batches",
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("material_lot_id", sa.Uuid(), nullable=True),
        sa.Column(
            "material_lot_ids",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("initial_batch_id", sa.Uuid(), nullable=True),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("reserved_quantity", sa.Double(), nullable=False),
        sa.Column("full_quantity", sa.Double(), nullable=False),
        sa.Column("units", sa.String(length=16), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "in_use",
                "idle",
                "done",
                name="mes_material_batch_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "powder_quality",
            sa.Enum(
                "new",
                "sieved",
                "unsieved",
                "unknown",
                "done",
                name="mes_material_batch_powder_quality",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("usage_cycles", sa.Integer(), nullable=False),
        sa.Column("at_machine_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("sub_location_id", sa.Uuid(), nullable=True),
        sa.Column("material_in_containers", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("custom_status", sa.String(length=255), nullable=True),
        sa.Column("external_build_id", sa.String(length=255), nullable=True),
        sa.Column("last_action_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["initial_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_batches_initial_batch_id_mes_material_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_material_batches_location_id_mes_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_material_batches_material_id_mes_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["material_lot_id"],
            ["mes_material_lots.id"],
            name=op.f("fk_mes_material_batches_material_lot_id_mes_material_lots"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sub_location_id"],
            ["mes_sub_locations.id"],
            name=op.f("fk_mes_material_batches_sub_location_id_mes_sub_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_material_batches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_material_batches")),
    )
    with op.batch_alter_table("mes_material_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_material_batches_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batches_material_lot_id"), ["material_lot_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batches_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_material_batch_actions",
        sa.Column("action_type", sa.String(length=32), nullable=False),
        sa.Column("source_batch_id", sa.Uuid(), nullable=True),
        sa.Column("destination_batch_id", sa.Uuid(), nullable=True),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("previous_action_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_batch_actions_destination_batch_id_mes_material_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_batch_actions_source_batch_id_mes_material_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_material_batch_actions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_material_batch_actions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_material_batch_actions")),
    )
    with op.batch_alter_table("mes_material_batch_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_actions_source_batch_id"),
            ["source_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_actions_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_material_containers",
        sa.Column("material_lot_id", sa.Uuid(), nullable=True),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("current_batch_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("disposable", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "in_use",
                "empty",
                name="mes_material_container_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("full_quantity", sa.Double(), nullable=False),
        sa.Column("tare_weight", sa.Double(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("sub_location_id", sa.Uuid(), nullable=True),
        sa.Column("is_docked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_containers_current_batch_id_mes_material_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_material_containers_location_id_mes_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_material_containers_material_id_mes_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["material_lot_id"],
            ["mes_material_lots.id"],
            name=op.f("fk_mes_material_containers_material_lot_id_mes_material_lots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sub_location_id"],
            ["mes_sub_locations.id"],
            name=op.f("fk_mes_material_containers_sub_location_id_mes_sub_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_material_containers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_material_containers")),
    )
    with op.batch_alter_table("mes_material_containers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_material_containers_current_batch_id"),
            ["current_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_containers_material_lot_id"),
            ["material_lot_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_containers_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_material_batch_linkings",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("source_batch_id", sa.Uuid(), nullable=False),
        sa.Column("destination_batch_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column(
            "containers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["mes_material_batch_actions.id"],
            name=op.f("fk_mes_material_batch_linkings_action_id_mes_material_batch_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["destination_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_batch_linkings_destination_batch_id_mes_material_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_material_batch_linkings_source_batch_id_mes_material_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_material_batch_linkings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_material_batch_linkings")),
    )
    with op.batch_alter_table("mes_material_batch_linkings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_linkings_action_id"), ["action_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_linkings_destination_batch_id"),
            ["destination_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_linkings_source_batch_id"),
            ["source_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_material_batch_linkings_workspace_id"),
            ["workspace_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("mes_material_batch_linkings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_linkings_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_linkings_source_batch_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_linkings_destination_batch_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_linkings_action_id"))

    op.drop_table("mes_material_batch_linkings")

    with op.batch_alter_table("mes_material_containers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_material_containers_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_containers_material_lot_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_containers_current_batch_id"))

    op.drop_table("mes_material_containers")
    with op.batch_alter_table("mes_material_batch_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_actions_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batch_actions_source_batch_id"))

    op.drop_table("mes_material_batch_actions")

    with op.batch_alter_table("mes_material_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_material_batches_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batches_material_lot_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_batches_material_id"))

    op.drop_table("mes_material_batches")
    with op.batch_alter_table("mes_material_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_material_lots_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_material_lots_material_id"))

    op.drop_table("mes_material_lots")
