"""durable jobs: rows a worker in every server process claims and runs (threadline/jobs)

Revision ID: da057020e3ff
Revises: 5c7a528cbe5d
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "da057020e3ff"
down_revision: str | None = "5c7a528cbe5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
