"""Order quotes (mes-api-reference.txt ``/order-quote/``): the price a bureau offers for an order,
as revisions, each rendered to a PDF by a durable job; approving one sets the order's
``quote_approved``, which confirming its line items needs when the order has ``quote_required``.

Prices come from the line items: a line item's price is its ``estimates.total_price`` ("for the
whole line-item", in the bureau's currency). The quote adds ``markup_value`` percent to their sum,
then takes off ``discount_value`` (an amount, or a percentage with ``discount_type``). A line item
without a price is listed as such and left out of the total, which the document says.

The rules the reference states: "Order quote can't be generated if order confirmed. Or, cannot
be approved if there is no customer_po specified." (400). Threadline adds two that follow: a quote
is approved once its document is complete, and an approved quote does not change (POST a new
revision instead).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fpdf import FPDF
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Workspace
from threadline.blobs import BlobStore
from threadline.db import iso, utcnow
from threadline.errors import Invalid
from threadline.jobs import service as jobs
from threadline.mes.demand.models import (
    DiscountType,
    LineItem,
    Order,
    OrderQuote,
    OrderStatus,
    QuoteStatus,
)
from threadline.mes.face import MesContext
from threadline.mes.files import links
from threadline.mes.resources import REGISTRY, Links, Rules, Values, record, workspace_of

JOB_KIND = "mes.order-quote.render"
# An order can be quoted while it is still being planned.
QUOTABLE = {
    OrderStatus.new,
    OrderStatus.calculating_estimates,
    OrderStatus.pending,
    OrderStatus.in_preparation,
    OrderStatus.error,
}
# What the document states: changing one renders it again.
PRICED = {"number", "customer_po", "discount_type", "discount_value", "markup_value", "notes"}

CONFIRMED = "Order quote can't be generated if order confirmed."
NO_CUSTOMER_PO = "Order quote cannot be approved if there is no customer_po specified."


async def _order(ctx: MesContext, order_id: uuid.UUID) -> Order:
    order = await ctx.session.get(Order, order_id)
    assert order is not None  # check_refs found it in the bureau; the key cascades
    return order


def _quotable(order: Order) -> None:
    if order.status not in QUOTABLE:
        raise Invalid(CONFIRMED, code="ORDER_CONFIRMED")


class OrderQuoteRules(Rules):
    async def before_create(self, ctx: MesContext, values: Values, links_: Links) -> None:
        order = await _order(ctx, values["order_id"])
        _quotable(order)
        if values.get("approved"):
            raise Invalid(
                "An order quote is approved once its document is complete: PUT approved then.",
                code="QUOTE_NOT_READY",
                field="approved",
            )
        if not values.get("number"):
            revisions = await ctx.session.scalar(
                select(func.count()).where(OrderQuote.order_id == order.id)
            )
            values["number"] = (
                f"{order.customer_id or str(order.id)[:8]}-Q{int(revisions or 0) + 1}"
            )
        values.setdefault("customer_po", order.customer_po)
        values["status"] = QuoteStatus.pending

    async def after_create(self, ctx: MesContext, row: Any, links_: Links) -> None:
        _render_later(ctx.session, row)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links_: Links) -> None:
        repriced = {k for k in PRICED & set(values) if values[k] != getattr(row, k)}
        if repriced:
            if row.approved:
                raise Invalid(
                    "An approved order quote does not change: POST a new revision instead.",
                    code="QUOTE_APPROVED",
                )
            _quotable(await _order(ctx, row.order_id))
            values["status"] = QuoteStatus.pending
            row._rerender = True
        if values.get("approved") and not row.approved:
            order = await _order(ctx, row.order_id)
            if not (values.get("customer_po", row.customer_po) or order.customer_po):
                raise Invalid(NO_CUSTOMER_PO, code="QUOTE_NO_CUSTOMER_PO", field="customer_po")
            # the PO may come with the approval (the document is then rendered again with it)
            if repriced - {"customer_po"} or row.status != QuoteStatus.complete:
                raise Invalid(
                    "The order quote's document is not complete yet; approve it once it is.",
                    code="QUOTE_NOT_READY",
                    field="approved",
                )

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        if getattr(row, "_rerender", False):
            _render_later(ctx.session, row)
        if "approved" in changed:
            await _approve_order(ctx, row)

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        key = ctx.runtime.secret_key
        return {
            row.id: {
                "content": links.link(
                    key, ctx.base_url, "content", "order-quote", row.id, row.sha256
                )
                if row.sha256 and row.status == QuoteStatus.complete
                else None
            }
            for row in rows
        }


async def _approve_order(ctx: MesContext, quote: OrderQuote) -> None:
    """The order's ``quote_approved`` is whether one of its quotes is approved (and the first
    approved quote's customer PO becomes the order's when it has none), audited on the order."""
    order = await _order(ctx, quote.order_id)
    approved = bool(
        await ctx.session.scalar(
            select(exists().where(OrderQuote.order_id == order.id, OrderQuote.approved.is_(True)))
        )
    )
    before: Values = {}
    after: Values = {}
    if order.quote_approved != approved:
        before["quote_approved"], after["quote_approved"] = order.quote_approved, approved
        order.quote_approved = approved
    if approved and not order.customer_po and quote.customer_po:
        before["customer_po"], after["customer_po"] = None, quote.customer_po
        order.customer_po = quote.customer_po
    if after:
        workspace = await workspace_of(ctx, order.workspace_id)
        record(ctx, REGISTRY["order"], workspace, order.id, "update", before, after)


def _render_later(session: AsyncSession, quote: OrderQuote) -> None:
    jobs.enqueue(
        session, kind=JOB_KIND, workspace_id=quote.workspace_id, payload={"id": str(quote.id)}
    )


# --- the document -------------------------------------------------------------------------------


def _price(estimates: Any) -> float | None:
    """A line item's price for its whole quantity (``estimates.total_price``), if it has one."""
    value = estimates.get("total_price") if isinstance(estimates, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        price = float(value)
    except ValueError:
        return None
    return price if price >= 0 else None


def totals(quote: OrderQuote, prices: Sequence[float | None]) -> dict[str, float]:
    """Subtotal of the priced line items, the markup, the discount and the total (never < 0)."""
    subtotal = sum(p for p in prices if p is not None)
    markup = subtotal * (quote.markup_value or 0) / 100
    gross = subtotal + markup
    value = quote.discount_value or 0
    discount = gross * value / 100 if quote.discount_type == DiscountType.percentage else value
    discount = min(max(discount, 0), gross)
    return {
        "subtotal": round(subtotal, 2),
        "markup": round(markup, 2),
        "discount": round(discount, 2),
        "total": round(gross - discount, 2),
    }


def _text(value: Any) -> str:
    """The PDF's core fonts are Latin-1: anything else is shown as '?', never an error."""
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def document(
    bureau: str, order: Order, quote: OrderQuote, items: Sequence[tuple[str, int, float | None]]
) -> tuple[bytes, float]:
    """The quote as a PDF, and its total."""
    summed = totals(quote, [price for _, _, price in items])
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"Quote {quote.number}"))
    pdf.set_creator("Threadline")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(text=_text(f"Quote {quote.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for label, value in (
        ("From", bureau),
        ("Order", f"{order.name} ({order.customer_id})"),
        ("Customer", order.customer_name or ""),
        ("Customer PO", quote.customer_po or order.customer_po or ""),
        ("Date", (iso(utcnow()) or "")[:10]),
    ):
        pdf.cell(text=_text(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(60, 15, 25), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
        table.row(["Line item", "Quantity", "Price"])
        for name, quantity, price in items:
            table.row([_text(name), str(quantity), f"{price:.2f}" if price is not None else "-"])
    pdf.ln(4)
    for label, key in (("Subtotal", "subtotal"), ("Markup", "markup"), ("Discount", "discount")):
        pdf.cell(text=f"{label}: {summed[key]:.2f}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(text=f"Total: {summed['total']:.2f}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    unpriced = sum(1 for _, _, price in items if price is None)
    if unpriced:
        pdf.cell(
            text=f"{unpriced} line item(s) have no price yet and are not in the total.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if quote.notes:
        pdf.ln(4)
        pdf.multi_cell(0, text=_text(quote.notes))
    return bytes(pdf.output()), summed["total"]


async def render(session: AsyncSession, blobs: BlobStore, quote_id: uuid.UUID) -> dict[str, Any]:
    """The job's work: the quote's document into the blob store, the quote complete."""
    quote = await session.get(OrderQuote, quote_id)
    if quote is None:
        return {"skipped": "no such quote"}
    order = await session.get(Order, quote.order_id)
    workspace = await session.get(Workspace, quote.workspace_id)
    assert order is not None and workspace is not None  # both cascade to the quote
    rows = await session.execute(
        select(LineItem.name, LineItem.quantity, LineItem.estimates)
        .where(LineItem.order_id == order.id)
        .order_by(LineItem.created_at, LineItem.id)
    )
    items = [(name or "", quantity, _price(estimates)) for name, quantity, estimates in rows]
    data, total = document(workspace.name, order, quote, items)
    blob = await blobs.put_bytes(data)
    quote.sha256, quote.file_size, quote.total = blob.sha256, blob.size, total
    quote.status, quote.error = QuoteStatus.complete, None
    return {"status": "complete", "sha256": blob.sha256, "total": total}


Handler = Callable[[AsyncSession, Any], Awaitable[dict[str, Any] | None]]


def job_handler(blobs: BlobStore) -> Handler:
    """The ``mes.order-quote.render`` handler for threadline/jobs, bound to the server's blob
    store (registered where the worker starts, like the files room's)."""

    async def handle(session: AsyncSession, job: Any) -> dict[str, Any] | None:
        raw_id = job.payload.get("id")
        if not isinstance(raw_id, str):
            return {"skipped": "unknown payload"}
        return await render(session, blobs, uuid.UUID(raw_id))

    return handle
