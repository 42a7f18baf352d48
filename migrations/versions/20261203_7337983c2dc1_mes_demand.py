"""MES demand: orders, products, line items, pieces, prints (mes/demand)

Revision ID: 7337983c2dc1
Revises: 8bbe0425fe7b
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7337983c2dc1"
down_revision: str | None = "8bbe0425fe7b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_orders",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "calculating_estimates",
                "cancelled",
                "confirmed",
                "complete",
                "error",
                "new",
                "pending",
                "in-preparation",
                "processing",
                "post-processing",
                "printing",
                "shipping",
                "cloning",
                name="mes_order_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("customer_name", sa.String(length=255), nullable=True),
        sa.Column("customer_email", sa.String(length=255), nullable=True),
        sa.Column("customer_po", sa.String(length=255), nullable=True),
        sa.Column("customer_go", sa.String(length=3), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("application_type", sa.String(length=32), nullable=True),
        sa.Column("order_type", sa.String(length=32), nullable=True),
        sa.Column("ip_sensitivity", sa.String(length=255), nullable=True),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("callback_method", sa.String(length=16), nullable=True),
        sa.Column("order_owner_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column(
            "locations_available",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("due_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "estimates", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "shipping", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("shipping_grouping", sa.String(length=32), nullable=False),
        sa.Column("quote_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("quote_approved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "special_processing_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("template_name", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("build_file_status", sa.String(length=16), nullable=True),
        sa.Column("planning_status", sa.String(length=16), nullable=True),
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
            ["location_id"],
            ["mes_locations.id"],
            name=op.f("fk_mes_orders_location_id_mes_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_owner_id"],
            ["users.id"],
            name=op.f("fk_mes_orders_order_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mes_orders_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_orders_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_orders")),
    )
    with op.batch_alter_table("mes_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_orders_workspace_created", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_orders_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_products",
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("model_library", sa.String(length=2000), nullable=True),
        sa.Column("no_model_upload", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_products_order_id_mes_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_products_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_products_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_products")),
    )
    with op.batch_alter_table("mes_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_products_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_products_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_line_items",
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "calculating_estimates",
                "pending",
                "in-preparation",
                "confirmed",
                "printing",
                "post-processing",
                "shipping",
                "error",
                "cancelled",
                "complete",
                name="mes_line_item_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "type",
            sa.Enum(
                "product",
                "specimen",
                "waste",
                "tooling",
                name="mes_line_item_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("workflow_type", sa.String(length=32), nullable=True),
        sa.Column("prep_workflow", sa.String(length=2000), nullable=True),
        sa.Column("model_id", sa.Uuid(), nullable=True),
        sa.Column("base_material_id", sa.Uuid(), nullable=True),
        sa.Column("support_material_id", sa.Uuid(), nullable=True),
        sa.Column("part_version_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "additive", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "powder", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "estimates", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "estimates_additive",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "estimates_powder",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "additional_costs",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "custom_field_values",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("design_time", sa.Integer(), nullable=True),
        sa.Column("autorun", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("no_model_upload", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_relevant_estimation", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["users.id"],
            name=op.f("fk_mes_line_items_assigned_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_line_items_order_id_mes_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["part_version_id"],
            ["part_versions.id"],
            name=op.f("fk_mes_line_items_part_version_id_part_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["mes_products.id"],
            name=op.f("fk_mes_line_items_product_id_mes_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_line_items_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_line_items")),
    )
    with op.batch_alter_table("mes_line_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mes_line_items_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mes_line_items_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_line_items_part_version_id"), ["part_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_line_items_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_line_items_workflow_id"), ["workflow_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_line_items_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "ix_mes_line_items_workspace_type", ["workspace_id", "type", "created_at"], unique=False
        )

    op.create_table(
        "mes_pieces",
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("copy", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "product",
                "specimen",
                "waste",
                "tooling",
                name="mes_piece_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "confirmed",
                "queued-for-printing",
                "printing",
                "queued-for-post-processing",
                "post-processing",
                "queued-for-shipping",
                "shipping",
                "complete",
                "incomplete",
                "cancelled",
                "error",
                name="mes_piece_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("current_step_position", sa.Integer(), nullable=False),
        sa.Column("layer_thickness", sa.Double(), nullable=True),
        sa.Column(
            "external_print_analysis",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("remanufactured_to_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["mes_line_items.id"],
            name=op.f("fk_mes_pieces_line_item_id_mes_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_pieces_order_id_mes_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["remanufactured_to_id"],
            ["mes_pieces.id"],
            name=op.f("fk_mes_pieces_remanufactured_to_id_mes_pieces"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_pieces_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_pieces")),
    )
    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.create_index("ix_mes_pieces_line_item", ["line_item_id", "copy"], unique=False)
        batch_op.create_index("ix_mes_pieces_order", ["order_id", "created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_pieces_workflow_id"), ["workflow_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_pieces_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_prints",
        sa.Column("piece_id", sa.Uuid(), nullable=False),
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("process_step_id", sa.Uuid(), nullable=True),
        sa.Column("process_step_position", sa.Integer(), nullable=False),
        sa.Column("copy", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "created",
                "queued",
                "in-progress",
                "complete",
                "error",
                "cancelled",
                name="mes_print_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("printer_id", sa.Uuid(), nullable=True),
        sa.Column("remanufactured_to_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["mes_line_items.id"],
            name=op.f("fk_mes_prints_line_item_id_mes_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_prints_order_id_mes_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["piece_id"],
            ["mes_pieces.id"],
            name=op.f("fk_mes_prints_piece_id_mes_pieces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remanufactured_to_id"],
            ["mes_prints.id"],
            name=op.f("fk_mes_prints_remanufactured_to_id_mes_prints"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_prints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_prints")),
    )
    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.create_index("ix_mes_prints_line_item", ["line_item_id"], unique=False)
        batch_op.create_index("ix_mes_prints_order", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_mes_prints_piece", ["piece_id", "process_step_position"], unique=False
        )
        batch_op.create_index("ix_mes_prints_run", ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_prints_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_prints_workspace_id"))
        batch_op.drop_index("ix_mes_prints_run")
        batch_op.drop_index("ix_mes_prints_piece")
        batch_op.drop_index("ix_mes_prints_order")
        batch_op.drop_index("ix_mes_prints_line_item")

    op.drop_table("mes_prints")
    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_pieces_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_pieces_workflow_id"))
        batch_op.drop_index("ix_mes_pieces_order")
        batch_op.drop_index("ix_mes_pieces_line_item")

    op.drop_table("mes_pieces")
    with op.batch_alter_table("mes_line_items", schema=None) as batch_op:
        batch_op.drop_index("ix_mes_line_items_workspace_type")
        batch_op.drop_index(batch_op.f("ix_mes_line_items_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_line_items_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_mes_line_items_product_id"))
        batch_op.drop_index(batch_op.f("ix_mes_line_items_part_version_id"))
        batch_op.drop_index(batch_op.f("ix_mes_line_items_order_id"))
        batch_op.drop_index(batch_op.f("ix_mes_line_items_model_id"))

    op.drop_table("mes_line_items")
    with op.batch_alter_table("mes_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_products_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_products_order_id"))

    op.drop_table("mes_products")
    with op.batch_alter_table("mes_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_orders_workspace_id"))
        batch_op.drop_index("ix_mes_orders_workspace_created")

    op.drop_table("mes_orders")
