"""Models, design files and documents as the reference names their fields
(mes-api-reference.txt ``/model/``, ``/design-file/``, ``/document/``)."""

from __future__ import annotations

from threadline.mes.files import models, service
from threadline.mes.resources import Field, Resource, common_fields

SCANS = ("unscanned", "passed", "quarantined")
UNITS = ("in", "mm", "cm", "m", "feet")
NATIVE = (
    "x_t",
    "xt",
    "sat",
    "step",
    "stp",
    "igs",
    "iges",
    "sldprt",
    "ipt",
    "prt",
    "catpart",
    "jt",
    "j_t",
    "3dm",
    "obj",
    "iam",
    "dae",
    "pdf",
    "png",
    "tiff",
    "tif",
)

model = Resource(
    "model",
    models.Model,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("type", choices=("stl",), default="stl", nullable=False, create_only=True),
        Field("status", choices=tuple(s.value for s in models.ModelStatus), read_only=True),
        Field("virus_scan", choices=SCANS, read_only=True),
        Field("content", read_only=True, filter=False),
        Field("upload-location", read_only=True, filter=False),
        Field("file_size", "integer", read_only=True),
        Field("file_unit", choices=UNITS, default="mm"),
        Field("user_unit", choices=("in", "mm"), default="mm", nullable=False),
        Field("size", "object", read_only=True),
        Field("volume_mm", "number", read_only=True, sort=True),
        Field("surface_area_mm", "number", read_only=True),
        Field("polygons", "integer", read_only=True),
        Field("analyses", "object", read_only=True),
        Field("manufacturing_orientation", "object"),
        Field(
            "allowed_transformations",
            "object",
            default=lambda: {"resize": False, "rotation": False},
        ),
        Field("rights", "array"),
        Field("conversion_notes", read_only=True),
        Field("conversion_original_content", read_only=True, filter=False),
        Field("conversion_original_filename", max_length=255, create_only=True),
        Field("conversion_original_type", choices=tuple(NATIVE), create_only=True),
        Field("conversion_status", read_only=True),
        Field("design_file", "uri", to=("design-file",), read_only=True),
        Field("replaced_models", "array", read_only=True, filter=False),
        Field("user_uri", "uri", attr="user_id", to=("users",), read_only=True),
    ),
    rules=service.ModelRules(),
)

design_file = Resource(
    "design-file",
    models.DesignFile,
    (
        *common_fields(),
        Field("name", max_length=255, sort=True),
        Field("format", choices=tuple(service.DESIGN_FORMATS), create_only=True),
        Field("type", choices=("single-mesh",), default="single-mesh", create_only=True),
        Field("product", "uri", attr="product_id", to=("product",)),
        Field("status", choices=tuple(s.value for s in models.DesignFileStatus), read_only=True),
        Field("virus_scan", choices=SCANS, read_only=True),
        Field("notes"),
        Field("content", read_only=True, filter=False),
        Field("upload_location", read_only=True, filter=False),
        Field("file_size", "integer", read_only=True),
        Field("user", "uri", attr="user_id", to=("users",), read_only=True),
        Field("vault_file_version", attr="vault_file_version_id", create_only=True, max_length=300),
    ),
    rules=service.DesignFileRules(),
)

document = Resource(
    "document",
    models.Document,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field(
            "related_table_name",
            choices=tuple(service.RELATED_KINDS),
            required=True,
            create_only=True,
        ),
        Field("related_uuid", required=True, create_only=True, max_length=64, filter=False),
        Field("related_resources", "array", read_only=True, filter=False),
        Field("auto_parse", "boolean", default=False, nullable=False),
        Field("content", read_only=True, filter=False),
        Field("upload_location", read_only=True, filter=False),
        Field("virus_scan", choices=SCANS, read_only=True),
        Field("archived", "datetime", read_only=True, sort=True),
        Field("previous_document", "uri", to=("document",), read_only=True),
        Field("previous_documents", "array", read_only=True, filter=False),
        Field("user", "uri", attr="user_id", to=("users",), read_only=True),
    ),
    rules=service.DocumentRules(),
    default_sort=(("created", True),),
)
