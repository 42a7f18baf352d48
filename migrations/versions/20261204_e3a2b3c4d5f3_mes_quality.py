"""MES quality (work checklists, their linkings, work instructions and reports)

Revision ID: e3a2b3c4d5f3
Revises: e2a2b3c4d5f2
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

revision: str = "e3a2b3c4d5f3"
down_revision: str | None = "e2a2b3c4d5f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
