"""MES bulk rows: prints keep only their piece's foreign key and drop the piece's order,
workflow and copy; a partial run index; the pieces' order index carries the bureau
(docs/performance.md, bench.mes)

Revision ID: b51c0e3a9d27
Revises: 85226ccdbbd5
Create Date: 2026-12-03 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b51c0e3a9d27"
down_revision: str | None = "85226ccdbbd5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_pieces_order"))
        batch_op.create_index(
            "ix_mes_pieces_order", ["order_id", "workspace_id", "created_at", "id"], unique=False
        )

    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_prints_order"))
        batch_op.drop_constraint(
            batch_op.f("fk_mes_prints_line_item_id_mes_line_items"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_mes_prints_workspace_id_workspaces"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_mes_prints_order_id_mes_orders"), type_="foreignkey"
        )
        batch_op.drop_column("copy")
        batch_op.drop_column("order_id")
        batch_op.drop_column("workflow_id")
    # Autogenerate does not compare index predicates: the run index becomes partial by hand.
    op.drop_index("ix_mes_prints_run", table_name="mes_prints")
    op.create_index(
        "ix_mes_prints_run",
        "mes_prints",
        ["run_id"],
        postgresql_where=sa.text("run_id IS NOT NULL"),
        sqlite_where=sa.text("run_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_mes_prints_run", table_name="mes_prints")
    op.create_index("ix_mes_prints_run", "mes_prints", ["run_id"])
    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workflow_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("copy", sa.Integer(), nullable=True))
    # The piece's values, which the prints held before.
    op.execute(
        "UPDATE mes_prints SET "
        "workflow_id = (SELECT p.workflow_id FROM mes_pieces p WHERE p.id = mes_prints.piece_id), "
        "order_id = (SELECT p.order_id FROM mes_pieces p WHERE p.id = mes_prints.piece_id), "
        "copy = (SELECT p.copy FROM mes_pieces p WHERE p.id = mes_prints.piece_id)"
    )
    with op.batch_alter_table("mes_prints", schema=None) as batch_op:
        batch_op.alter_column("copy", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_prints_order_id_mes_orders"),
            "mes_orders",
            ["order_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_prints_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_prints_line_item_id_mes_line_items"),
            "mes_line_items",
            ["line_item_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_mes_prints_order"), ["order_id"], unique=False)

    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.drop_index("ix_mes_pieces_order")
        batch_op.create_index(
            batch_op.f("ix_mes_pieces_order"), ["order_id", "created_at", "id"], unique=False
        )
