"""The floor's resources as the reference names their fields (mes-api-reference.txt ``/run/``,
``/run-actuals/``, ``/run-actuals-additive/``, ``/piece-actuals/``, ``/time-entry/``,
``/shipment/``, ``/create-runs/``, ``/run-transformation/``).

A run's status, its workstation type and its queue place are the system's: a run changes
status through ``PUT {"status": ...}`` (threadline/mes/floor/runs.py walks the table of
threadline/mes/floor/states.py), never by a field write. ``timedelta`` fields are seconds.
"""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.floor import models, rules, transformations
from threadline.mes.floor.models import JobStatus, Operation, RunStatus, ShipmentStatus
from threadline.mes.resources import Field, Resource, common_fields
from threadline.mes.shop.resources import seconds

BATCH_TYPES = (
    "by_size_xyz",
    "by_size_xy",
    "by_number_of_parts",
    "match_previous",
    "single",
    "by_job",
    "by_order",
)


def _choices(enum: type[RunStatus] | type[Operation] | type[JobStatus]) -> tuple[str, ...]:
    return tuple(e.value for e in enum)


run = Resource(
    "run",
    models.Run,
    (
        *common_fields(),
        Field("name", max_length=255, sort=True),
        Field("notes"),
        Field("operation", choices=_choices(Operation), create_only=True),
        Field("status", choices=_choices(RunStatus), read_only=True, sort=True),
        Field("printer", "uri", to=("printer",)),
        Field("printer_type", "uri", to=("printer-type",), read_only=True),
        Field("post_processor", "uri", to=("post-processor",)),
        Field("post_processor_type", "uri", to=("post-processor-type",), read_only=True),
        Field("shipping", "uri", to=("shipping",), create_only=True),
        Field("location", "uri", to=("location",), read_only=True),
        Field("batch_type", choices=BATCH_TYPES, default="match_previous", nullable=False),
        Field("pieces_locked", "boolean", default=True, nullable=False),
        Field("filled_by_batch_type_prints", "boolean", read_only=True),
        Field("priority", "integer", default=65, minimum=0, maximum=100, nullable=False, sort=True),
        Field("error", read_only=True),
        Field("custom_field_values", "array"),
        Field("prints", "uris", to=("print",), read_only=True, filter=False),
        Field("orders", "uris", to=("order",), read_only=True, filter=False),
        Field("customer_id", read_only=True, filter=False),
        Field("export_controlled", "boolean", read_only=True, filter=False),
        Field("run_documents", "array", read_only=True, filter=False),
        Field("service_provider_jobs", "array", read_only=True, filter=False),
        Field("workstation_name", read_only=True, filter=False),
        Field("workstation_type_name", read_only=True, filter=False),
        Field("workstation_uri", read_only=True, filter=False),
        Field("workstation_queue_position", "integer", attr="queue_position", read_only=True),
        seconds("estimated_duration"),
        Field("estimated_start", "datetime", read_only=True, sort=True),
        Field("estimated_end", "datetime", read_only=True, sort=True),
    ),
    rules=rules.RunRules(),
    # POST and PUT are the floor room's own routes (threadline/mes/floor/api.py)
    methods=frozenset({"LIST", "GET", "DELETE"}),
    default_sort=(("created", True),),
)

run_actuals = Resource(
    "run-actuals",
    models.RunActual,
    (
        *common_fields(bureau=False),
        Field("run", "uri", to=("run",), read_only=True),
        Field("previous", "uri", to=("run-actuals",), read_only=True),
        Field("start_in_progress_time", "datetime", read_only=True, sort=True),
        Field("end_in_progress_time", "datetime", read_only=True, sort=True),
        Field("consumable_cost", "number", minimum=0),
        Field("machine_cost", "number", minimum=0),
        Field("workstation_cost", "number", minimum=0),
        Field("total_cost", "number", read_only=True),
        Field("user", "uri", to=("users",), read_only=True),
        Field("edited_by", "uri", to=("users",), read_only=True),
        Field("system_notes", read_only=True),
        Field("powder", "object"),
        Field("additive", "object", read_only=True, filter=False),
    ),
    rules=rules.RunActualRules(),
    methods=frozenset({"LIST", "GET", "PUT"}),
    default_sort=(("start_in_progress_time", True),),
)

run_actuals_additive = Resource(
    "run-actuals-additive",
    models.RunActualAdditive,
    (
        *common_fields(bureau=False),
        Field("run_actual", "uri", to=("run-actuals",), required=True, create_only=True),
        Field("material_batch", "uri", to=("material-batch",), create_only=True),
        Field("base_material_used", "number", minimum=0, create_only=True),
        Field("support_material_used", "number", minimum=0, create_only=True),
    ),
    rules=rules.RunActualAdditiveRules(),
    methods=frozenset({"LIST", "GET", "POST"}),
)

piece_actuals = Resource(
    "piece-actuals",
    models.PieceActual,
    (
        *common_fields(bureau=False),
        Field("piece", "uri", to=("piece",), read_only=True),
        Field("start_in_progress_time", "datetime", read_only=True, sort=True),
        Field("end_in_progress_time", "datetime", read_only=True, sort=True),
        Field("per_step_details", "array", read_only=True, filter=False),
        Field("total_cost", "number", read_only=True),
    ),
    methods=frozenset({"LIST", "GET"}),
)

time_entry = Resource(
    "time-entry",
    models.TimeEntry,
    (
        *common_fields(bureau=False),
        Field(
            "category",
            choices=("attending", "machine-running", "in-progress", "on-hold"),
            required=True,
        ),
        Field("related_table_name", choices=("run", "prep_task_record"), required=True),
        Field("related_uuid", required=True, max_length=36),
        Field("start_time", "datetime", required=True, sort=True),
        Field("end_time", "datetime", sort=True),
        Field("notes"),
        Field("created_by", "uri", to=("users",), read_only=True),
        Field("completed_by", "uri", to=("users",), read_only=True),
    ),
    rules=rules.TimeEntryRules(),
    write_role=Role.viewer,
    default_sort=(("start_time", True),),
)

shipment = Resource(
    "shipment",
    models.Shipment,
    (
        *common_fields(),
        Field("run", "uri", to=("run",), read_only=True),
        Field("order", "uri", to=("order",), read_only=True),
        Field("name", max_length=255, sort=True),
        Field("status", choices=tuple(s.value for s in ShipmentStatus), nullable=False),
        Field("shipping_partner", max_length=255),
        Field("tracking_number", max_length=255),
        Field("shipper_url", max_length=2000),
        Field("origin_address", "object"),
        Field("recipient_address", "object"),
        Field("billing_address", "object"),
        Field("estimated_shipment_date", "datetime"),
        Field("estimated_delivery_date", "datetime"),
        Field("actual_shipment_date", "datetime"),
        Field("actual_delivery_date", "datetime"),
        Field("estimated_cost", "number", read_only=True, filter=False),
        Field("actual_cost", "number", minimum=0),
        Field("currency", max_length=3),
        seconds("duration"),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=rules.ShipmentRules(),
    methods=frozenset({"LIST", "GET", "PUT"}),
)

create_runs = Resource(
    "create-runs",
    models.CreateRuns,
    (
        *common_fields(),
        Field("status", choices=_choices(JobStatus), read_only=True),
        Field("pieces", "array", required=True, create_only=True, filter=False),
        Field("primary_workstation", required=True, create_only=True, attr="primary_workstation"),
        Field("run_name", max_length=255, create_only=True),
        Field("priority", "integer", default=65, minimum=0, maximum=100, create_only=True),
        Field("do_build_volume_check", "boolean", default=True, create_only=True),
        Field("locked", "boolean", default=True, create_only=True),
        Field(
            "on_packing_process_failure",
            choices=("ignore", "notify", "error"),
            default="ignore",
            create_only=True,
        ),
        Field(
            "on_packing_process_success",
            choices=("silent", "notify"),
            default="silent",
            create_only=True,
        ),
        seconds("primary_run_duration", create_only=True),
        Field("base_material_used", "number", minimum=0, create_only=True),
        Field("notes", create_only=True),
        Field("finished", "datetime", read_only=True),
        Field("primary_run", "uri", to=("run",), read_only=True),
        Field("resulting_runs", "array", read_only=True, filter=False),
        Field("unfitted_pieces", "array", read_only=True, filter=False),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=rules.CreateRunsRules(),
    methods=frozenset({"LIST", "GET", "POST"}),
    default_sort=(("created", True),),
)

run_transformation = Resource(
    "run-transformation",
    models.RunTransformation,
    (
        *common_fields(),
        Field("type", choices=transformations.TYPES, required=True, create_only=True),
        Field("status", choices=_choices(JobStatus), read_only=True),
        Field("source_run", "uri", to=("run",), required=True, create_only=True),
        Field("prints", "array", required=True, create_only=True, filter=False),
        Field("process_steps", "array", create_only=True, filter=False),
        Field("split_piece_schedules", "boolean", default=False, create_only=True),
        Field("notes", create_only=True),
        Field("destination_runs", "array", read_only=True, filter=False),
        Field("custom_workflow", "uri", to=("workflow",), read_only=True),
        Field("line_items", "array", read_only=True, filter=False),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=transformations.RunTransformationRules(),
    methods=frozenset({"LIST", "GET", "POST"}),
    default_sort=(("created", True),),
)
