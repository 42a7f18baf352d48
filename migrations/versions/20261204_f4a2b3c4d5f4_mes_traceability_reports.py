"""MES traceability reports (a piece's and a material batch's, built by a durable job)

Revision ID: f4a2b3c4d5f4
Revises: e3a2b3c4d5f3
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f4a2b3c4d5f4"
down_revision: str | None = "e3a2b3c4d5f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_batch_traceability_reports",
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "complete",
                "error",
                name="mes_batch_trace_report_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("material_batch_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("json_sha256", sa.String(length=64), nullable=True),
        sa.Column("json_file_size", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_mes_batch_traceability_reports_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["material_batch_id"],
            ["mes_material_batches.id"],
            name=op.f("fk_mes_batch_traceability_reports_material_batch_id_mes_material_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_batch_traceability_reports_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_batch_traceability_reports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_batch_traceability_reports")),
    )
    with op.batch_alter_table("mes_batch_traceability_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_batch_traceability_reports_material_batch_id"),
            ["material_batch_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_batch_traceability_reports_workspace_id"),
            ["workspace_id"],
            unique=False,
        )

    op.create_table(
        "mes_traceability_reports",
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "complete",
                "error",
                name="mes_trace_report_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("piece_id", sa.Uuid(), nullable=False),
        sa.Column(
            "filters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("json_sha256", sa.String(length=64), nullable=True),
        sa.Column("json_file_size", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_mes_traceability_reports_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["piece_id"],
            ["mes_pieces.id"],
            name=op.f("fk_mes_traceability_reports_piece_id_mes_pieces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_traceability_reports_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_traceability_reports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_traceability_reports")),
    )
    with op.batch_alter_table("mes_traceability_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_traceability_reports_piece_id"), ["piece_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_traceability_reports_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_traceability_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_traceability_reports_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_traceability_reports_piece_id"))

    op.drop_table("mes_traceability_reports")
    with op.batch_alter_table("mes_batch_traceability_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_batch_traceability_reports_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_batch_traceability_reports_material_batch_id"))

    op.drop_table("mes_batch_traceability_reports")
