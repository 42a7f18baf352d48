"""MES floor (runs, actuals, time entries, shipments, create-runs and run-transformation jobs)

Revision ID: e2a2b3c4d5f2
Revises: e1a2b3c4d5f1
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e2a2b3c4d5f2"
down_revision: str | None = "e1a2b3c4d5f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_time_entries",
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("related_table_name", sa.String(length=32), nullable=False),
        sa.Column("related_uuid", sa.Uuid(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("completed_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["users.id"],
            name=op.f("fk_mes_time_entries_completed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_mes_time_entries_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_time_entries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_time_entries")),
    )
    with op.batch_alter_table("mes_time_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_time_entries_related", ["related_table_name", "related_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_time_entries_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_runs",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column(
            "operation",
            sa.Enum(
                "printing",
                "post-processing",
                "shipping",
                name="mes_run_operation",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "calculating",
                "calculated",
                "queued",
                "queued-work-ready",
                "in-progress",
                "paused",
                "error",
                "complete",
                "cancelled",
                name="mes_run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("printer_id", sa.Uuid(), nullable=True),
        sa.Column("printer_type_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=True),
        sa.Column("shipping_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("batch_type", sa.String(length=32), nullable=False),
        sa.Column("pieces_locked", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "filled_by_batch_type_prints", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "custom_field_values",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("queue_position", sa.Integer(), nullable=True),
        sa.Column("estimated_duration", sa.Integer(), nullable=True),
        sa.Column("estimated_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimated_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_by_id", sa.Uuid(), nullable=True),
        sa.Column("schedule_edited_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_runs_location_id_mes_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_id"],
            ["mes_post_processors.id"],
            name=op.f("fk_mes_runs_post_processor_id_mes_post_processors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f("fk_mes_runs_post_processor_type_id_mes_post_processor_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["mes_printers.id"],
            name=op.f("fk_mes_runs_printer_id_mes_printers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_runs_printer_type_id_mes_printer_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_edited_by_id"],
            ["users.id"],
            name=op.f("fk_mes_runs_schedule_edited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shipping_id"],
            ["mes_shippings.id"],
            name=op.f("fk_mes_runs_shipping_id_mes_shippings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_runs")),
    )
    with op.batch_alter_table("mes_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_runs_planned_by_id"), ["planned_by_id"], unique=False
        )
        batch_op.create_index(
            "ix_mes_runs_post_processor", ["post_processor_id", "queue_position"], unique=False
        )
        batch_op.create_index("ix_mes_runs_printer", ["printer_id", "queue_position"], unique=False)
        batch_op.create_index(
            "ix_mes_runs_shipping", ["shipping_id", "queue_position"], unique=False
        )
        batch_op.create_index("ix_mes_runs_status", ["workspace_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_runs_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_create_runs",
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "complete",
                "error",
                name="mes_create_runs_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "pieces",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("primary_workstation_kind", sa.String(length=32), nullable=False),
        sa.Column("primary_workstation_id", sa.Uuid(), nullable=False),
        sa.Column("run_name", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("do_build_volume_check", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("locked", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("on_packing_process_failure", sa.String(length=32), nullable=False),
        sa.Column("on_packing_process_success", sa.String(length=32), nullable=False),
        sa.Column("primary_run_duration", sa.Integer(), nullable=True),
        sa.Column("base_material_used", sa.Double(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("primary_run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "resulting_runs",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "unfitted_pieces",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["primary_run_id"],
            ["mes_runs.id"],
            name=op.f("fk_mes_create_runs_primary_run_id_mes_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_create_runs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_create_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_create_runs")),
    )
    with op.batch_alter_table("mes_create_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_create_runs_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_run_actuals",
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column("start_in_progress_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_in_progress_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumable_cost", sa.Double(), nullable=True),
        sa.Column("machine_cost", sa.Double(), nullable=True),
        sa.Column("workstation_cost", sa.Double(), nullable=True),
        sa.Column("total_cost", sa.Double(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("edited_by_id", sa.Uuid(), nullable=True),
        sa.Column("system_notes", sa.Text(), nullable=True),
        sa.Column(
            "powder",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["edited_by_id"],
            ["users.id"],
            name=op.f("fk_mes_run_actuals_edited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["mes_run_actuals.id"],
            name=op.f("fk_mes_run_actuals_previous_id_mes_run_actuals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mes_runs.id"],
            name=op.f("fk_mes_run_actuals_run_id_mes_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_run_actuals_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_run_actuals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_run_actuals")),
    )
    with op.batch_alter_table("mes_run_actuals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_run_actuals_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_run_actuals_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_run_transformations",
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "complete",
                "error",
                name="mes_run_transformation_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "prints",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "process_steps",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("split_piece_schedules", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "destination_runs",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("custom_workflow_id", sa.Uuid(), nullable=True),
        sa.Column(
            "line_items",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custom_workflow_id"],
            ["mes_workflows.id"],
            name=op.f("fk_mes_run_transformations_custom_workflow_id_mes_workflows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["mes_runs.id"],
            name=op.f("fk_mes_run_transformations_source_run_id_mes_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_run_transformations_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_run_transformations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_run_transformations")),
    )
    with op.batch_alter_table("mes_run_transformations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_run_transformations_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_shipments",
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "queued",
                "in_transit",
                "received",
                "error",
                "cancelled",
                name="mes_shipment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("shipping_partner", sa.String(length=255), nullable=True),
        sa.Column("tracking_number", sa.String(length=255), nullable=True),
        sa.Column("shipper_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "origin_address",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "recipient_address",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "billing_address",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("estimated_shipment_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimated_delivery_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_shipment_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_delivery_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_cost", sa.Double(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_shipments_order_id_mes_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mes_runs.id"],
            name=op.f("fk_mes_shipments_run_id_mes_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_shipments_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_shipments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_shipments")),
    )
    with op.batch_alter_table("mes_shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_shipments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mes_shipments_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_shipments_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_run_actuals_additive",
        sa.Column("run_actual_id", sa.Uuid(), nullable=False),
        sa.Column("material_batch_id", sa.Uuid(), nullable=True),
        sa.Column("base_material_used", sa.Double(), nullable=True),
        sa.Column("support_material_used", sa.Double(), nullable=True),
        sa.Column("consumption_action_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_actual_id"],
            ["mes_run_actuals.id"],
            name=op.f("fk_mes_run_actuals_additive_run_actual_id_mes_run_actuals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_run_actuals_additive_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_run_actuals_additive")),
    )
    with op.batch_alter_table("mes_run_actuals_additive", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_run_actuals_additive_material_batch_id"),
            ["material_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_run_actuals_additive_run_actual_id"), ["run_actual_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_run_actuals_additive_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_piece_actuals",
        sa.Column("piece_id", sa.Uuid(), nullable=False),
        sa.Column("start_in_progress_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_in_progress_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "per_step_details",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("total_cost", sa.Double(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["piece_id"],
            ["mes_pieces.id"],
            name=op.f("fk_mes_piece_actuals_piece_id_mes_pieces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_piece_actuals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_piece_actuals")),
        sa.UniqueConstraint("piece_id", name=op.f("uq_mes_piece_actuals_piece_id")),
    )
    with op.batch_alter_table("mes_piece_actuals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_piece_actuals_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_prints_run_id_mes_runs"),
            "mes_runs",
            ["run_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_mes_prints_run_id_mes_runs"), type_="foreignkey")

    with op.batch_alter_table("mes_piece_actuals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_piece_actuals_workspace_id"))

    op.drop_table("mes_piece_actuals")
    with op.batch_alter_table("mes_run_actuals_additive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_run_actuals_additive_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_run_actuals_additive_run_actual_id"))
        batch_op.drop_index(batch_op.f("ix_mes_run_actuals_additive_material_batch_id"))

    op.drop_table("mes_run_actuals_additive")
    with op.batch_alter_table("mes_shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_shipments_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_shipments_run_id"))
        batch_op.drop_index(batch_op.f("ix_mes_shipments_order_id"))

    op.drop_table("mes_shipments")
    with op.batch_alter_table("mes_run_transformations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_run_transformations_workspace_id"))

    op.drop_table("mes_run_transformations")
    with op.batch_alter_table("mes_run_actuals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_run_actuals_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_run_actuals_run_id"))

    op.drop_table("mes_run_actuals")
    with op.batch_alter_table("mes_create_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_create_runs_workspace_id"))

    op.drop_table("mes_create_runs")
    with op.batch_alter_table("mes_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_runs_workspace_id"))
        batch_op.drop_index("ix_mes_runs_status")
        batch_op.drop_index("ix_mes_runs_shipping")
        batch_op.drop_index("ix_mes_runs_printer")
        batch_op.drop_index("ix_mes_runs_post_processor")
        batch_op.drop_index(batch_op.f("ix_mes_runs_planned_by_id"))

    op.drop_table("mes_runs")
    with op.batch_alter_table("mes_time_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_time_entries_workspace_id"))
        batch_op.drop_index("ix_mes_time_entries_related")

    op.drop_table("mes_time_entries")
