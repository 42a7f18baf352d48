"""The reports as the reference names their fields (mes-api-reference.txt
``/traceability-report/``, ``/material-batch-traceability-report/``): LIST, POST, GET.

``bureau``, ``content``, ``created``, ``status``, ``uri`` and ``user`` are the system's (the
reference marks some of them "Required" on POST; what is sent for them is ignored, as for
every read-only field). ``content`` is the signed 5-minute link of the printable HTML once the
report is ``complete``; ``content_json`` (the same report as JSON) and ``error`` (why it
failed) are Threadline's additions.
"""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.floor.models import JobStatus
from threadline.mes.floor.reports import models, service
from threadline.mes.resources import Field, Resource, common_fields

STATUSES = tuple(s.value for s in JobStatus)


def _document_fields() -> tuple[Field, ...]:
    return (
        Field("status", choices=STATUSES, read_only=True),
        Field("content", read_only=True, filter=False),
        Field("user", "uri", to=("users",), read_only=True),
        # Not in the reference: the JSON form of the document, and why a build failed
        Field("content_json", read_only=True, filter=False),
        Field("error", read_only=True, filter=False),
    )


traceability_report = Resource(
    service.PIECE_KIND,
    models.TraceabilityReport,
    (
        *common_fields(),
        Field("piece", "uri", to=("piece",), required=True, create_only=True),
        Field("filters", "array", required=True, create_only=True, filter=False),
        *_document_fields(),
    ),
    rules=service.ReportRules(),
    methods=frozenset({"LIST", "GET", "POST"}),
    # asking for a report reads what a viewer may read (the trace)
    write_role=Role.viewer,
    default_sort=(("created", True),),
    label="report",  # "The requested report cannot be found."
)

material_batch_traceability_report = Resource(
    service.BATCH_KIND,
    models.MaterialBatchTraceabilityReport,
    (
        *common_fields(),
        Field("material_batch", "uri", to=("material-batch",), required=True, create_only=True),
        *_document_fields(),
    ),
    rules=service.BatchReportRules(),
    methods=frozenset({"LIST", "GET", "POST"}),
    write_role=Role.viewer,
    default_sort=(("created", True),),
    label="material batch report",  # "The requested material batch report cannot be found."
)
