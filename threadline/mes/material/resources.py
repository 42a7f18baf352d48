"""The material room's resources with the reference's field names (mes-api-reference.txt
``/material-lot/``, ``/material-container/``, ``/material-batch/``, ``/material-batch-action/``
and the material-batch-linking block under it)."""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.material import actions, models, rules
from threadline.mes.resources import Field, Resource, common_fields
from threadline.mes.shop import catalog

UNITS = tuple(catalog.UNIT_CORES)
MATERIAL_TYPES = ("support", "base", "consumable", "raw_material")
CONTAINER_TYPES = ("disposable", "permanent", "dose", "overflow", "build", "cyclone")

material_lot = Resource(
    "material-lot",
    models.MaterialLot,
    (
        *common_fields(),
        Field("material", "uri", to=("material",), required=True, create_only=True),
        Field("name", max_length=255, sort=True),
        Field("delivery_id", max_length=255),
        Field("notes"),
        Field(
            "status",
            choices=tuple(s.value for s in models.LotStatus),
            default=models.LotStatus.received.value,
            nullable=False,
            sort=True,
        ),
        Field("number_of_containers", "integer", minimum=0, maximum=10_000, create_only=True),
        Field("size_of_container", "number", minimum=0, create_only=True),
        Field("full_quantity", "number", read_only=True),
        Field("quantity", "number", read_only=True, filter=False),
        Field("cost", "number", minimum=0),
        Field("units", choices=UNITS),
        Field("location", "uri", to=("location",)),
        Field("location_name", read_only=True, filter=False),
        Field("sub_location", "uri", to=("sub-location",)),
        Field("material_name", read_only=True, filter=False),
        Field("material_type", read_only=True, filter=False),
        Field("material_purchase_order", read_only=True, filter=False),
        Field("expiration_date", "datetime", sort=True),
        Field("estimated_delivery_date", "datetime"),
        Field("actual_delivery_date", "datetime"),
        Field("usage_cycles_limit", "integer", minimum=0),
        Field("initial_batches", "array", read_only=True, filter=False),
        Field("containers_available_for_initial_batches", "array", read_only=True, filter=False),
    ),
    rules=rules.LotRules(),
    label="material_lot",
)

material_container = Resource(
    "material-container",
    models.MaterialContainer,
    (
        *common_fields(),
        Field("material_lot", "uri", to=("material-lot",), read_only=True),
        Field("material", "uri", to=("material",), required=True, create_only=True),
        Field("current_batch", "uri", to=("material-batch",), read_only=True),
        Field("name", max_length=255, sort=True),
        Field("type", choices=CONTAINER_TYPES, default="permanent", nullable=False),
        Field("disposable", "boolean", default=False, nullable=False),
        Field(
            "status",
            choices=tuple(s.value for s in models.ContainerStatus),
            default=models.ContainerStatus.new.value,
            nullable=False,
        ),
        Field("quantity", "number", minimum=0, default=0.0, nullable=False, create_only=True),
        Field("full_quantity", "number", minimum=0, create_only=True),
        Field("tare_weight", "number", minimum=0),
        Field("location", "uri", to=("location",)),
        Field("sub_location", "uri", to=("sub-location",)),
        Field("is_docked", "boolean", default=False, nullable=False),
        Field("archived", "boolean", default=False, nullable=False),
        Field("used_in_batches", "array", read_only=True, filter=False),
        Field("is_available_for_initial_batches", "boolean", read_only=True, filter=False),
        Field("printer_type_relationships", "array", read_only=True, filter=False),
    ),
    rules=rules.ContainerRules(),
    methods=frozenset({"LIST", "GET", "POST", "PUT", "DELETE"}),
    label="material_container",
)

material_batch = Resource(
    "material-batch",
    models.MaterialBatch,
    (
        *(f for f in common_fields() if f.name != "bureau"),
        Field("bureau", "uri", attr="workspace_id", to=("bureau",), read_only=True),
        Field("material", "uri", to=("material",), read_only=True),
        Field("material_lot", "uri", to=("material-lot",), read_only=True),
        Field("material_lots", "array", read_only=True, filter=False),
        Field("materials", "array", read_only=True, filter=False),
        Field("initial_batch", "uri", to=("material-batch",), read_only=True),
        Field("is_initial_batch", "boolean", read_only=True, filter=False),
        Field("source_material_batches", "array", read_only=True, filter=False),
        Field("containers", "array", read_only=True, filter=False),
        Field("quantity", "number", read_only=True, sort=True),
        Field("reserved_quantity", "number", read_only=True),
        Field("quantity_available_for_actions", "number", read_only=True, filter=False),
        Field("full_quantity", "number", read_only=True),
        Field("units", read_only=True),
        Field("status", choices=tuple(s.value for s in models.BatchStatus), read_only=True),
        Field(
            "powder_quality",
            choices=tuple(s.value for s in models.PowderQuality),
            read_only=True,
        ),
        Field("usage_cycles", "integer", read_only=True, sort=True),
        Field("at_machine", "uri", to=("printer",), read_only=True),
        Field("location", "uri", to=("location",), read_only=True),
        Field("location_name", read_only=True, filter=False),
        Field("sub_location", "uri", to=("sub-location",), read_only=True),
        Field("material_in_containers", "boolean", read_only=True),
        Field("notes", read_only=True),
        Field("custom_status", read_only=True),
        Field("external_build_id", read_only=True),
    ),
    rules=rules.BatchRules(),
    methods=frozenset({"LIST", "GET"}),
    label="material batch",
)

material_batch_action = Resource(
    "material-batch-action",
    models.MaterialBatchAction,
    (
        *common_fields(),
        Field("action_type", choices=actions.ACTION_TYPES, required=True, sort=True),
        Field("source_batch", "uri", to=("material-batch",)),
        Field("destination_batch", "uri", to=("material-batch",), read_only=True),
        Field("quantity", "number", minimum=0),
        Field("metadata", "object", attr="metadata_", default=dict, filter=False),
        Field("notes"),
        Field("previous_action", "uri", to=("material-batch-action",), read_only=True),
        Field("from_container_action", "string", read_only=True, filter=False),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=rules.ActionRules(),
    methods=frozenset({"LIST", "GET"}),
    write_role=Role.engineer,
    label="material batch action",
)

material_batch_linking = Resource(
    "material-batch-linking",
    models.MaterialBatchLinking,
    (
        *common_fields(),
        Field("action", "uri", to=("material-batch-action",), read_only=True),
        Field("source_batch", "uri", to=("material-batch",), read_only=True),
        Field("destination_batch", "uri", to=("material-batch",), read_only=True),
        Field("quantity", "number", read_only=True),
        Field("containers", "array", read_only=True, filter=False),
    ),
    methods=frozenset({"LIST", "GET"}),
    label="material batch linking",
)
