"""MES floor (runs, actuals, time entries, shipments, create-runs and run-transformation jobs)

Revision ID: e2a2b3c4d5f2
Revises: e1a2b3c4d5f1
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

revision: str = "e2a2b3c4d5f2"
down_revision: str | None = "e1a2b3c4d5f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
