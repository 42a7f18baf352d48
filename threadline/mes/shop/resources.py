"""The shop's resources as the reference names their fields (mes-api-reference.txt
``/location/``, ``/sub-location/``, ``/manufacturer/``, ``/material/``, ``/printer-type/``,
``/post-processor-type/``, ``/printer/``, ``/post-processor/``, ``/shipping/``, ``/downtime/``,
``/work-schedule/``, ``/labor/``). ``timedelta`` fields are whole seconds."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table

from threadline.auth.models import Role
from threadline.mes.resources import Field, Link, Resource, common_fields
from threadline.mes.shop import availability, catalog, machines, models, service

location = Resource(
    "location",
    models.Location,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("address", required=True),
        Field("contact", "uri", to=("users",)),
        Field("phone", max_length=64),
        Field("countries_served", "array"),
        Field("admin_group", max_length=2000),
        Field("standard_group", max_length=2000),
        Field("order_completion_note", default=""),
    ),
    rules=service.LocationRules(),
    write_role=Role.manager,
)

sub_location = Resource(
    "sub-location",
    models.SubLocation,
    (
        *common_fields(),
        Field("location", "uri", to=("location",), required=True, create_only=True),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("is_default", "boolean", default=False, nullable=False),
        Field("archived", "datetime"),
    ),
    rules=service.SubLocationRules(),
    write_role=Role.manager,
)

manufacturer = Resource(
    "manufacturer",
    models.Manufacturer,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("address"),
        Field("contact", "object"),
        Field("support", "object"),
        Field("notes"),
        Field("is_template", "boolean", default=False, nullable=False, create_only=True),
        Field("base_template", "uri", to=("manufacturer",), create_only=True),
        Field("custom_field_values", "array", default=list),
    ),
    rules=service.ManufacturerRules(),
    write_role=Role.manager,
)

# --- the catalog ------------------------------------------------------------------------------

MANUFACTURING_PROCESSES = (
    "Binder Jet", "NA", "SLA", "SLS", "FDM", "Polyjet", "Polyjet Anatomy", "EBM", "MJF", "DLP",
    "CLIP", "DMLS", "SDL", "SLM_DMLS", "LCD SLA", "CNC", "Press brake", "Laser cutting",
    "Waterjet",
)  # fmt: skip
MATERIAL_TYPES = ("support", "base", "consumable", "raw_material")
MATERIAL_FAMILIES = ("Priority", "Polymer", "Composite", "Metal", "Ceramic", "Wax", "Sand")
BATCHING_STRATEGIES = (
    "by_size_xyz", "by_size_xy", "by_number_of_parts", "match_previous", "single", "by_job",
)  # fmt: skip
REGIONS = (
    "africa", "antarctica", "asia", "australia", "europe", "north-america", "south-america",
)  # fmt: skip


def seconds(name: str, **kw: Any) -> Field:
    """A ``timedelta`` field of the reference: whole seconds, never negative."""
    return Field(name, "integer", minimum=0, **kw)


def money(name: str, **kw: Any) -> Field:
    return Field(name, "number", minimum=0, **kw)


def flow_times() -> tuple[Field, ...]:
    """Historic means that run tracking (next issue) maintains: read-only here."""
    return (seconds("flow_time", read_only=True), seconds("flow_time_queued", read_only=True))


def template_fields(kind: str) -> tuple[Field, ...]:
    return (
        Field("is_template", "boolean", default=False, nullable=False, create_only=True),
        Field("base_template", "uri", to=(kind,), create_only=True),
    )


material = Resource(
    "material",
    models.Material,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("type", required=True, choices=MATERIAL_TYPES, nullable=False, sort=True),
        Field("units", default="cm3", choices=tuple(catalog.UNIT_CORES), nullable=False),
        Field("units_measurement_core", read_only=True),
        money("cost"),
        Field("density", "number", minimum=0),
        Field("color", max_length=32),
        Field("color_opacity", "number", minimum=0, maximum=1, default=1.0, nullable=False),
        Field("manufacturer", "uri", to=("manufacturer",)),
        Field("manufacturing_process", choices=MANUFACTURING_PROCESSES),
        Field("material_family", choices=MATERIAL_FAMILIES),
        seconds("post_processing_seconds", default=0, nullable=False),
        Field("external_id", max_length=255),
        Field("external_datasheet_url", max_length=2000),
        Field("identifiers", "array", default=list),
        Field("is_prosper_integration_available", "boolean", default=False, nullable=False),
        Field("swatch", max_length=2000),
        Field("third_party_fulfillment", "boolean", default=False, nullable=False),
        Field("thumbnail", "object", read_only=True),
        Field("stock_locations", "uris", to=("location",), read_only=True, filter=False),
        *template_fields("material"),
        Field("custom_field_values", "array", default=list),
    ),
    rules=catalog.MaterialRules(),
    write_role=Role.manager,
)

printer_type = Resource(
    "printer-type",
    models.PrinterType,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("manufacturer", "uri", to=("manufacturer",)),
        Field(
            "materials",
            "uris",
            to=("material",),
            default=list,
            link=Link(
                cast(Table, models.PrinterTypeMaterial.__table__),
                "printer_type_id",
                "material_id",
                "position",
            ),
        ),
        Field("type", max_length=255),
        Field("manufacturing_process", choices=MANUFACTURING_PROCESSES),
        Field("build_volume", "object"),
        Field(
            "build_plate_shape",
            choices=("rectangular", "circular"),
            default="rectangular",
            nullable=False,
        ),
        Field(
            "build_packer_type",
            choices=("pack2d", "pack3d", "user_managed", "pack3d_premium", "autodesk_fusion"),
            default="pack2d",
            nullable=False,
        ),
        Field(
            "material_mode",
            choices=("single_material", "multiple_material_per_run"),
            default="single_material",
            nullable=False,
        ),
        Field("min_packing_distance", "number", minimum=0, default=5.0),
        money("running_cost_per_hour"),
        money("constant_overhead"),
        money("overhead_per_line_item"),
        Field("material_cost_scale_factor", "integer", minimum=0, default=1, nullable=False),
        Field("print_cost_scale_factor", "integer", minimum=0, default=1, nullable=False),
        seconds("time_before_print", default=0, nullable=False),
        seconds("time_after_print", default=0, nullable=False),
        *flow_times(),
        Field("in_progress_max", "integer", read_only=True),
        Field("edit_group", max_length=2000),
        Field("integrated", "boolean", default=False, nullable=False),
        Field("is_modular", "boolean", default=False, nullable=False),
        Field("infill_strategies", "array", default=list),
        Field("support_strategies", "array", default=list),
        Field("custom_print_time_estimator", max_length=2000),
        *template_fields("printer-type"),
        Field("active_printers", "uris", to=("printer",), read_only=True, filter=False),
    ),
    rules=catalog.PrinterTypeRules(),
    write_role=Role.manager,
    label="printer type",
)

post_processor_type = Resource(
    "post-processor-type",
    models.PostProcessorType,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        seconds("duration"),
        money("cost"),
        money("overhead_cost_per_run", default=0.0, nullable=False),
        money("overhead_cost_per_piece_in_run", default=0.0, nullable=False),
        Field(
            "batching_strategy",
            choices=BATCHING_STRATEGIES,
            default="match_previous",
            nullable=False,
        ),
        Field("number_of_parts", "integer", minimum=1),
        Field("build_volume", "object"),
        Field("min_packing_distance", "number", minimum=0),
        Field("in_progress_max", "integer", minimum=1, default=10, nullable=False),
        Field(
            "materials",
            "uris",
            to=("material",),
            default=list,
            link=Link(
                cast(Table, models.PostProcessorTypeMaterial.__table__),
                "post_processor_type_id",
                "material_id",
                "position",
            ),
        ),
        Field("manufacturer", "uri", to=("manufacturer",)),
        Field("edit_group", max_length=2000),
        Field("special_type", choices=("non_conformance_review",)),
        Field("integrated", "boolean", default=False, nullable=False),
        Field("is_modular", "boolean", default=False, nullable=False),
        Field("archived", "datetime"),
        *flow_times(),
        Field(
            "active_post_processors", "uris", to=("post-processor",), read_only=True, filter=False
        ),
        Field(
            "archived_post_processors", "uris", to=("post-processor",), read_only=True, filter=False
        ),
    ),
    rules=catalog.PostProcessorTypeRules(),
    write_role=Role.manager,
)

# --- the machines -----------------------------------------------------------------------------

printer = Resource(
    "printer",
    models.Printer,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("printer_type", "uri", to=("printer-type",), required=True),
        Field("location", "uri", to=("location",), required=True),
        Field("sub_location", "uri", to=("sub-location",)),
        Field("queue", "uris", to=("run",), read_only=True, filter=False),
        Field("in_progress", "uris", to=("run",), read_only=True, filter=False),
        Field("in_progress_max", "integer", read_only=True),
        Field("available_at", "datetime", read_only=True, filter=False),
        Field("archived", "datetime"),
        Field("modeler", max_length=2000),
        *flow_times(),
        Field("updated_by", "uri", to=("users",), read_only=True),
    ),
    rules=machines.PrinterRules(),
    write_role=Role.manager,
)

post_processor = Resource(
    "post-processor",
    models.PostProcessor,
    (
        *common_fields(),
        Field("name", max_length=255, sort=True),
        Field("post_processor_type", "uri", to=("post-processor-type",), required=True),
        Field("post_processor_type_name", read_only=True, filter=False),
        Field("post_processor_special_type", read_only=True, filter=False),
        Field("location", "uri", to=("location",)),
        Field("location_name", read_only=True, filter=False),
        Field("sub_location", "uri", to=("sub-location",)),
        Field("is_service", "boolean", default=False, nullable=False),
        seconds("duration"),
        Field("queue", "uris", to=("run",), read_only=True, filter=False),
        Field("in_progress", "uris", to=("run",), read_only=True, filter=False),
        Field("in_progress_max", "integer", read_only=True, filter=False),
        Field("archived", "datetime"),
        Field("modeler", max_length=2000),
        *flow_times(),
        Field("updated_by", "uri", to=("users",), read_only=True),
    ),
    rules=machines.PostProcessorRules(),
    write_role=Role.manager,
)

shipping = Resource(
    "shipping",
    models.Shipping,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("region", required=True, choices=REGIONS, nullable=False, sort=True),
        money("cost"),
        Field("batching_strategy", choices=BATCHING_STRATEGIES, default="single", nullable=False),
        Field("number_of_parts", "integer", minimum=1),
        Field("build_volume", "object"),
        Field("min_packing_distance", "number", minimum=0),
        Field("in_progress", "uris", to=("run",), read_only=True, filter=False),
        Field("in_progress_max", "integer", read_only=True),
        *flow_times(),
    ),
    rules=machines.ShippingRules(),
    write_role=Role.manager,
)

# --- when the machines work -------------------------------------------------------------------

downtime = Resource(
    "downtime",
    models.Downtime,
    (
        *common_fields(),
        Field("printer", "uri", to=("printer",)),
        Field("post_processor", "uri", to=("post-processor",)),
        Field("shipping", "uri", to=("shipping",)),
        Field("description", required=True, nullable=False),
        Field("start", "datetime", required=True, nullable=False, sort=True),
        Field("finish", "datetime", required=True, nullable=False, sort=True),
        Field("status", choices=("scheduled", "in_progress", "complete")),
        Field("assigned_user", "uri", to=("users",)),
        Field("custom_field_values", "array", default=list),
    ),
    rules=availability.DowntimeRules(),
    write_role=Role.manager,
    default_sort=(("start", False),),
)

work_schedule = Resource(
    "work-schedule",
    models.WorkSchedule,
    (
        *common_fields(),
        Field("printer_type", "uri", to=("printer-type",)),
        Field("post_processor_type", "uri", to=("post-processor-type",)),
        Field("type", required=True, choices=("non_stop", "calendar"), nullable=False),
        Field("week", "object", default=dict, nullable=False),
        Field("utc_offset", "number", minimum=-12, maximum=14, default=0.0, nullable=False),
    ),
    rules=availability.WorkScheduleRules(),
    write_role=Role.manager,
    label="work schedule",
)

labor = Resource(
    "labor",
    models.Labor,
    (
        *common_fields(),
        Field("printer_type", "uri", to=("printer-type",)),
        Field("post_processor_type", "uri", to=("post-processor-type",)),
        Field("type", required=True, choices=("labor_to_start", "labor_to_run"), nullable=False),
        seconds("duration", required=True, nullable=False),
    ),
    rules=availability.LaborRules(),
    write_role=Role.manager,
)
