"""MES files: models, design files, documents (mes/files)

Revision ID: 8bbe0425fe7b
Revises: ead1e1831690
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8bbe0425fe7b"
down_revision: str | None = "ead1e1831690"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mes_documents",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("related_table_name", sa.String(length=64), nullable=False),
        sa.Column("related_uuid", sa.Uuid(), nullable=False),
        sa.Column("auto_parse", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("archived", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_document_id", sa.Uuid(), nullable=True),
        sa.Column(
            "previous_documents",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "virus_scan",
            sa.Enum(
                "unscanned",
                "passed",
                "quarantined",
                name="mes_virus_scan",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["previous_document_id"],
            ["mes_documents.id"],
            name=op.f("fk_mes_documents_previous_document_id_mes_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_documents_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_documents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_documents")),
    )
    with op.batch_alter_table("mes_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_documents_related_table_name"), ["related_table_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mes_documents_related_uuid"), ["related_uuid"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_documents_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_documents_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_design_files",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "processing",
                "processed",
                "error",
                name="mes_design_file_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("vault_file_version_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "virus_scan",
            sa.Enum(
                "unscanned",
                "passed",
                "quarantined",
                name="mes_virus_scan",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mes_design_files_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vault_file_version_id"],
            ["vault_file_versions.id"],
            name=op.f("fk_mes_design_files_vault_file_version_id_vault_file_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_design_files_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_design_files")),
    )
    with op.batch_alter_table("mes_design_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_design_files_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_design_files_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_design_files_vault_file_version_id"),
            ["vault_file_version_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mes_design_files_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mes_models",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not-uploaded",
                "converting",
                "processing",
                "processed",
                "external-process",
                "error",
                "repaired",
                "irreparable",
                "inoperable",
                "file-too-large",
                name="mes_model_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("file_unit", sa.String(length=8), nullable=True),
        sa.Column("user_unit", sa.String(length=8), nullable=False),
        sa.Column("size", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("volume_mm", sa.Double(), nullable=True),
        sa.Column("surface_area_mm", sa.Double(), nullable=True),
        sa.Column("polygons", sa.Integer(), nullable=True),
        sa.Column(
            "analyses", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "manufacturing_orientation",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "allowed_transformations",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "rights", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("conversion_notes", sa.Text(), nullable=True),
        sa.Column("conversion_original_filename", sa.String(length=255), nullable=True),
        sa.Column("conversion_original_type", sa.String(length=16), nullable=True),
        sa.Column("conversion_status", sa.String(length=32), nullable=True),
        sa.Column("design_file_id", sa.Uuid(), nullable=True),
        sa.Column(
            "replaced_models",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "virus_scan",
            sa.Enum(
                "unscanned",
                "passed",
                "quarantined",
                name="mes_virus_scan",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["design_file_id"],
            ["mes_design_files.id"],
            name=op.f("fk_mes_models_design_file_id_mes_design_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mes_models_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mes_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mes_models")),
    )
    with op.batch_alter_table("mes_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mes_models_design_file_id"), ["design_file_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mes_models_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mes_models_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mes_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_models_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_models_sha256"))
        batch_op.drop_index(batch_op.f("ix_mes_models_design_file_id"))

    op.drop_table("mes_models")
    with op.batch_alter_table("mes_design_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_design_files_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_design_files_vault_file_version_id"))
        batch_op.drop_index(batch_op.f("ix_mes_design_files_sha256"))
        batch_op.drop_index(batch_op.f("ix_mes_design_files_product_id"))

    op.drop_table("mes_design_files")
    with op.batch_alter_table("mes_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mes_documents_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_mes_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_mes_documents_related_uuid"))
        batch_op.drop_index(batch_op.f("ix_mes_documents_related_table_name"))

    op.drop_table("mes_documents")
