"""MES quality (work checklists, their linkings, work instructions and reports)

Revision ID: e3a2b3c4d5f3
Revises: e2a2b3c4d5f2
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3a2b3c4d5f3"
down_revision: str | None = "e2a2b3c4d5f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_work_checklists",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("additional_instruction_url", sa.String(length=2000), nullable=True),
        sa.Column("initial_related_uri", sa.String(length=2000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_mes_work_checklists_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_work_checklists_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_work_checklists")),
    )
    with op.batch_alter_table("mes_work_checklists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_work_checklists_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_work_instructions",
        sa.Column("work_checklist_id", sa.Uuid(), nullable=True),
        sa.Column("checklist_version", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("additional_instruction_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "report_type",
            sa.Enum(
                "checkbox",
                "document",
                "picture",
                "no entry",
                "number",
                "range",
                "text",
                "single-selection-dropdown",
                "output-at-location",
                name="mes_work_instruction_report_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "report_units",
            sa.Enum(
                "mm",
                "cm",
                "inch",
                "gram",
                "kg",
                "lb",
                name="mes_work_instruction_report_units",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column(
            "choices",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "threshold",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "threshold_type",
            sa.Enum(
                "between",
                "not-between",
                "tolerance",
                "less-than",
                "less-than-or-equals-to",
                "greater-than",
                "greater-than-or-equals-to",
                "contains",
                "not-contains",
                "equals-to",
                "not-equals-to",
                name="mes_work_instruction_threshold_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "threshold_action",
            sa.Enum(
                "warning",
                "error",
                "warning_prompt_ncr",
                name="mes_work_instruction_threshold_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "threshold_notification",
            sa.Enum(
                "piece_owner",
                "user_group",
                name="mes_work_instruction_threshold_notification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_checklist_id"],
            ["mes_work_checklists.id"],
            name=op.f("fk_mes_work_instructions_work_checklist_id_mes_work_checklists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_work_instructions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_work_instructions")),
    )
    with op.batch_alter_table("mes_work_instructions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_work_instructions_checklist",
            ["work_checklist_id", "checklist_version"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_work_instructions_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_work_checklist_linkings",
        sa.Column("work_checklist_id", sa.Uuid(), nullable=False),
        sa.Column(
            "related_type",
            sa.Enum(
                "printer_type",
                "post_processor_type",
                "shipping",
                "process_step",
                "line_item",
                "print",
                "workflow",
                name="mes_work_checklist_linking_related_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("related_id", sa.Uuid(), nullable=False),
        sa.Column("process_step_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_step_id"],
            ["mes_process_steps.id"],
            name=op.f("fk_mes_work_checklist_linkings_process_step_id_mes_process_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["work_checklist_id"],
            ["mes_work_checklists.id"],
            name=op.f("fk_mes_work_checklist_linkings_work_checklist_id_mes_work_checklists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_work_checklist_linkings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_work_checklist_linkings")),
    )
    with op.batch_alter_table("mes_work_checklist_linkings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_work_checklist_linkings_related", ["related_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_work_checklist_linkings_work_checklist_id"),
            ["work_checklist_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_work_checklist_linkings_workspace_id"),
            ["workspace_id"],
            unique=False,
        )

    op.create_table(
        "mes_work_instruction_reports",
        sa.Column("work_instruction_id", sa.Uuid(), nullable=False),
        sa.Column("print_id", sa.Uuid(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column(
            "report_file",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("outside_threshold", sa.Boolean(), nullable=False),
        sa.Column("completed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["print_id"],
            ["mes_prints.id"],
            name=op.f("fk_mes_work_instruction_reports_print_id_mes_prints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_work_instruction_reports_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["work_instruction_id"],
            ["mes_work_instructions.id"],
            name=op.f("fk_mes_work_instruction_reports_work_instruction_id_mes_work_instructions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_work_instruction_reports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_work_instruction_reports")),
    )
    with op.batch_alter_table("mes_work_instruction_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mes_work_instruction_reports_print",
            ["print_id", "work_instruction_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_work_instruction_reports_work_instruction_id"),
            ["work_instruction_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_work_instruction_reports_workspace_id"),
            ["workspace_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_work_instruction_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_work_instruction_reports_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_work_instruction_reports_work_instruction_id"))
        batch_op.drop_index("ix_mes_work_instruction_reports_print")

    op.drop_table("mes_work_instruction_reports")
    with op.batch_alter_table("mes_work_checklist_linkings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_work_checklist_linkings_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_work_checklist_linkings_work_checklist_id"))
        batch_op.drop_index("ix_mes_work_checklist_linkings_related")

    op.drop_table("mes_work_checklist_linkings")
    with op.batch_alter_table("mes_work_instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_work_instructions_workspace_id"))
        batch_op.drop_index("ix_mes_work_instructions_checklist")

    op.drop_table("mes_work_instructions")
    with op.batch_alter_table("mes_work_checklists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_work_checklists_workspace_id"))

    op.drop_table("mes_work_checklists")
