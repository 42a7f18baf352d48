"""Rules of MES files (mes-api-reference.txt ``/model/``, ``/design-file/``, ``/document/``):
signed links rendered per page, references checked in the bureau, the model a single-mesh
design file unpacks into, documents replaced by archiving."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.sql.elements import ColumnElement

from threadline.db import utcnow
from threadline.errors import Invalid, NotFound
from threadline.mes.face import Filter, ListQuery, MesContext
from threadline.mes.files import links
from threadline.mes.files.geometry import UNIT_MM
from threadline.mes.files.models import (
    DesignFile,
    DesignFileStatus,
    Document,
    Model,
    ModelStatus,
    VirusScan,
)
from threadline.mes.resources import REGISTRY, Links, Rules, Values
from threadline.vault.models import FileVersion, VaultFile
from threadline.vault.paths import extension

# document.related_table_name → the resource kind it names (checked when that room exists).
RELATED_KINDS = {
    "bureau_branding": "bureau",
    "line_item": "line-item",
    "order": "order",
    "run": "run",
    "work_instruction_report": "work-instruction-report",
    "material": "material",
    "model_library": "model-library",
    "order_packing_slip": "order-packing-slip",
    "material_batch": "material-batch",
    "material_batch_action": "material-batch-action",
    "material_lot": "material-lot",
    "shipment": "shipment",
    "material_test_instruction_report": "material-test-instruction-report",
    "jeni_cluster": "jeni-cluster",
    "tooling_type": "tooling-type",
    "tooling_stock": "tooling-stock",
}
DESIGN_FORMATS = [
    "3dm",
    "3dpdf",
    "3mf",
    "amf",
    "asm",
    "catpart",
    "catproduct",
    "dae",
    "iam",
    "iges",
    "igs",
    "ipt",
    "jt",
    "j_t",
    "model",
    "obj",
    "pdf",
    "png",
    "prt",
    "sat",
    "skp",
    "sldasm",
    "sldprt",
    "step",
    "stp",
    "stl",
    "tif",
    "tiff",
    "x_t",
    "xt",
]
READABLE_FORMATS = ("stl", "step", "stp")  # what threadline/mes/files/geometry.py reads


async def exists_in_bureau(
    ctx: MesContext, kind: str, row_id: uuid.UUID, workspace_id: uuid.UUID
) -> bool | None:
    """Whether resource ``kind`` has ``row_id`` in the bureau; None when that kind is not built."""
    if kind == "bureau":
        return row_id == workspace_id
    target = REGISTRY.get(kind)
    if target is None:
        return None
    found = await ctx.session.scalar(
        select(
            exists().where(target.attr("id") == row_id, target.attr("workspace_id") == workspace_id)
        )
    )
    return bool(found)


def _links(ctx: MesContext, kind: str, row: Any, uploadable: bool) -> tuple[str | None, str | None]:
    """(content, upload location) of one row: a download once its bytes are stored and intact,
    an upload link while it still waits for them."""
    key = ctx.runtime.secret_key
    content = (
        links.link(key, ctx.base_url, "content", kind, row.id, row.sha256)
        if row.sha256 and row.virus_scan == VirusScan.passed
        else None
    )
    upload = (
        links.link(key, ctx.base_url, "upload", kind, row.id)
        if uploadable and row.sha256 is None
        else None
    )
    return content, upload


class ModelRules(Rules):
    """Geometry is the job's; a unit change rescales what it computed."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            content, upload = _links(ctx, "model", row, row.design_file_id is None)
            native = row.conversion_original_type is not None
            out[row.id] = {
                # content "matches type" (stl): a native upload is offered as the original.
                "content": None if native else content,
                "conversion_original_content": content if native else None,
                "upload-location": upload,
            }
        return out

    async def before_create(self, ctx: MesContext, values: Values, links_: Links) -> None:
        values["user_id"] = ctx.user.id
        values["status"] = ModelStatus.not_uploaded

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links_: Links) -> None:
        new_unit = values.get("file_unit", row.file_unit)
        if new_unit != row.file_unit and row.status == ModelStatus.processed:
            factor = UNIT_MM[new_unit or "mm"] / UNIT_MM[row.file_unit or "mm"]
            if row.size:
                values["size"] = {k: v * factor for k, v in row.size.items()}
            if row.volume_mm is not None:
                values["volume_mm"] = row.volume_mm * factor**3
            if row.surface_area_mm is not None:
                values["surface_area_mm"] = row.surface_area_mm * factor**2

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        line_item = REGISTRY.get("line-item")
        if line_item is not None and await ctx.session.scalar(
            select(exists().where(line_item.attr("model_id") == row.id))
        ):
            raise Invalid("Cannot delete model that is used by line items.", code="MODEL_IN_USE")


class DesignFileRules(Rules):
    """The product is checked in the bureau once the demand room serves it; a vault file
    version gives its bytes instead of an upload; single-mesh files get their model."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            content, upload = _links(ctx, "design-file", row, row.vault_file_version_id is None)
            out[row.id] = {"content": content, "upload_location": upload}
        return out

    async def before_create(self, ctx: MesContext, values: Values, links_: Links) -> None:
        workspace_id = values["workspace_id"]
        values["user_id"] = ctx.user.id
        values["status"] = DesignFileStatus.new
        version_id = values.get("vault_file_version_id")
        if version_id is not None:
            version_id = values["vault_file_version_id"] = parse_version_id(version_id)
            version = await ctx.session.scalar(
                select(FileVersion)
                .join(VaultFile, VaultFile.id == FileVersion.file_id)
                .where(FileVersion.id == version_id, VaultFile.workspace_id == workspace_id)
            )
            if version is None:
                raise NotFound(
                    "The requested vault file version cannot be found.",
                    code="RESOURCE_NOT_FOUND",
                    field="vault_file_version",
                )
            values["sha256"], values["file_size"] = version.sha256, version.size
            values["status"] = DesignFileStatus.processing
            values.setdefault("name", version.original_name)
        if not values.get("name"):
            raise Invalid("The field name is required.", code="FIELD_REQUIRED", field="name")
        if not values.get("format"):
            guessed = extension(values["name"]).lstrip(".")
            if guessed not in DESIGN_FORMATS:
                raise Invalid(
                    "The field format is required (the name has no known extension).",
                    code="FIELD_REQUIRED",
                    field="format",
                )
            values["format"] = guessed

    async def after_create(self, ctx: MesContext, row: Any, links_: Links) -> None:
        if row.type == "single-mesh":
            ctx.session.add(model_of(row))


def parse_version_id(value: str) -> uuid.UUID:
    """A vault file version id: bare, or the last segment of a URI (``.../versions/{id}``)."""
    try:
        return uuid.UUID(value.rstrip("/").rsplit("/", 1)[-1])
    except ValueError:
        raise Invalid(
            "The value of vault_file_version must be a vault file version id or URI.",
            code="INVALID_FIELD",
            field="vault_file_version",
        ) from None


def model_of(design: DesignFile) -> Model:
    """The model a single-mesh design file unpacks into (its ``Model-Location``)."""
    native = design.format if design.format != "stl" else None
    return Model(
        workspace_id=design.workspace_id,
        user_id=design.user_id,
        name=design.name,
        type="stl",
        status=ModelStatus.processing if design.sha256 else ModelStatus.not_uploaded,
        design_file_id=design.id,
        conversion_original_type=native,
        conversion_original_filename=design.name if native else None,
        sha256=design.sha256,
        file_size=design.file_size,
    )


async def model_id_of(ctx: MesContext, design_id: uuid.UUID) -> uuid.UUID | None:
    return await ctx.session.scalar(select(Model.id).where(Model.design_file_id == design_id))


class DocumentRules(Rules):
    """The related row must exist in the bureau (where its room is built); replaced documents
    are hidden from a LIST unless it filters on ``archived`` or ``uuid``."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            content, upload = _links(ctx, "document", row, row.archived is None)
            previous = [ctx.uri("document", i) for i in row.previous_documents or []]
            out[row.id] = {
                "content": content,
                "upload_location": upload,
                "previous_documents": previous,
                "related_resources": [
                    {
                        "related_table_name": row.related_table_name,
                        "related_uuid": str(row.related_uuid),
                    }
                ],
            }
        return out

    async def before_create(self, ctx: MesContext, values: Values, links_: Links) -> None:
        values["user_id"] = ctx.user.id
        values["related_uuid"] = parse_related_uuid(values["related_uuid"])
        kind = RELATED_KINDS[values["related_table_name"]]
        found = await exists_in_bureau(ctx, kind, values["related_uuid"], values["workspace_id"])
        if found is False:
            raise NotFound(
                f"The requested {kind} cannot be found (related_uuid).",
                code="RESOURCE_NOT_FOUND",
                field="related_uuid",
            )

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        return {
            "related_uuid": lambda f: Document.related_uuid.in_(
                [parse_related_uuid(v) for v in f.values]
            )
        }

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        if any(f.name in ("archived", "uuid") for f in query.filters):
            return []
        return [Document.archived.is_(None)]


def parse_related_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(
            "The value of related_uuid must be a uuid.", code="INVALID_FIELD", field="related_uuid"
        ) from None


def replacement_of(old: Document, name: str, user_id: uuid.UUID) -> Document:
    """The new document of ``/document/{uuid}/replace/``; the old one is archived now."""
    if old.archived is not None:
        raise Invalid(
            "This document was already replaced; replace its newest version instead.",
            code="DOCUMENT_ARCHIVED",
        )
    old.archived = utcnow()
    return Document(
        workspace_id=old.workspace_id,
        user_id=user_id,
        name=name,
        related_table_name=old.related_table_name,
        related_uuid=old.related_uuid,
        previous_document_id=old.id,
        previous_documents=[str(old.id), *(old.previous_documents or [])],
    )
