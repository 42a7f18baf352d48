"""MES cross-cutting: comments, labels, label relationships, custom fields (mes/crosscut)

Revision ID: 85226ccdbbd5
Revises: 7337983c2dc1
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "85226ccdbbd5"
down_revision: str | None = "7337983c2dc1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
