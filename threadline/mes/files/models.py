"""ORM models of the MES files room (mes-api-reference.txt ``/model/``, ``/design-file/``,
``/document/``).

A row keeps only the SHA-256 of its bytes: the bytes themselves live once in the
content-addressed blob store (:mod:`threadline.blobs`), shared with the vault when a design file
is made from a vault file version.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


def status_enum(cls: type[enum.Enum], name: str) -> Enum:
    """VARCHAR with a CHECK of the reference's values (they contain hyphens)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class VirusScan(enum.StrEnum):
    """``passed`` means stored and read back intact; no anti-virus runs (docs/mes/files.md)."""

    unscanned = "unscanned"
    passed = "passed"
    quarantined = "quarantined"


class ModelStatus(enum.StrEnum):
    not_uploaded = "not-uploaded"
    converting = "converting"
    processing = "processing"
    processed = "processed"
    external_process = "external-process"
    error = "error"
    repaired = "repaired"
    irreparable = "irreparable"
    inoperable = "inoperable"
    file_too_large = "file-too-large"


class DesignFileStatus(enum.StrEnum):
    new = "new"
    processing = "processing"
    processed = "processed"
    error = "error"


class StoredFile:
    """The bytes of a row: digest and length once they landed, who uploaded them."""

    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    virus_scan: Mapped[VirusScan] = mapped_column(
        status_enum(VirusScan, "mes_virus_scan"), default=VirusScan.unscanned
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class DesignFile(StoredFile, BureauOwned, Base):
    """A 3D file as the customer sent it; a single-mesh file unpacks into one model."""

    __tablename__ = "mes_design_files"

    name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32), default="single-mesh")
    status: Mapped[DesignFileStatus] = mapped_column(
        status_enum(DesignFileStatus, "mes_design_file_status"), default=DesignFileStatus.new
    )
    notes: Mapped[str | None] = mapped_column(Text)
    # A product of the demand room; no foreign key (that room's tables come after this one),
    # checked through the resource engine instead.
    product_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The digital thread: the vault file version whose bytes this design file is.
    vault_file_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vault_file_versions.id", ondelete="SET NULL"), index=True
    )


class Model(StoredFile, BureauOwned, Base):
    """A printable model; its geometry (mm) is computed from its bytes by a job."""

    __tablename__ = "mes_models"

    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="stl")
    status: Mapped[ModelStatus] = mapped_column(
        status_enum(ModelStatus, "mes_model_status"), default=ModelStatus.not_uploaded
    )
    file_unit: Mapped[str | None] = mapped_column(String(8), default="mm")
    user_unit: Mapped[str] = mapped_column(String(8), default="mm")
    size: Mapped[dict[str, Any] | None]
    volume_mm: Mapped[float | None]
    surface_area_mm: Mapped[float | None]
    polygons: Mapped[int | None]
    analyses: Mapped[dict[str, Any] | None]
    manufacturing_orientation: Mapped[dict[str, Any] | None]
    allowed_transformations: Mapped[dict[str, Any] | None]
    rights: Mapped[list[Any] | None]
    conversion_notes: Mapped[str | None] = mapped_column(Text)
    conversion_original_filename: Mapped[str | None] = mapped_column(String(255))
    conversion_original_type: Mapped[str | None] = mapped_column(String(16))
    conversion_status: Mapped[str | None] = mapped_column(String(32))
    design_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_design_files.id", ondelete="SET NULL"), index=True
    )
    replaced_models: Mapped[list[Any] | None]


class Document(StoredFile, BureauOwned, Base):
    """A file attached to another resource by ``related_table_name`` + ``related_uuid``."""

    __tablename__ = "mes_documents"

    name: Mapped[str] = mapped_column(String(255))
    related_table_name: Mapped[str] = mapped_column(String(64), index=True)
    related_uuid: Mapped[uuid.UUID] = mapped_column(index=True)
    auto_parse: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived: Mapped[datetime | None]
    previous_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_documents.id", ondelete="SET NULL")
    )
    # Every earlier document of the chain, most recent first: written at replace time so a
    # LIST renders it without walking the chain row by row.
    previous_documents: Mapped[list[Any] | None]
