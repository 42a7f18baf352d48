"""MES shop machines: materials, printer/post-processor types and machines, shipping,
downtime, work schedules, labor (mes/shop)

Revision ID: 5c7a528cbe5d
Revises: a17847d76520
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "5c7a528cbe5d"
down_revision: str | None = "a17847d76520"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
