"""The material lot's status machine, as a table (docs/mes/material.md prints it).

The reference names the statuses and the initial ones (``on_order|received``,
mes-api-reference.txt ``/material-lot/``); any other change answers 400 "Provided status
transformation is not allowed". The edges are what a stock room needs: a delivery arrives, is
tested or stored, is used up, scrapped or returned.
"""

from __future__ import annotations

from threadline.errors import Invalid
from threadline.mes.material.models import LotStatus as S

NOT_ALLOWED = "Provided status transformation is not allowed"
INITIAL = (S.on_order, S.received)

# (from, to, why)
LOT_EDGES: tuple[tuple[S, S, str], ...] = (
    (S.on_order, S.received, "the delivery arrived (creates the initial batch)"),
    (S.on_order, S.return_to_supplier, "the order is sent back before use"),
    (S.received, S.in_testing, "incoming inspection"),
    (S.received, S.available, "released without testing"),
    (S.received, S.in_storage, "put away"),
    (S.received, S.in_use, "used straight away"),
    (S.received, S.return_to_supplier, "rejected on arrival"),
    (S.received, S.scrapped, "damaged on arrival"),
    (S.in_testing, S.available, "the tests passed"),
    (S.in_testing, S.return_to_supplier, "the tests failed"),
    (S.in_testing, S.scrapped, "the tests failed"),
    (S.in_storage, S.available, "taken out of storage"),
    (S.in_storage, S.in_use, "taken out of storage for a job"),
    (S.in_storage, S.scrapped, "expired in storage"),
    (S.available, S.in_use, "material of the lot is being used"),
    (S.available, S.in_storage, "put away"),
    (S.available, S.done, "used up"),
    (S.available, S.scrapped, "expired"),
    (S.in_use, S.available, "back on the shelf"),
    (S.in_use, S.in_storage, "put away"),
    (S.in_use, S.done, "used up"),
    (S.in_use, S.scrapped, "expired"),
)
_ALLOWED = {(a, b) for a, b, _ in LOT_EDGES}


def not_allowed() -> Invalid:
    return Invalid(NOT_ALLOWED, code="STATUS_TRANSITION_NOT_ALLOWED", field="status")


def check_initial(status: S) -> None:
    """A lot is created ``on_order`` or ``received``."""
    if status not in INITIAL:
        raise not_allowed()


def check_transition(source: S, target: S) -> None:
    """400 unless ``source → target`` is an edge of :data:`LOT_EDGES`."""
    if source != target and (source, target) not in _ALLOWED:
        raise not_allowed()
