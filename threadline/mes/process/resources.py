"""Process steps and workflows as the reference names their fields (mes-api-reference.txt
``/process-step/``, ``/workflow/``).

Read-only fields (``workstation_type_uri`` is written through its rules, ``workflows``,
``step_positions``, ``flow_time*`` of a workflow, ``usage_state``, ``pieces``) are computed a
page at a time by :mod:`threadline.mes.process.service`.
"""

from __future__ import annotations

from threadline.mes.process import models, service, steps
from threadline.mes.resources import Field, Link, Resource, common_fields

REQUIREMENTS = tuple(r.value for r in models.Requirement)
WORKSTATION_TYPES = ("printer-type", "post-processor-type", "shipping")
# A flow time may be anything up to ten years, in seconds.
TEN_YEARS = 10 * 366 * 24 * 3600

process_step = Resource(
    "process-step",
    models.ProcessStep,
    (
        *common_fields(),
        Field("name", max_length=255, sort=True),
        # A printer-type, post-processor-type or shipping URI: polymorphic, so a string the
        # rules parse into one of three foreign keys.
        Field("workstation_type_uri", required=True, max_length=2000, filter=False),
        Field("workstation", max_length=2000, filter=False),
        Field("workflows", "uris", to=("workflow",), read_only=True, filter=False),
        Field("step_positions", "array", read_only=True, filter=False),
        Field("notes", choices=REQUIREMENTS, default="optional", nullable=False),
        Field("success", choices=REQUIREMENTS, default="optional", nullable=False),
        Field("upload", choices=REQUIREMENTS, default="optional", nullable=False),
        Field("tracking_id", choices=REQUIREMENTS, nullable=False),
        Field("is_service", "boolean", default=False, nullable=False),
        Field("shipping_direction", choices=tuple(d.value for d in models.ShippingDirection)),
        Field("source_process_step", "uri", to=("process-step",), create_only=True),
        Field("flow_time", "number", minimum=0, maximum=TEN_YEARS, filter=False),
        Field("flow_time_queued", "number", minimum=0, maximum=TEN_YEARS, filter=False),
        Field("additive", "object", default=dict),
    ),
    rules=steps.ProcessStepRules(),
    label="process_step",
)

workflow = Resource(
    "workflow",
    models.Workflow,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field(
            "type",
            choices=tuple(t.value for t in models.WorkflowType),
            default=models.WorkflowType.additive_manufacturing.value,
            nullable=False,
        ),
        Field(
            "process_steps",
            "uris",
            to=("process-step",),
            default=list,
            link=Link(models.workflow_process_steps, "workflow_id", "process_step_id", "position"),
        ),
        Field(
            "materials",
            "uris",
            to=("material",),
            default=list,
            link=Link(models.workflow_materials, "workflow_id", "material_id", "position"),
        ),
        Field(
            "labels",
            "uris",
            to=("label",),
            default=list,
            link=Link(models.workflow_labels, "workflow_id", "label_id", "position"),
        ),
        Field("integrated", "boolean", default=False, nullable=False),
        Field("line_item", "uri", to=("line-item",), create_only=True),
        Field("pieces", "uris", to=("piece",), read_only=True, filter=False),
        Field("source_workflow", "uri", to=("workflow",), create_only=True),
        Field("specimens", "array"),
        # Written only as "archived" (PUT archives); otherwise computed from the line items.
        Field("usage_state", choices=tuple(s.value for s in models.UsageState), filter=False),
        Field("flow_time", "number", read_only=True, filter=False),
        Field("flow_time_queued", "number", read_only=True, filter=False),
        Field("updated_by", "uri", to=("users",), read_only=True),
    ),
    rules=service.WorkflowRules(),
)
