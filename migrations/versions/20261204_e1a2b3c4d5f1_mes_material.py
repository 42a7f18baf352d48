"""MES material traceability (lots, containers, batches, batch actions and their linking edges)

Revision ID: e1a2b3c4d5f1
Revises: df5a93080286
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

revision: str = "e1a2b3c4d5f1"
down_revision: str | None = "df5a93080286"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
