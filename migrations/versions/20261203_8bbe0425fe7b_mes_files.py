"""MES files: models, design files, documents (mes/files)

Revision ID: 8bbe0425fe7b
Revises: ead1e1831690
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

revision: str = "8bbe0425fe7b"
down_revision: str | None = "ead1e1831690"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
