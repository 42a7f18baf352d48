"""MES process: process steps and workflows (mes/process)

Revision ID: ead1e1831690
Revises: da057020e3ff
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "ead1e1831690"
down_revision: str | None = "da057020e3ff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
