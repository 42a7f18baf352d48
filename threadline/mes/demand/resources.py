"""Orders, products, line items, pieces and prints as the reference names their fields
(mes-api-reference.txt ``/order/``, ``/product/``, ``/line-item/``, ``/piece/``, ``/print/``).

Fields marked read-only are computed (``piece_count``, ``line_item_status``, ...) by the rules
in :mod:`threadline.mes.demand.rules`, a page at a time.
"""

from __future__ import annotations

from threadline.mes.demand import models, quotes, rules
from threadline.mes.resources import Field, Resource, common_fields

LINE_ITEM_STATUSES = tuple(s.value for s in models.LineItemStatus)
ITEM_TYPES = tuple(t.value for t in models.ItemType)
ALL = frozenset({"LIST", "GET", "POST", "PUT", "DELETE"})
PLANNING = ("Pending", "In Progress", "Complete")

order = Resource(
    "order",
    models.Order,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("status", choices=tuple(s.value for s in models.OrderStatus), sort=True),
        Field("line_items", "uris", to=("line-item",), read_only=True, filter=False),
        Field("customer_id", max_length=255),
        Field("customer_name", max_length=255),
        Field("customer_email", max_length=255),
        Field("customer_po", max_length=255),
        Field("customer_go", choices=("Yes", "No")),
        Field("external_id", max_length=255),
        Field("application_type", choices=("prototype", "tooling", "end_component")),
        Field("order_type", choices=("benchmark", "commercial", "r-d", "sample-free", "timestudy")),
        Field("ip_sensitivity", max_length=255),
        Field("region", max_length=255),
        Field("country", max_length=3),
        Field("callback_url", max_length=2000),
        Field("callback_method", max_length=16),
        Field("order_owner", "uri", to=("users",)),
        Field("order_owner_name", read_only=True, filter=False),
        Field("user", "uri", to=("users",), read_only=True),
        Field("created_by", read_only=True, filter=False),
        Field("location", "uri", to=("location",)),
        Field("locations_available", "array", default=list),
        Field("due_date", "datetime", sort=True),
        Field("priority", "integer", default=65, minimum=0, maximum=100, nullable=False, sort=True),
        Field("estimates", "object"),
        Field("shipping", "object"),
        Field("shipping_type", read_only=True, filter=False),
        Field(
            "shipping_grouping",
            choices=("by_batching_strategy", "by_order"),
            default="by_batching_strategy",
            nullable=False,
        ),
        Field("quote_required", "boolean", default=False, nullable=False),
        Field("quote_approved", "boolean", read_only=True),
        Field("special_processing_required", "boolean", default=False, nullable=False),
        Field("template_name", max_length=255, create_only=True),
        Field("is_template", "boolean", read_only=True, filter=False),
        Field("notes"),
        Field("error", read_only=True),
        Field("build_file_status", choices=PLANNING),
        Field("planning_status", choices=PLANNING),
        Field("piece_count", "integer", read_only=True, filter=False),
        Field("custom_field_values", "array", default=list),
    ),
    rules=rules.OrderRules(),
    methods=frozenset({"LIST", "GET", "PUT", "DELETE"}),  # POST: api.create_order
)

product = Resource(
    "product",
    models.Product,
    (
        *common_fields(),
        Field("order", "uri", to=("order",), required=True, create_only=True),
        Field("model_library", max_length=2000),
        Field("no_model_upload", "boolean", default=False, nullable=False),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=rules.ProductRules(),
)

line_item = Resource(
    "line-item",
    models.LineItem,
    (
        *common_fields(),
        Field("order", "uri", to=("order",), create_only=True),
        Field("product", "uri", to=("product",), create_only=True),
        Field("status", choices=LINE_ITEM_STATUSES, sort=True),
        Field("type", choices=ITEM_TYPES, default="product", nullable=False, create_only=True),
        Field("quantity", "integer", required=True, minimum=1, maximum=10_000, sort=True),
        Field("model", "uri", to=("model",)),
        Field("no_model_upload", "boolean", default=False, nullable=False),
        Field("part_version", attr="part_version_id", max_length=300, filter=False),
        Field("workflow", "uri", to=("workflow",)),
        Field(
            "workflow_type",
            choices=("additive_manufacturing", "specimen", "preparative", "powder_manufacturing"),
        ),
        Field("prep_workflow", max_length=2000),
        Field("name", max_length=255, sort=True),
        Field("customer_id", max_length=255),
        Field("priority", "integer", default=65, minimum=0, maximum=100, nullable=False, sort=True),
        Field("assigned_user", "uri", to=("users",)),
        Field("notes"),
        Field("additive", "object", filter=False),
        Field("powder", "object"),
        Field("estimates", "object"),
        Field("estimates_additive", "object"),
        Field("estimates_powder", "object"),
        Field("is_relevant_estimation", "boolean", default=True, nullable=False),
        Field("additional_costs", "array", default=list),
        Field("custom_field_values", "array", default=list),
        Field("design_time", "integer", minimum=0),
        Field("autorun", "boolean", default=False, nullable=False),
        Field("error", read_only=True),
        Field("completed_quantity", "integer", read_only=True, filter=False),
        Field("piece_count", "integer", read_only=True, filter=False),
    ),
    rules=rules.LineItemRules(),
    methods=frozenset({"LIST", "GET", "PUT"}),  # POST, DELETE: api
)

piece = Resource(
    "piece",
    models.Piece,
    (
        *common_fields(),
        Field("line_item", "uri", to=("line-item",), read_only=True),
        Field("order", "uri", to=("order",), read_only=True),
        Field("workflow", "uri", to=("workflow",), read_only=True),
        Field("copy", "integer", read_only=True, sort=True),
        Field("name", max_length=300, sort=True),
        Field("type", choices=ITEM_TYPES, read_only=True),
        Field("status", choices=tuple(s.value for s in models.PieceStatus), sort=True),
        Field("priority", "integer", minimum=0, maximum=100, nullable=False, sort=True),
        Field("current_step_position", "integer", read_only=True),
        Field("current_print", "uri", to=("print",), read_only=True, filter=False),
        Field("layer_thickness", "number", minimum=1e-9, maximum=1 - 1e-9),
        Field("external_print_analysis", "object"),
        Field("notes", read_only=True),
        Field("remanufactured_to", "uri", to=("piece",), read_only=True),
        Field("reworked", "boolean", read_only=True, filter=False),
        Field("line_item_status", choices=LINE_ITEM_STATUSES, read_only=True, filter=False),
        Field("is_line_item_deleted", "boolean", read_only=True, filter=False),
        Field("is_order_deleted", "boolean", read_only=True, filter=False),
        Field("location", "uri", to=("location",), read_only=True, filter=False),
        Field("material", "uri", to=("material",), read_only=True, filter=False),
        Field("material_name", read_only=True, filter=False),
        Field("model", "uri", to=("model",), read_only=True, filter=False),
        Field("no_model_upload", "boolean", read_only=True, filter=False),
        Field("part_version", read_only=True, filter=False),
        Field("order_name", read_only=True, filter=False),
        Field("order_due_date", "datetime", read_only=True, filter=False),
        Field("owner", "uri", to=("users",), read_only=True, filter=False),
        Field("size", "integer", read_only=True, filter=False),
    ),
    rules=rules.PieceRules(),
    methods=frozenset({"LIST", "GET", "PUT"}),
)

print_ = Resource(
    "print",
    models.Print,
    (
        *common_fields(),
        Field("piece", "uri", to=("piece",), read_only=True),
        Field("line_item", "uri", to=("line-item",), read_only=True),
        # The piece's order, workflow, copy: rules.PrintRules shows, filters, sorts through it
        Field("order", "uri", to=("order",), read_only=True, filter=False),
        Field("workflow", "uri", to=("workflow",), read_only=True, filter=False),
        Field("process_step", "uri", to=("process-step",), read_only=True),
        Field("process_step_position", "integer", read_only=True, sort=True),
        Field("copy", "integer", read_only=True, filter=False),
        Field("name", read_only=True, filter=False),
        Field("status", choices=tuple(s.value for s in models.PrintStatus), read_only=True),
        Field(
            "order_step_status",
            choices=("complete", "error", "new", "processing"),
            read_only=True,
            filter=False,
        ),
        Field("run", "uri", to=("run",), read_only=True),
        Field("printer", attr="printer_id", read_only=True),
        Field("remanufactured_to", attr="remanufactured_to_id", read_only=True, filter=False),
        Field("type", choices=ITEM_TYPES, read_only=True, filter=False),
        Field("base_material", read_only=True, filter=False),
        Field("material_name", read_only=True, filter=False),
        Field("location", read_only=True, filter=False),
        Field("layer_thickness", "number", read_only=True, filter=False),
        Field("order_name", read_only=True, filter=False),
        Field("order_due_date", read_only=True, filter=False),
        Field("piece_priority", "integer", read_only=True, filter=False),
        Field("size", "integer", read_only=True, filter=False),
    ),
    rules=rules.PrintRules(),
    methods=frozenset({"LIST", "GET"}),
)

order_quote = Resource(
    "order-quote",
    models.OrderQuote,
    (
        *common_fields(),
        Field("order", "uri", to=("order",), required=True, create_only=True),
        Field("number", max_length=255),
        Field("approved", "boolean", default=False, nullable=False),
        Field("customer_po", max_length=255),
        Field(
            "discount_type",
            choices=tuple(t.value for t in models.DiscountType),
            default="amount",
            nullable=False,
        ),
        Field("discount_value", "number", minimum=0),
        Field("markup_value", "number", default=0.0, nullable=False, minimum=0),
        Field("notes"),
        Field("status", choices=tuple(s.value for s in models.QuoteStatus), read_only=True),
        Field("content", read_only=True, filter=False),
        # Not in the reference: why a render failed, and the total the document states
        Field("error", read_only=True, filter=False),
        Field("total", "number", read_only=True, filter=False),
    ),
    rules=quotes.OrderQuoteRules(),
    methods=frozenset({"LIST", "GET", "POST", "PUT"}),
    label="report",  # "The requested report cannot be found."
)
