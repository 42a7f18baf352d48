"""MES order quotes (/mes/order-quote/): revisions of an order's price, each rendered to a PDF
by a durable job

Revision ID: df5a93080286
Revises: c3f1a7d2e845
Create Date: 2026-12-04 03:18:31.987718
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "df5a93080286"
down_revision: str | None = "c3f1a7d2e845"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_order_quotes",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=255), nullable=True),
        sa.Column("approved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("customer_po", sa.String(length=255), nullable=True),
        sa.Column(
            "discount_type",
            sa.Enum(
                "percentage",
                "amount",
                name="mes_quote_discount_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("discount_value", sa.Double(), nullable=True),
        sa.Column("markup_value", sa.Double(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "complete",
                "error",
                name="mes_quote_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("total", sa.Double(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["mes_orders.id"],
            name=op.f("fk_mes_order_quotes_order_id_mes_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_order_quotes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_order_quotes")),
    )
    with op.batch_alter_table("mes_order_quotes", schema=None) as batch_op:
        batch_op.create_index("ix_mes_order_quotes_order", ["order_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_order_quotes_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_order_quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_order_quotes_workspace_id"))
        batch_op.drop_index("ix_mes_order_quotes_order")

    op.drop_table("mes_order_quotes")
