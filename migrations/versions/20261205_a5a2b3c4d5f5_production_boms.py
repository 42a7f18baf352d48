"""Production BOMs: BOMs, entries, contributing jobs, versions, jobs; serial numbers on pieces

Revision ID: a5a2b3c4d5f5
Revises: f4a2b3c4d5f4
Create Date: 2026-12-05 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a5a2b3c4d5f5"
down_revision: str | None = "f4a2b3c4d5f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "production_boms",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source_bom_id", sa.Uuid(), nullable=True),
        sa.Column("source_part_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("last_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_production_boms_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_bom_id"],
            ["boms.id"],
            name=op.f("fk_production_boms_source_bom_id_boms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_part_id"],
            ["parts.id"],
            name=op.f("fk_production_boms_source_part_id_parts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_production_boms_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_boms")),
    )
    with op.batch_alter_table("production_boms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_production_boms_workspace_created", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_production_boms_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "production_bom_entries",
        sa.Column("bom_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("part_type", sa.String(length=255), nullable=False),
        sa.Column("required_quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("part_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bom_id"],
            ["production_boms.id"],
            name=op.f("fk_production_bom_entries_bom_id_production_boms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["part_id"],
            ["parts.id"],
            name=op.f("fk_production_bom_entries_part_id_parts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_bom_entries")),
    )
    with op.batch_alter_table("production_bom_entries", schema=None) as batch_op:
        batch_op.create_index("ix_production_bom_entries_bom", ["bom_id", "position"], unique=False)

    op.create_table(
        "production_bom_versions",
        sa.Column("bom_id", sa.Uuid(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column(
            "entries", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("change_description", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("user_label", sa.String(length=320), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bom_id"],
            ["production_boms.id"],
            name=op.f("fk_production_bom_versions_bom_id_production_boms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_production_bom_versions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_bom_versions")),
        sa.UniqueConstraint(
            "bom_id",
            "version_number",
            name=op.f("uq_production_bom_versions_bom_id_version_number"),
        ),
    )
    op.create_table(
        "production_bom_entry_jobs",
        sa.Column("bom_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bom_id"],
            ["production_boms.id"],
            name=op.f("fk_production_bom_entry_jobs_bom_id_production_boms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["production_bom_entries.id"],
            name=op.f("fk_production_bom_entry_jobs_entry_id_production_bom_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["mes_line_items.id"],
            name=op.f("fk_production_bom_entry_jobs_line_item_id_mes_line_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_bom_entry_jobs")),
        sa.UniqueConstraint(
            "entry_id",
            "line_item_id",
            name=op.f("uq_production_bom_entry_jobs_entry_id_line_item_id"),
        ),
    )
    with op.batch_alter_table("production_bom_entry_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_production_bom_entry_jobs_bom", ["bom_id", "entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_production_bom_entry_jobs_line_item", ["line_item_id"], unique=False
        )

    op.create_table(
        "production_jobs",
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("part_type", sa.String(length=255), nullable=True),
        sa.Column("part_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["mes_line_items.id"],
            name=op.f("fk_production_jobs_line_item_id_mes_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["part_id"],
            ["parts.id"],
            name=op.f("fk_production_jobs_part_id_parts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_jobs")),
        sa.UniqueConstraint("line_item_id", name=op.f("uq_production_jobs_line_item_id")),
    )
    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serial_number", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_mes_pieces_serials",
            ["line_item_id", "status"],
            unique=False,
            postgresql_where=sa.text("serial_number IS NOT NULL"),
            sqlite_where=sa.text("serial_number IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_mes_pieces_serial_number", ["workspace_id", "serial_number"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_pieces", schema=None) as batch_op:
        batch_op.drop_index("uq_mes_pieces_serial_number")
        batch_op.drop_index(
            "ix_mes_pieces_serials",
            postgresql_where=sa.text("serial_number IS NOT NULL"),
            sqlite_where=sa.text("serial_number IS NOT NULL"),
        )
        batch_op.drop_column("serial_number")

    op.drop_table("production_jobs")
    with op.batch_alter_table("production_bom_entry_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_production_bom_entry_jobs_line_item")
        batch_op.drop_index("ix_production_bom_entry_jobs_bom")

    op.drop_table("production_bom_entry_jobs")
    op.drop_table("production_bom_versions")
    with op.batch_alter_table("production_bom_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_production_bom_entries_bom")

    op.drop_table("production_bom_entries")
    with op.batch_alter_table("production_boms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_production_boms_workspace_id"))
        batch_op.drop_index("ix_production_boms_workspace_created")

    op.drop_table("production_boms")
