"""The state machines of orders, line items, pieces and prints, as tables.

Each :class:`Edge` is one allowed change: from, to, who may take it (``user`` through a PUT of
``status``, ``system`` when another change implies it: a run, a confirmation, a cancel), the
guard that must hold and the side effect that follows. The code reads these tables
(:func:`edge`), docs/mes/demand.md prints them, and the runs of the next issue drive piece and
print statuses through the same tables with ``who="system"``. Any other change answers 400
"Provided status transformation is not allowed" (mes-api-reference.txt ``/order/``,
``/line-item/``).

The reference names the statuses and a few edges (mes-digest 3 C: new → calculating_estimates
→ pending → confirmed → printing → post-processing → shipping → complete, with error and
cancelled; in-preparation while a prep workflow runs); the rest is what a shop floor needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from threadline.errors import Invalid
from threadline.mes.demand.models import LineItemStatus as L
from threadline.mes.demand.models import OrderStatus as O
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.demand.models import PrintStatus as R

Who = Literal["user", "system"]
NOT_ALLOWED = "Provided status transformation is not allowed"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    who: tuple[Who, ...]
    guard: str = ""  # the name of a guard in service.GUARDS, "" for none
    effect: str = ""  # the name of a side effect in service.EFFECTS, "" for none
    why: str = ""  # one line for the docs


USER: tuple[Who, ...] = ("user", "system")
SYSTEM: tuple[Who, ...] = ("system",)


def _each(sources: Sequence[str], target: str, who: tuple[Who, ...], **kw: str) -> list[Edge]:
    return [Edge(s, target, who, **kw) for s in sources if s != target]


# --- line items -------------------------------------------------------------------------------

_LI_OPEN = [L.new, L.calculating_estimates, L.pending, L.in_preparation]
_LI_PRODUCING = [L.confirmed, L.printing, L.post_processing, L.shipping]

LINE_ITEM: tuple[Edge, ...] = (
    Edge(L.new, L.calculating_estimates, SYSTEM, why="an estimator starts"),
    Edge(L.new, L.pending, USER, why="the line item is ready for review"),
    Edge(L.calculating_estimates, L.pending, SYSTEM, why="estimates are in"),
    Edge(L.calculating_estimates, L.error, SYSTEM, why="the estimator failed"),
    Edge(L.new, L.in_preparation, SYSTEM, why="a prep workflow record starts"),
    Edge(L.pending, L.in_preparation, SYSTEM, why="a prep workflow record starts"),
    Edge(L.in_preparation, L.pending, SYSTEM, why="the last prep task is done or skipped"),
    *_each(
        [L.new, L.pending],
        L.confirmed,
        USER,
        guard="line_item_confirmable",
        effect="confirm_pieces",
        why="released to production: needs a workflow, a model (or no_model_upload) and, "
        "when the order requires a quote, an approved quote; pieces become confirmed",
    ),
    Edge(
        L.confirmed,
        L.pending,
        USER,
        guard="no_prints_in_run",
        effect="unconfirm_pieces",
        why="taken back before any print is in a run; pieces return to new",
    ),
    Edge(L.confirmed, L.printing, SYSTEM, why="its first print starts"),
    Edge(L.printing, L.post_processing, SYSTEM, why="its prints moved past printing"),
    Edge(L.printing, L.shipping, SYSTEM, why="a workflow without post-processing"),
    Edge(L.printing, L.complete, SYSTEM, why="a workflow of printing only"),
    Edge(L.post_processing, L.shipping, SYSTEM, why="its pieces are queued for shipping"),
    Edge(L.post_processing, L.complete, SYSTEM, why="a workflow without shipping"),
    Edge(L.shipping, L.complete, SYSTEM, why="every piece is shipped"),
    *_each(_LI_PRODUCING, L.error, SYSTEM, why="production failed"),
    Edge(L.error, L.pending, USER, why="fixed; back to review"),
    Edge(L.error, L.confirmed, USER, guard="line_item_confirmable", why="fixed; back to work"),
    *_each(
        [*_LI_OPEN, *_LI_PRODUCING, L.error],
        L.cancelled,
        USER,
        guard="no_prints_in_progress",
        effect="cancel_pieces",
        why="its pieces (not yet complete) are cancelled",
    ),
)

# --- orders: confirm and cancel are asked for; every other status is the line items' aggregate

_ORDER_OPEN = [O.new, O.calculating_estimates, O.pending, O.in_preparation, O.error]
_ORDER_ACTIVE = [O.confirmed, O.processing, O.printing, O.post_processing, O.shipping]

ORDER: tuple[Edge, ...] = (
    *_each(
        [O.new, O.pending, O.error],
        O.confirmed,
        USER,
        guard="order_confirmable",
        effect="confirm_line_items",
        why="confirms every open line item (each must be confirmable)",
    ),
    Edge(
        O.confirmed,
        O.pending,
        USER,
        guard="order_no_prints_in_run",
        effect="unconfirm_line_items",
        why="taken back before any print is in a run",
    ),
    *_each(
        [*_ORDER_OPEN, *_ORDER_ACTIVE, O.cloning],
        O.cancelled,
        USER,
        guard="order_no_prints_in_progress",
        effect="cancel_line_items",
        why="cancels its line items and their pieces",
    ),
)

# --- pieces -------------------------------------------------------------------------------------

_PIECE_QUEUED = [P.queued_for_printing, P.queued_for_post_processing, P.queued_for_shipping]
_PIECE_WORKING = [P.printing, P.post_processing, P.shipping]
_PIECE_OPEN = [P.new, P.confirmed, *_PIECE_QUEUED, *_PIECE_WORKING, P.error]

PIECE: tuple[Edge, ...] = (
    Edge(P.new, P.confirmed, SYSTEM, why="its line item is confirmed"),
    Edge(P.confirmed, P.new, SYSTEM, why="its line item is taken back"),
    Edge(P.confirmed, P.queued_for_printing, SYSTEM, why="its print is put in a run"),
    Edge(P.queued_for_printing, P.confirmed, SYSTEM, why="its run is removed"),
    Edge(P.queued_for_printing, P.printing, SYSTEM, why="the printing run starts"),
    Edge(P.printing, P.queued_for_post_processing, SYSTEM, why="printed; next is post-processing"),
    Edge(P.printing, P.queued_for_shipping, SYSTEM, why="printed; next is shipping"),
    Edge(P.printing, P.complete, SYSTEM, why="printed; last step"),
    Edge(P.queued_for_post_processing, P.post_processing, SYSTEM, why="its run starts"),
    Edge(
        P.post_processing,
        P.queued_for_post_processing,
        SYSTEM,
        why="done; another post-processing step follows",
    ),
    Edge(P.post_processing, P.queued_for_shipping, SYSTEM, why="done; next is shipping"),
    Edge(P.post_processing, P.complete, SYSTEM, why="done; last step"),
    Edge(P.queued_for_shipping, P.shipping, SYSTEM, why="its shipping run starts"),
    Edge(P.shipping, P.complete, SYSTEM, why="shipped"),
    *_each(_PIECE_WORKING, P.error, SYSTEM, why="the step failed"),
    *_each(_PIECE_WORKING, P.incomplete, SYSTEM, why="given up (scrapped)"),
    Edge(P.error, P.incomplete, USER, why="an operator scraps it"),
    *_each(_PIECE_QUEUED, P.error, SYSTEM, why="its run failed"),
    Edge(P.error, P.queued_for_printing, SYSTEM, why="redone from printing"),
    Edge(P.error, P.queued_for_post_processing, SYSTEM, why="redone from post-processing"),
    Edge(P.error, P.queued_for_shipping, SYSTEM, why="redone from shipping"),
    *_each(_PIECE_OPEN, P.cancelled, USER, guard="piece_not_in_progress", why="not made"),
)

# --- prints -------------------------------------------------------------------------------------

PRINT: tuple[Edge, ...] = (
    Edge(R.created, R.queued, SYSTEM, why="put in a run"),
    Edge(R.queued, R.created, SYSTEM, why="taken out of its run"),
    Edge(R.queued, R.in_progress, SYSTEM, why="its run starts"),
    Edge(R.in_progress, R.complete, SYSTEM, why="its run completes"),
    Edge(R.in_progress, R.error, SYSTEM, why="its run fails"),
    Edge(R.queued, R.error, SYSTEM, why="its run fails before starting"),
    Edge(R.error, R.queued, SYSTEM, why="redone in another run"),
    *_each([R.created, R.queued, R.error], R.cancelled, SYSTEM, why="its piece is cancelled"),
)

MACHINES: dict[str, tuple[Edge, ...]] = {
    "order": ORDER,
    "line-item": LINE_ITEM,
    "piece": PIECE,
    "print": PRINT,
}

# Statuses a line item is still "in planning" at: changing its workflow re-creates its prints,
# changing its quantity adds or removes pieces (mes-digest 3 D: "status <= 'pending'").
LINE_ITEM_PLANNING = frozenset({L.new, L.calculating_estimates, L.pending})
LINE_ITEM_PROCESSING = frozenset({L.confirmed, L.printing, L.post_processing, L.shipping})
LINE_ITEM_DONE = frozenset({L.complete, L.cancelled})
PIECE_DONE = frozenset({P.complete, P.incomplete, P.cancelled})


def edge(machine: str, source: str, target: str, who: Who) -> Edge:
    """The edge ``source → target`` that ``who`` may take; 400 when there is none."""
    for candidate in MACHINES[machine]:
        if candidate.source == source and candidate.target == target and who in candidate.who:
            return candidate
    raise Invalid(
        NOT_ALLOWED,
        code="STATUS_TRANSITION_NOT_ALLOWED",
        source=str(source),
        target=str(target),
    )


def targets(machine: str, source: str, who: Who) -> list[str]:
    """Every status ``who`` may move a ``machine`` at ``source`` to."""
    return [e.target for e in MACHINES[machine] if e.source == source and who in e.who]
