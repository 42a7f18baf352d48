"""MES line items and pieces: foreign keys to the workflows, models and materials they use
(the rooms refuse such deletes; the keys make that hold under concurrent writes)

A reference to a row that no longer exists (possible before these keys) is cleared first.

Revision ID: c3f1a7d2e845
Revises: b51c0e3a9d27
Create Date: 2026-12-04 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3f1a7d2e845"
down_revision: str | None = "b51c0e3a9d27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "mes_line_items": (
        ("workflow_id", "mes_workflows"),
        ("model_id", "mes_models"),
        ("base_material_id", "mes_materials"),
        ("support_material_id", "mes_materials"),
    ),
    "mes_pieces": (("workflow_id", "mes_workflows"),),
}


def _name(table: str, column: str, target: str) -> str:
    return f"fk_{table}_{column}_{target}"


def upgrade() -> None:
    for table, keys in KEYS.items():
        for column, target in keys:
            rows, referred = sa.table(table, sa.column(column)), sa.table(target, sa.column("id"))
            op.execute(
                rows.update()
                .where(
                    rows.c[column].is_not(None),
                    rows.c[column].not_in(sa.select(referred.c.id)),
                )
                .values({column: None})
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, target in keys:
                batch_op.create_foreign_key(_name(table, column, target), target, [column], ["id"])


def downgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, target in keys:
                batch_op.drop_constraint(_name(table, column, target), type_="foreignkey")
