"""Where a run is done: the three kinds of workstation and what the floor needs of each.

A run is done at a printer (printing), a post-processor (post-processing) or a shipping type
(shipping: it has no machines, the type is the workstation). A process step names the
workstation *type*; a run may name only the type and get its exact machine later
(mes-api-reference.txt ``/run/``: "A run can be created without a specific printer").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.mes.floor.models import Operation, Run
from threadline.mes.process.models import ProcessStep
from threadline.mes.shop.models import (
    PostProcessor,
    PostProcessorType,
    Printer,
    PrinterType,
    Shipping,
)

# The piece statuses of each operation: waiting for it, and in it.
QUEUED_FOR = {
    Operation.printing: "queued-for-printing",
    Operation.post_processing: "queued-for-post-processing",
    Operation.shipping: "queued-for-shipping",
}
WORKING_AT = {
    Operation.printing: "printing",
    Operation.post_processing: "post-processing",
    Operation.shipping: "shipping",
}
# The run column of each operation's exact workstation and of its type.
MACHINE_COLUMN = {
    Operation.printing: "printer_id",
    Operation.post_processing: "post_processor_id",
    Operation.shipping: "shipping_id",
}
TYPE_COLUMN = {
    Operation.printing: "printer_type_id",
    Operation.post_processing: "post_processor_type_id",
    Operation.shipping: "shipping_id",
}
MACHINE_KIND = {
    Operation.printing: "printer",
    Operation.post_processing: "post-processor",
    Operation.shipping: "shipping",
}
KIND_OPERATION = {kind: op for op, kind in MACHINE_KIND.items()}


def step_type(step: ProcessStep | Any) -> tuple[Operation, uuid.UUID]:
    """The operation and workstation type of a process step (exactly one is set)."""
    if step.printer_type_id is not None:
        return Operation.printing, step.printer_type_id
    if step.post_processor_type_id is not None:
        return Operation.post_processing, step.post_processor_type_id
    assert step.shipping_id is not None  # exactly one of the three is set
    return Operation.shipping, step.shipping_id


def run_type(run: Run) -> uuid.UUID | None:
    """The workstation type a run is done at."""
    return getattr(run, TYPE_COLUMN[run.operation])  # type: ignore[no-any-return]


def run_machine(run: Run) -> uuid.UUID | None:
    """The exact workstation (printer, post-processor, or the shipping type), if assigned."""
    return getattr(run, MACHINE_COLUMN[run.operation])  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Station:
    """One exact workstation as the floor sees it."""

    kind: str  # printer | post-processor | shipping
    id: uuid.UUID
    type_id: uuid.UUID
    name: str | None
    type_name: str | None
    location_id: uuid.UUID | None
    in_progress_max: int | None
    time_before: int  # seconds added before each run (printer types only)
    time_after: int
    duration: int | None  # a post-processing run's duration, when the machine or type says
    batching_strategy: str | None
    number_of_parts: int | None
    build_volume: dict[str, Any] | None
    build_plate_shape: str | None
    min_packing_distance: float | None


async def station(session: AsyncSession, kind: str, machine_id: uuid.UUID) -> Station | None:
    """The workstation ``machine_id`` of ``kind`` with its type's parameters (one query)."""
    if kind == "printer":
        row = (
            await session.execute(
                select(Printer, PrinterType)
                .join(PrinterType, PrinterType.id == Printer.printer_type_id)
                .where(Printer.id == machine_id)
            )
        ).first()
        if row is None:
            return None
        printer, ptype = row
        return Station(
            kind,
            printer.id,
            ptype.id,
            printer.name,
            ptype.name,
            printer.location_id,
            printer.in_progress_max,
            ptype.time_before_print or 0,
            ptype.time_after_print or 0,
            None,
            None,
            None,
            ptype.build_volume,
            ptype.build_plate_shape,
            ptype.min_packing_distance,
        )
    if kind == "post-processor":
        pp_row = (
            await session.execute(
                select(PostProcessor, PostProcessorType)
                .join(
                    PostProcessorType, PostProcessorType.id == PostProcessor.post_processor_type_id
                )
                .where(PostProcessor.id == machine_id)
            )
        ).first()
        if pp_row is None:
            return None
        machine, pptype = pp_row
        return Station(
            kind,
            machine.id,
            pptype.id,
            machine.name,
            pptype.name,
            machine.location_id,
            pptype.in_progress_max,
            0,
            0,
            machine.duration if machine.duration is not None else pptype.duration,
            pptype.batching_strategy,
            pptype.number_of_parts,
            pptype.build_volume,
            None,
            pptype.min_packing_distance,
        )
    shipping = await session.get(Shipping, machine_id)
    if shipping is None:
        return None
    return Station(
        kind,
        shipping.id,
        shipping.id,
        shipping.name,
        shipping.name,
        None,
        shipping.in_progress_max,
        0,
        0,
        None,
        shipping.batching_strategy,
        shipping.number_of_parts,
        shipping.build_volume,
        None,
        shipping.min_packing_distance,
    )
