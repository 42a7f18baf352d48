"""MES process: process steps and workflows (mes/process)

Revision ID: ead1e1831690
Revises: da057020e3ff
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ead1e1831690"
down_revision: str | None = "da057020e3ff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_workflows",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "type",
            sa.Enum(
                "additive_manufacturing",
                "specimen",
                "powder_manufacturing",
                name="mes_workflow_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("integrated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("line_item_id", sa.Uuid(), nullable=True),
        sa.Column("source_workflow_id", sa.Uuid(), nullable=True),
        sa.Column(
            "specimens", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_workflow_id"],
            ["mes_workflows.id"],
            name=op.f("fk_mes_workflows_source_workflow_id_mes_workflows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_mes_workflows_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_workflows_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_workflows")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_mes_workflows_workspace_id_name")
        ),
    )

    with op.batch_alter_table("mes_workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_workflows_line_item_id"), ["line_item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_workflows_source_workflow_id"), ["source_workflow_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_workflows_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_workflow_labels",
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["mes_workflows.id"],
            name=op.f("fk_mes_workflow_labels_workflow_id_mes_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "label_id", name=op.f("pk_mes_workflow_labels")),
    )

    with op.batch_alter_table("mes_workflow_labels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_workflow_labels_label_id"), ["label_id"], unique=False
        )

    op.create_table(
        "mes_workflow_materials",
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_workflow_materials_material_id_mes_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["mes_workflows.id"],
            name=op.f("fk_mes_workflow_materials_workflow_id_mes_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workflow_id", "material_id", name=op.f("pk_mes_workflow_materials")
        ),
    )

    with op.batch_alter_table("mes_workflow_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_workflow_materials_material_id"), ["material_id"], unique=False
        )

    op.create_table(
        "mes_process_steps",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("printer_type_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=True),
        sa.Column("shipping_id", sa.Uuid(), nullable=True),
        sa.Column("printer_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_id", sa.Uuid(), nullable=True),
        sa.Column(
            "notes",
            sa.Enum(
                "optional",
                "required",
                "hidden",
                name="mes_process_step_notes",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "success",
            sa.Enum(
                "optional",
                "required",
                "hidden",
                name="mes_process_step_success",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "upload",
            sa.Enum(
                "optional",
                "required",
                "hidden",
                name="mes_process_step_upload",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "tracking_id",
            sa.Enum(
                "optional",
                "required",
                "hidden",
                name="mes_process_step_tracking_id",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("is_service", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "shipping_direction",
            sa.Enum(
                "bureau_to_customer",
                "bureau_to_service_provider",
                "service_provider_to_bureau",
                name="mes_process_step_shipping_direction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("source_process_step_id", sa.Uuid(), nullable=True),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column(
            "additive", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN printer_type_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN post_processor_type_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN shipping_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_mes_process_steps_one_workstation_type"),
        ),
        sa.CheckConstraint(
            "post_processor_id IS NULL OR post_processor_type_id IS NOT NULL",
            name=op.f("ck_mes_process_steps_post_processor_on_post_processor_step"),
        ),
        sa.CheckConstraint(
            "printer_id IS NULL OR printer_type_id IS NOT NULL",
            name=op.f("ck_mes_process_steps_printer_on_printer_step"),
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_id"],
            ["mes_post_processors.id"],
            name=op.f("fk_mes_process_steps_post_processor_id_mes_post_processors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f("fk_mes_process_steps_post_processor_type_id_mes_post_processor_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["mes_printers.id"],
            name=op.f("fk_mes_process_steps_printer_id_mes_printers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_process_steps_printer_type_id_mes_printer_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shipping_id"],
            ["mes_shippings.id"],
            name=op.f("fk_mes_process_steps_shipping_id_mes_shippings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_process_step_id"],
            ["mes_process_steps.id"],
            name=op.f("fk_mes_process_steps_source_process_step_id_mes_process_steps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_process_steps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_process_steps")),
    )

    with op.batch_alter_table("mes_process_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_process_steps_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_post_processor_id"),
            ["post_processor_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_post_processor_type_id"),
            ["post_processor_type_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_printer_id"), ["printer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_printer_type_id"), ["printer_type_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_shipping_id"), ["shipping_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_process_steps_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_workflow_process_steps",
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("process_step_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_step_id"],
            ["mes_process_steps.id"],
            name=op.f("fk_mes_workflow_process_steps_process_step_id_mes_process_steps"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["mes_workflows.id"],
            name=op.f("fk_mes_workflow_process_steps_workflow_id_mes_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workflow_id", "position", name=op.f("pk_mes_workflow_process_steps")
        ),
    )

    with op.batch_alter_table("mes_workflow_process_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_workflow_process_steps_process_step_id"),
            ["process_step_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("mes_workflow_process_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_workflow_process_steps_process_step_id"))
    op.drop_table("mes_workflow_process_steps")

    with op.batch_alter_table("mes_process_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_shipping_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_printer_type_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_printer_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_post_processor_type_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_post_processor_id"))
        batch_op.drop_index(batch_op.f("ix_mes_process_steps_name"))
    op.drop_table("mes_process_steps")

    with op.batch_alter_table("mes_workflow_materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_workflow_materials_material_id"))
    op.drop_table("mes_workflow_materials")

    with op.batch_alter_table("mes_workflow_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_workflow_labels_label_id"))
    op.drop_table("mes_workflow_labels")

    with op.batch_alter_table("mes_workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_workflows_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_workflows_source_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_mes_workflows_line_item_id"))
    op.drop_table("mes_workflows")
