"""MES people: roles of users in bureaus (mes/people)

Revision ID: e67596f4aab5
Revises: 5d3fdeb24c2b
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "e67596f4aab5"
down_revision: str | None = "5d3fdeb24c2b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
