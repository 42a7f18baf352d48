"""MES shop machines: materials, printer/post-processor types and machines, shipping,
downtime, work schedules, labor (mes/shop)

Revision ID: 5c7a528cbe5d
Revises: a17847d76520
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c7a528cbe5d"
down_revision: str | None = "a17847d76520"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_shippings",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("batching_strategy", sa.String(length=32), nullable=False),
        sa.Column("number_of_parts", sa.Integer(), nullable=True),
        sa.Column(
            "build_volume", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("min_packing_distance", sa.Double(), nullable=True),
        sa.Column("in_progress_max", sa.Integer(), nullable=True),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_shippings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_shippings")),
        sa.UniqueConstraint(
            "workspace_id", "region", "name", name=op.f("uq_mes_shippings_workspace_id_region_name")
        ),
    )
    with op.batch_alter_table("mes_shippings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_shippings_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_shippings_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_materials",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("units", sa.String(length=16), nullable=False),
        sa.Column("units_measurement_core", sa.String(length=16), nullable=False),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("density", sa.Double(), nullable=True),
        sa.Column("color", sa.String(length=32), nullable=True),
        sa.Column("color_opacity", sa.Double(), nullable=False),
        sa.Column("manufacturer_id", sa.Uuid(), nullable=True),
        sa.Column("manufacturing_process", sa.String(length=32), nullable=True),
        sa.Column("material_family", sa.String(length=32), nullable=True),
        sa.Column("post_processing_seconds", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("external_datasheet_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "identifiers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "is_prosper_integration_available",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column("swatch", sa.String(length=2000), nullable=True),
        sa.Column(
            "third_party_fulfillment", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column(
            "thumbnail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
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
            ["mes_materials.id"],
            name=op.f("fk_mes_materials_base_template_id_mes_materials"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["manufacturer_id"],
            ["mes_manufacturers.id"],
            name=op.f("fk_mes_materials_manufacturer_id_mes_manufacturers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_materials_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_materials")),
    )
    with op.batch_alter_table("mes_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_materials_manufacturer_id"), ["manufacturer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_materials_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_materials_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_post_processor_types",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("overhead_cost_per_run", sa.Double(), nullable=False),
        sa.Column("overhead_cost_per_piece_in_run", sa.Double(), nullable=False),
        sa.Column("batching_strategy", sa.String(length=32), nullable=False),
        sa.Column("number_of_parts", sa.Integer(), nullable=True),
        sa.Column(
            "build_volume", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("min_packing_distance", sa.Double(), nullable=True),
        sa.Column("in_progress_max", sa.Integer(), nullable=False),
        sa.Column("manufacturer_id", sa.Uuid(), nullable=True),
        sa.Column("edit_group", sa.String(length=2000), nullable=True),
        sa.Column("special_type", sa.String(length=32), nullable=True),
        sa.Column("integrated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_modular", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("archived", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manufacturer_id"],
            ["mes_manufacturers.id"],
            name=op.f("fk_mes_post_processor_types_manufacturer_id_mes_manufacturers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_post_processor_types_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_post_processor_types")),
    )
    with op.batch_alter_table("mes_post_processor_types", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_post_processor_types_manufacturer_id"),
            ["manufacturer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_post_processor_types_name"), ["name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_post_processor_types_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "uq_mes_post_processor_types_special_type",
            ["workspace_id", "special_type"],
            unique=True,
            sqlite_where=sa.text("special_type IS NOT NULL"),
            postgresql_where=sa.text("special_type IS NOT NULL"),
        )

    op.create_table(
        "mes_printer_types",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("manufacturer_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("manufacturing_process", sa.String(length=32), nullable=True),
        sa.Column(
            "build_volume", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("build_plate_shape", sa.String(length=16), nullable=False),
        sa.Column("build_packer_type", sa.String(length=32), nullable=False),
        sa.Column("material_mode", sa.String(length=32), nullable=False),
        sa.Column("min_packing_distance", sa.Double(), nullable=True),
        sa.Column("running_cost_per_hour", sa.Double(), nullable=True),
        sa.Column("constant_overhead", sa.Double(), nullable=True),
        sa.Column("overhead_per_line_item", sa.Double(), nullable=True),
        sa.Column("material_cost_scale_factor", sa.Integer(), nullable=False),
        sa.Column("print_cost_scale_factor", sa.Integer(), nullable=False),
        sa.Column("time_before_print", sa.Integer(), nullable=False),
        sa.Column("time_after_print", sa.Integer(), nullable=False),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column("edit_group", sa.String(length=2000), nullable=True),
        sa.Column("integrated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_modular", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "infill_strategies",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "support_strategies",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("custom_print_time_estimator", sa.String(length=2000), nullable=True),
        sa.Column("is_template", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("base_template_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_template_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_printer_types_base_template_id_mes_printer_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["manufacturer_id"],
            ["mes_manufacturers.id"],
            name=op.f("fk_mes_printer_types_manufacturer_id_mes_manufacturers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_printer_types_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_printer_types")),
    )
    with op.batch_alter_table("mes_printer_types", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_printer_types_manufacturer_id"), ["manufacturer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_printer_types_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_printer_types_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_labors",
        sa.Column("printer_type_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "CASE WHEN printer_type_id IS NULL THEN 0 ELSE 1 END + CASE WHEN post_processor_type_id IS NULL THEN 0 ELSE 1 END = 1",  # noqa: E501 - the model's CHECK text, as autogenerated
            name=op.f("ck_mes_labors_one_workstation_type"),
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f("fk_mes_labors_post_processor_type_id_mes_post_processor_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_labors_printer_type_id_mes_printer_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_labors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_labors")),
        sa.UniqueConstraint(
            "post_processor_type_id", name=op.f("uq_mes_labors_post_processor_type_id")
        ),
        sa.UniqueConstraint("printer_type_id", name=op.f("uq_mes_labors_printer_type_id")),
    )
    with op.batch_alter_table("mes_labors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_labors_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_post_processor_type_materials",
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_post_processor_type_materials_material_id_mes_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f(
                "fk_mes_post_processor_type_materials_post_processor_type_id_mes_post_processor_types"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_post_processor_type_materials")),
        sa.UniqueConstraint(
            "post_processor_type_id",
            "material_id",
            name=op.f("uq_mes_post_processor_type_materials_post_processor_type_id_material_id"),
        ),
    )
    with op.batch_alter_table("mes_post_processor_type_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_post_processor_type_materials_material_id"),
            ["material_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_post_processor_type_materials_post_processor_type_id"),
            ["post_processor_type_id"],
            unique=False,
        )

    op.create_table(
        "mes_post_processors",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("sub_location_id", sa.Uuid(), nullable=True),
        sa.Column("is_service", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("archived", sa.DateTime(timezone=True), nullable=True),
        sa.Column("modeler", sa.String(length=2000), nullable=True),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_post_processors_location_id_mes_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f("fk_mes_post_processors_post_processor_type_id_mes_post_processor_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sub_location_id"],
            ["mes_sub_locations.id"],
            name=op.f("fk_mes_post_processors_sub_location_id_mes_sub_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_mes_post_processors_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_post_processors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_post_processors")),
    )
    with op.batch_alter_table("mes_post_processors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_post_processors_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_post_processors_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_post_processors_post_processor_type_id"),
            ["post_processor_type_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_post_processors_sub_location_id"), ["sub_location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_post_processors_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_printer_type_materials",
        sa.Column("printer_type_id", sa.Uuid(), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["mes_materials.id"],
            name=op.f("fk_mes_printer_type_materials_material_id_mes_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_printer_type_materials_printer_type_id_mes_printer_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_printer_type_materials")),
        sa.UniqueConstraint(
            "printer_type_id",
            "material_id",
            name=op.f("uq_mes_printer_type_materials_printer_type_id_material_id"),
        ),
    )
    with op.batch_alter_table("mes_printer_type_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_printer_type_materials_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_printer_type_materials_printer_type_id"),
            ["printer_type_id"],
            unique=False,
        )

    op.create_table(
        "mes_printers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("printer_type_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("sub_location_id", sa.Uuid(), nullable=True),
        sa.Column("in_progress_max", sa.Integer(), nullable=False),
        sa.Column("archived", sa.DateTime(timezone=True), nullable=True),
        sa.Column("modeler", sa.String(length=2000), nullable=True),
        sa.Column("flow_time", sa.Integer(), nullable=True),
        sa.Column("flow_time_queued", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_printers_location_id_mes_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_printers_printer_type_id_mes_printer_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sub_location_id"],
            ["mes_sub_locations.id"],
            name=op.f("fk_mes_printers_sub_location_id_mes_sub_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_mes_printers_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_printers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_printers")),
    )
    with op.batch_alter_table("mes_printers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_printers_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_printers_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_printers_printer_type_id"), ["printer_type_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_printers_sub_location_id"), ["sub_location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_printers_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_work_schedules",
        sa.Column("printer_type_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_type_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("week", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("utc_offset", sa.Double(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "CASE WHEN printer_type_id IS NULL THEN 0 ELSE 1 END + CASE WHEN post_processor_type_id IS NULL THEN 0 ELSE 1 END = 1",  # noqa: E501 - the model's CHECK text, as autogenerated
            name=op.f("ck_mes_work_schedules_one_workstation_type"),
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_type_id"],
            ["mes_post_processor_types.id"],
            name=op.f("fk_mes_work_schedules_post_processor_type_id_mes_post_processor_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["printer_type_id"],
            ["mes_printer_types.id"],
            name=op.f("fk_mes_work_schedules_printer_type_id_mes_printer_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_work_schedules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_work_schedules")),
        sa.UniqueConstraint(
            "post_processor_type_id", name=op.f("uq_mes_work_schedules_post_processor_type_id")
        ),
        sa.UniqueConstraint("printer_type_id", name=op.f("uq_mes_work_schedules_printer_type_id")),
    )
    with op.batch_alter_table("mes_work_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_work_schedules_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_downtimes",
        sa.Column("printer_id", sa.Uuid(), nullable=True),
        sa.Column("post_processor_id", sa.Uuid(), nullable=True),
        sa.Column("shipping_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finish", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "custom_field_values",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "CASE WHEN printer_id IS NULL THEN 0 ELSE 1 END + CASE WHEN post_processor_id IS NULL THEN 0 ELSE 1 END + CASE WHEN shipping_id IS NULL THEN 0 ELSE 1 END = 1",  # noqa: E501 - the model's CHECK text, as autogenerated
            name=op.f("ck_mes_downtimes_one_machine"),
        ),
        sa.CheckConstraint("start < finish", name=op.f("ck_mes_downtimes_start_before_finish")),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["users.id"],
            name=op.f("fk_mes_downtimes_assigned_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_processor_id"],
            ["mes_post_processors.id"],
            name=op.f("fk_mes_downtimes_post_processor_id_mes_post_processors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["mes_printers.id"],
            name=op.f("fk_mes_downtimes_printer_id_mes_printers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shipping_id"],
            ["mes_shippings.id"],
            name=op.f("fk_mes_downtimes_shipping_id_mes_shippings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_downtimes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_downtimes")),
    )
    with op.batch_alter_table("mes_downtimes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_downtimes_post_processor_id"), ["post_processor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_downtimes_printer_id"), ["printer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_downtimes_shipping_id"), ["shipping_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_downtimes_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_downtimes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_downtimes_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_downtimes_shipping_id"))
        batch_op.drop_index(batch_op.f("ix_mes_downtimes_printer_id"))
        batch_op.drop_index(batch_op.f("ix_mes_downtimes_post_processor_id"))

    op.drop_table("mes_downtimes")
    with op.batch_alter_table("mes_work_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_work_schedules_workspace_id"))

    op.drop_table("mes_work_schedules")
    with op.batch_alter_table("mes_printers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_printers_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_printers_sub_location_id"))
        batch_op.drop_index(batch_op.f("ix_mes_printers_printer_type_id"))
        batch_op.drop_index(batch_op.f("ix_mes_printers_name"))
        batch_op.drop_index(batch_op.f("ix_mes_printers_location_id"))

    op.drop_table("mes_printers")
    with op.batch_alter_table("mes_printer_type_materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_printer_type_materials_printer_type_id"))
        batch_op.drop_index(batch_op.f("ix_mes_printer_type_materials_material_id"))

    op.drop_table("mes_printer_type_materials")
    with op.batch_alter_table("mes_post_processors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_post_processors_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processors_sub_location_id"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processors_post_processor_type_id"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processors_name"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processors_location_id"))

    op.drop_table("mes_post_processors")
    with op.batch_alter_table("mes_post_processor_type_materials", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_mes_post_processor_type_materials_post_processor_type_id")
        )
        batch_op.drop_index(batch_op.f("ix_mes_post_processor_type_materials_material_id"))

    op.drop_table("mes_post_processor_type_materials")
    with op.batch_alter_table("mes_labors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_labors_workspace_id"))

    op.drop_table("mes_labors")
    with op.batch_alter_table("mes_printer_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_printer_types_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_printer_types_name"))
        batch_op.drop_index(batch_op.f("ix_mes_printer_types_manufacturer_id"))

    op.drop_table("mes_printer_types")
    with op.batch_alter_table("mes_post_processor_types", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mes_post_processor_types_special_type",
            sqlite_where=sa.text("special_type IS NOT NULL"),
            postgresql_where=sa.text("special_type IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_mes_post_processor_types_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processor_types_name"))
        batch_op.drop_index(batch_op.f("ix_mes_post_processor_types_manufacturer_id"))

    op.drop_table("mes_post_processor_types")
    with op.batch_alter_table("mes_materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_materials_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_materials_name"))
        batch_op.drop_index(batch_op.f("ix_mes_materials_manufacturer_id"))

    op.drop_table("mes_materials")
    with op.batch_alter_table("mes_shippings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_shippings_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_shippings_name"))

    op.drop_table("mes_shippings")
