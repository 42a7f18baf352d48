"""ORM models of the MES demand room: what a customer orders, down to the single physical piece
and its per-step prints (mes-api-reference.txt ``/order/``, ``/product/``, ``/line-item/``,
``/piece/``, ``/print/``).

Statuses are VARCHAR columns with a CHECK of the reference's values; which changes are allowed
is not here but in :mod:`threadline.mes.demand.states`. Pieces carry their order and line item
(denormalised, never changed after creation) so the floor's lists filter them by one index
instead of a join; prints carry their piece and line item and show the rest through the piece.
An order's quotes (``/order-quote/``) are rendered documents with a durable job's status.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class OrderStatus(enum.StrEnum):
    calculating_estimates = "calculating_estimates"
    cancelled = "cancelled"
    confirmed = "confirmed"
    complete = "complete"
    error = "error"
    new = "new"
    pending = "pending"
    in_preparation = "in-preparation"
    processing = "processing"
    post_processing = "post-processing"
    printing = "printing"
    shipping = "shipping"
    cloning = "cloning"


class LineItemStatus(enum.StrEnum):
    """In the reference's order, which is also the order of progress (``<= pending``)."""

    new = "new"
    calculating_estimates = "calculating_estimates"
    pending = "pending"
    in_preparation = "in-preparation"
    confirmed = "confirmed"
    printing = "printing"
    post_processing = "post-processing"
    shipping = "shipping"
    error = "error"
    cancelled = "cancelled"
    complete = "complete"


class PieceStatus(enum.StrEnum):
    new = "new"
    confirmed = "confirmed"
    queued_for_printing = "queued-for-printing"
    printing = "printing"
    queued_for_post_processing = "queued-for-post-processing"
    post_processing = "post-processing"
    queued_for_shipping = "queued-for-shipping"
    shipping = "shipping"
    complete = "complete"
    incomplete = "incomplete"
    cancelled = "cancelled"
    error = "error"


class PrintStatus(enum.StrEnum):
    """The reference gives no enum ("print … with created status"); these are the steps a run
    takes a print through (next issue), mapped onto ``order_step_status`` for display."""

    created = "created"
    queued = "queued"
    in_progress = "in-progress"
    complete = "complete"
    error = "error"
    cancelled = "cancelled"


class ItemType(enum.StrEnum):
    product = "product"
    specimen = "specimen"
    waste = "waste"
    tooling = "tooling"


def status_column(cls: type[enum.Enum], name: str) -> Enum:
    """VARCHAR(32) + named CHECK: the statuses are longer than ``db.enum_column`` allows."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Order(BureauOwned, Base):
    """A customer's request to the bureau; its status aggregates its line items'."""

    __tablename__ = "mes_orders"
    __table_args__ = (Index("ix_mes_orders_workspace_created", "workspace_id", "created_at"),)

    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[OrderStatus] = mapped_column(
        status_column(OrderStatus, "mes_order_status"), default=OrderStatus.new
    )
    customer_id: Mapped[str | None] = mapped_column(String(255))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(255))
    customer_po: Mapped[str | None] = mapped_column(String(255))
    customer_go: Mapped[str | None] = mapped_column(String(3))
    external_id: Mapped[str | None] = mapped_column(String(255))
    application_type: Mapped[str | None] = mapped_column(String(32))
    order_type: Mapped[str | None] = mapped_column(String(32))
    ip_sensitivity: Mapped[str | None] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(3))
    callback_url: Mapped[str | None] = mapped_column(Text)
    callback_method: Mapped[str | None] = mapped_column(String(16))
    order_owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="SET NULL")
    )
    locations_available: Mapped[list[Any] | None] = mapped_column()
    due_date: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=65)
    estimates: Mapped[dict[str, Any] | None] = mapped_column()
    shipping: Mapped[dict[str, Any] | None] = mapped_column()
    shipping_grouping: Mapped[str] = mapped_column(String(32), default="by_batching_strategy")
    quote_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Set by the order quote when the customer accepts it (/order-quote/: "the parent
    # 'order.quote_approved' value is set to True"); confirming needs it when quote_required.
    quote_approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    special_processing_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    template_name: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    build_file_status: Mapped[str | None] = mapped_column(String(16))
    planning_status: Mapped[str | None] = mapped_column(String(16))
    custom_field_values: Mapped[list[Any] | None] = mapped_column()


class Product(BureauOwned, Base):
    """The design of a thing shipped to a customer: child of an order, parent of line items."""

    __tablename__ = "mes_products"

    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_orders.id", ondelete="CASCADE"), index=True
    )
    model_library: Mapped[str | None] = mapped_column(String(2000))
    no_model_upload: Mapped[bool] = mapped_column(default=False, server_default=false())
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LineItem(BureauOwned, Base):
    """A request for one model printed ``quantity`` times in one material on one workflow."""

    __tablename__ = "mes_line_items"
    __table_args__ = (
        Index("ix_mes_line_items_workspace_type", "workspace_id", "type", "created_at"),
    )

    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_orders.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_products.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[LineItemStatus] = mapped_column(
        status_column(LineItemStatus, "mes_line_item_status"), default=LineItemStatus.new
    )
    type: Mapped[ItemType] = mapped_column(
        status_column(ItemType, "mes_line_item_type"), default=ItemType.product
    )
    quantity: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(default=65)
    notes: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # Workflows, models and materials in use are refused a delete by their rooms' rules; the
    # keys make that hold under concurrent writes too (a delete that races them fails, 409).
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_workflows.id"), index=True
    )
    workflow_type: Mapped[str | None] = mapped_column(String(32))
    prep_workflow: Mapped[str | None] = mapped_column(String(2000))
    model_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mes_models.id"), index=True)
    base_material_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mes_materials.id"))
    support_material_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mes_materials.id"))
    # The native part revision this line item builds (the digital thread); a later release of
    # the part never moves it.
    part_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("part_versions.id", ondelete="SET NULL"), index=True
    )
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    additive: Mapped[dict[str, Any] | None] = mapped_column()
    powder: Mapped[dict[str, Any] | None] = mapped_column()
    estimates: Mapped[dict[str, Any] | None] = mapped_column()
    estimates_additive: Mapped[dict[str, Any] | None] = mapped_column()
    estimates_powder: Mapped[dict[str, Any] | None] = mapped_column()
    additional_costs: Mapped[list[Any] | None] = mapped_column()
    custom_field_values: Mapped[list[Any] | None] = mapped_column()
    design_time: Mapped[int | None]
    autorun: Mapped[bool] = mapped_column(default=False, server_default=false())
    # No model will be uploaded for this line item (set here or on its product).
    no_model_upload: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_relevant_estimation: Mapped[bool] = mapped_column(default=True, server_default=true())


class Piece(BureauOwned, Base):
    """One physical object of a line item (copy 1..quantity), created by the system."""

    __tablename__ = "mes_pieces"
    __table_args__ = (
        # An order's pieces in LIST order, with the bureau, so a page and its count read the
        # index alone.
        Index("ix_mes_pieces_order", "order_id", "workspace_id", "created_at", "id"),
        Index("ix_mes_pieces_line_item", "line_item_id", "copy"),
        # A serial number names one piece of a bureau (production-bom-api.md: Serials API).
        # (an index, not a constraint: SQLite adds it without rebuilding the table)
        Index("uq_mes_pieces_serial_number", "workspace_id", "serial_number", unique=True),
        # A production BOM's summary counts its jobs' serials by status from this index alone.
        Index(
            "ix_mes_pieces_serials",
            "line_item_id",
            "status",
            postgresql_where=text("serial_number IS NOT NULL"),
            sqlite_where=text("serial_number IS NOT NULL"),
        ),
    )

    line_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_line_items.id", ondelete="CASCADE")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_orders.id", ondelete="SET NULL")
    )
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_workflows.id"), index=True
    )
    copy: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[ItemType] = mapped_column(
        status_column(ItemType, "mes_piece_type"), default=ItemType.product
    )
    status: Mapped[PieceStatus] = mapped_column(
        status_column(PieceStatus, "mes_piece_status"), default=PieceStatus.new
    )
    priority: Mapped[int] = mapped_column(default=65)
    current_step_position: Mapped[int] = mapped_column(default=0)
    layer_thickness: Mapped[float | None]
    external_print_analysis: Mapped[dict[str, Any] | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    remanufactured_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_pieces.id", ondelete="SET NULL")
    )
    # Set for the pieces of a production-BOM job (a "serial", threadline/mes/production).
    serial_number: Mapped[str | None] = mapped_column(String(255))


class Print(BureauOwned, Base):
    """The status of one workflow step on one piece (legacy name "print").

    Prints come by the tens of thousands per order (pieces x steps), so a print row holds only
    what is its own: its piece, step and status (its order, workflow and copy number are the
    piece's, read through it), the line item copied for the floor's filters, and one foreign
    key, to the piece. A print goes when its piece goes (cascade) or with its line item or
    order, whose deletes remove prints first. Three more keys and three more columns per print
    made an order of 50,000 prints two to three times as slow (docs/performance.md).
    """

    __tablename__ = "mes_prints"
    __table_args__ = (
        Index("ix_mes_prints_piece", "piece_id", "process_step_position"),
        Index("ix_mes_prints_line_item", "line_item_id"),
        # Most prints wait without a run; the index holds only those in one.
        Index(
            "ix_mes_prints_run",
            "run_id",
            postgresql_where=text("run_id IS NOT NULL"),
            sqlite_where=text("run_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(index=True)
    piece_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mes_pieces.id", ondelete="CASCADE"))
    line_item_id: Mapped[uuid.UUID] = mapped_column()
    process_step_id: Mapped[uuid.UUID | None] = mapped_column()
    process_step_position: Mapped[int]
    status: Mapped[PrintStatus] = mapped_column(
        status_column(PrintStatus, "mes_print_status"), default=PrintStatus.created
    )
    # The run that holds this print (threadline/mes/floor); a deleted run lets go of it.
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mes_runs.id", ondelete="SET NULL"))
    printer_id: Mapped[uuid.UUID | None] = mapped_column()
    remanufactured_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_prints.id", ondelete="SET NULL")
    )


class QuoteStatus(enum.StrEnum):
    """Of an order quote's document, rendered by a durable job (mes-digest 1: heavy actions)."""

    pending = "pending"
    processing = "processing"
    complete = "complete"
    error = "error"


class DiscountType(enum.StrEnum):
    percentage = "percentage"
    amount = "amount"


class OrderQuote(BureauOwned, Base):
    """One revision of the price a bureau offers for an order (``/order-quote/``). Approving
    one sets the order's ``quote_approved``, which confirming its line items then needs."""

    __tablename__ = "mes_order_quotes"
    __table_args__ = (Index("ix_mes_order_quotes_order", "order_id", "created_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mes_orders.id", ondelete="CASCADE"))
    number: Mapped[str | None] = mapped_column(String(255))
    approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    customer_po: Mapped[str | None] = mapped_column(String(255))
    discount_type: Mapped[DiscountType] = mapped_column(
        status_column(DiscountType, "mes_quote_discount_type"), default=DiscountType.amount
    )
    discount_value: Mapped[float | None]
    markup_value: Mapped[float] = mapped_column(default=0.0)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[QuoteStatus] = mapped_column(
        status_column(QuoteStatus, "mes_quote_status"), default=QuoteStatus.pending
    )
    error: Mapped[str | None] = mapped_column(Text)
    # The rendered document in the blob store, and the total it states
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None]
    total: Mapped[float | None]

    @property
    def name(self) -> str:
        """The document's file name."""
        return f"quote-{self.number or self.id}.pdf"
