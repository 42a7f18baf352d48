"""MES demand: orders, products, line items, pieces, prints (mes/demand)

Revision ID: 7337983c2dc1
Revises: 8bbe0425fe7b
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "7337983c2dc1"
down_revision: str | None = "8bbe0425fe7b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
