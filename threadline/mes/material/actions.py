"""Material batch actions: the only way batches change (mes-api-reference.txt
``/material-batch-action/``, "POST/GET/LIST only").

:func:`perform` runs one action inside the request's transaction: it locks the batches it
touches (``FOR UPDATE`` on PostgreSQL, in id order so two actions never deadlock), checks the
quantities (never negative, a split or a load cannot take more than is available, a blend's
result is the sum of its parts), applies the change, appends the action row and writes one
``material-batch-linking`` edge per source of each batch the action produces. Any 400 leaves
nothing written: the request's transaction is rolled back as a whole.

``quantity`` means what the reference says it means for each action type (see ``ACTIONS``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from threadline.audit import service as audit
from threadline.errors import Invalid, NotFound
from threadline.mes.face import PREFIX, MesContext, parse_uri
from threadline.mes.material.models import (
    BatchStatus,
    ContainerStatus,
    LotStatus,
    MaterialBatch,
    MaterialBatchAction,
    MaterialBatchLinking,
    MaterialContainer,
    MaterialLot,
    PowderQuality,
)
from threadline.mes.resources import workspace_of
from threadline.mes.shop.models import Location, SubLocation

EPSILON = 1e-9
ACTION_TYPES = (
    "blend_batches", "create_initial_batch", "machine_unload_chamber", "machine_unload_hopper",
    "split_batch", "add_container", "containerize_batch", "edit_batch_quantity",
    "edit_lot_details", "machine_load", "machine_top_off", "scrap_batch", "sieve", "test",
    "relocate", "edit_batch_details", "dock_dose_module", "undock_dose_module",
    "defer_modular_build",
)  # fmt: skip


@dataclass
class Step:
    """One action being performed: its input, the batches it locked, what it produced."""

    ctx: MesContext
    workspace_id: uuid.UUID
    action_type: str
    source: MaterialBatch | None
    quantity: float | None
    metadata: dict[str, Any]
    produced: MaterialBatch | None = None
    edges: list[tuple[MaterialBatch, MaterialBatch, float, list[str]]] = field(default_factory=list)
    recorded_quantity: float = 0.0


def available(batch: MaterialBatch) -> float:
    """What split, scrap and the other actions may take: the quantity not loaded or reserved."""
    return batch.quantity - batch.reserved_quantity


def _invalid(message: str, code: str, **extra: Any) -> Invalid:
    return Invalid(message, code=code, **extra)


def insufficient(batch: MaterialBatch, wanted: float, what: float) -> Invalid:
    return _invalid(
        f"Not enough material in the batch: {wanted:g} requested, {max(what, 0):g} "
        f"{batch.units or ''} available.".replace("  ", " "),
        "MATERIAL_BATCH_INSUFFICIENT",
        field="quantity",
    )


def _positive(step: Step, *, limit: float, default: float | None = None) -> float:
    """The action's quantity: > 0, at most ``limit`` (else 400 MATERIAL_BATCH_INSUFFICIENT)."""
    quantity = step.quantity if step.quantity else default
    if quantity is None or quantity <= 0:
        raise _invalid(
            "The quantity must be greater than zero.", "INVALID_QUANTITY", field="quantity"
        )
    assert step.source is not None
    if quantity > limit + EPSILON:
        raise insufficient(step.source, quantity, limit)
    return quantity


async def lock_batches(
    ctx: MesContext, workspace_id: uuid.UUID, ids: list[uuid.UUID], *, field_name: str
) -> dict[uuid.UUID, MaterialBatch]:
    """The batches ``ids`` of the bureau, locked for this transaction; 404 for any other."""
    wanted = sorted(set(ids))
    rows = await ctx.session.scalars(
        select(MaterialBatch)
        .where(MaterialBatch.id.in_(wanted), MaterialBatch.workspace_id == workspace_id)
        .order_by(MaterialBatch.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {row.id: row for row in rows}
    for batch_id in wanted:
        if batch_id not in found:
            raise NotFound(
                f"The requested material batch cannot be found "
                f"({field_name}: {PREFIX}/material-batch/{batch_id}/).",
                code="RESOURCE_NOT_FOUND",
                field=field_name,
            )
    return found


def _meta_uri(step: Step, key: str, kinds: tuple[str, ...], *, required: bool = True) -> Any:
    value = step.metadata.get(key)
    if value is None:
        if required:
            raise _invalid(
                f"The action {step.action_type} needs metadata.{key}.",
                "METADATA_REQUIRED",
                field=f"metadata.{key}",
            )
        return None
    return parse_uri(value, kinds=kinds, field_name=f"metadata.{key}")


def _derive(source: MaterialBatch, quantity: float, **overrides: Any) -> MaterialBatch:
    """A new batch made from ``source`` (a split, an unload): same material, lots, place."""
    values: dict[str, Any] = {
        "workspace_id": source.workspace_id,
        "material_id": source.material_id,
        "material_lot_id": source.material_lot_id,
        "material_lot_ids": list(source.material_lot_ids or []),
        "initial_batch_id": source.initial_batch_id,
        "quantity": quantity,
        "reserved_quantity": 0.0,
        "full_quantity": quantity,
        "units": source.units,
        "status": BatchStatus.new,
        "powder_quality": source.powder_quality,
        "usage_cycles": source.usage_cycles,
        "location_id": source.location_id,
        "sub_location_id": source.sub_location_id,
        "material_in_containers": False,
    }
    values.update(overrides)
    return MaterialBatch(id=uuid.uuid4(), **values)


def _settle(batch: MaterialBatch) -> None:
    """A batch emptied by an action is done; one with material left is in use."""
    if batch.quantity <= EPSILON:
        batch.quantity = 0.0
        batch.reserved_quantity = 0.0
        batch.status = BatchStatus.done
        batch.at_machine_id = None
    elif batch.status == BatchStatus.new:
        batch.status = BatchStatus.in_use
    if batch.reserved_quantity <= EPSILON:
        batch.reserved_quantity = 0.0
        batch.at_machine_id = None


# --- the actions ------------------------------------------------------------------------------


async def _split(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = _positive(step, limit=available(source))
    source.quantity -= quantity
    step.produced = _derive(source, quantity)
    step.edges.append((source, step.produced, quantity, []))
    step.recorded_quantity = quantity
    _settle(source)


async def _blend(step: Step) -> None:
    source = step.source
    assert source is not None
    raw = step.metadata.get("batches")
    if not isinstance(raw, list) or not raw:
        raise _invalid(
            "blend_batches needs metadata.batches: the URIs of the batches to blend with "
            "source_batch.",
            "METADATA_REQUIRED",
            field="metadata.batches",
        )
    ids = [parse_uri(v, kinds=("material-batch",), field_name="metadata.batches") for v in raw]
    if source.id in ids or len(set(ids)) != len(ids):
        raise _invalid("A batch can be blended only once.", "BLEND_DUPLICATE", field="metadata")
    others = await lock_batches(step.ctx, step.workspace_id, ids, field_name="metadata.batches")
    parts = [source, *(others[i] for i in ids)]
    if len({b.material_id for b in parts}) > 1:
        raise _invalid(
            "Only batches of the same material can be blended.",
            "BLEND_MATERIAL_MISMATCH",
            field="metadata.batches",
        )
    total = sum(available(b) for b in parts)
    if total <= EPSILON:
        raise _invalid("The batches hold no material to blend.", "INVALID_QUANTITY")
    if step.quantity and abs(step.quantity - total) > 1e-6 * max(1.0, total):
        raise _invalid(
            f"A blend's quantity is the sum of its batches' available quantities ({total:g}): "
            "a blend cannot create or lose material.",
            "MATERIAL_QUANTITY_MISMATCH",
            field="quantity",
        )
    lots: list[str] = []
    for b in parts:
        lots.extend(x for x in b.material_lot_ids or [] if x not in lots)
    qualities = {b.powder_quality for b in parts}
    step.produced = _derive(
        source,
        total,
        material_lot_ids=lots,
        usage_cycles=max(b.usage_cycles for b in parts),
        powder_quality=qualities.pop() if len(qualities) == 1 else PowderQuality.unknown,
    )
    for b in parts:
        share = available(b)
        b.quantity -= share
        _settle(b)
        if share > EPSILON:
            step.edges.append((b, step.produced, share, []))
    step.recorded_quantity = total


async def _sieve(step: Step) -> None:
    source = step.source
    assert source is not None
    # quantity: the full quantity in the batch after sieving; what is sieved out is lost.
    kept = _positive(step, limit=available(source), default=available(source))
    source.quantity -= available(source) - kept
    source.powder_quality = PowderQuality.sieved
    step.recorded_quantity = kept
    _settle(source)


async def _machine_load(step: Step) -> None:
    source = step.source
    assert source is not None
    machine = _meta_uri(step, "machine", ("printer", "post-processor"), required=False)
    if machine and source.at_machine_id and source.at_machine_id != machine:
        raise _invalid(
            "The batch is loaded into another machine: unload it first.",
            "MATERIAL_BATCH_AT_MACHINE",
            field="metadata.machine",
        )
    quantity = _positive(step, limit=available(source))
    source.reserved_quantity += quantity
    source.at_machine_id = machine or source.at_machine_id
    source.status = BatchStatus.in_use
    step.recorded_quantity = quantity


async def _machine_top_off(step: Step) -> None:
    source = step.source
    assert source is not None
    load_id = _meta_uri(step, "batch_to_load", ("material-batch",))
    if load_id == source.id:
        raise _invalid(
            "A batch cannot top itself off.", "INVALID_BATCH", field="metadata.batch_to_load"
        )
    if source.at_machine_id is None and source.reserved_quantity <= EPSILON:
        raise _invalid(
            "The batch is not loaded into a machine: load it first.",
            "MATERIAL_BATCH_NOT_LOADED",
            field="source_batch",
        )
    loaded = (
        await lock_batches(
            step.ctx, step.workspace_id, [load_id], field_name="metadata.batch_to_load"
        )
    )[load_id]
    if loaded.material_id != source.material_id:
        raise _invalid(
            "Only material of the same kind can top off a batch.",
            "BLEND_MATERIAL_MISMATCH",
            field="metadata.batch_to_load",
        )
    step.source = loaded  # the quantity is checked against the batch it comes from
    quantity = _positive(step, limit=available(loaded))
    step.source = source
    loaded.quantity -= quantity
    _settle(loaded)
    source.quantity += quantity
    source.reserved_quantity += quantity
    source.full_quantity = max(source.full_quantity, source.quantity)
    lots = list(source.material_lot_ids or [])
    lots.extend(x for x in loaded.material_lot_ids or [] if x not in lots)
    source.material_lot_ids = lots
    step.edges.append((loaded, source, quantity, []))
    step.recorded_quantity = quantity


async def _unload_chamber(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = _positive(step, limit=source.reserved_quantity)
    source.reserved_quantity -= quantity
    source.quantity -= quantity
    step.produced = _derive(
        source,
        quantity,
        powder_quality=PowderQuality.unsieved,
        usage_cycles=source.usage_cycles + 1,
    )
    step.edges.append((source, step.produced, quantity, []))
    step.recorded_quantity = quantity
    _settle(source)


async def _unload_hopper(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = _positive(step, limit=source.reserved_quantity)
    source.reserved_quantity -= quantity  # back in the batch, available again
    step.recorded_quantity = quantity
    _settle(source)


async def _scrap(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = _positive(step, limit=available(source), default=available(source))
    source.quantity -= quantity
    if source.quantity <= EPSILON:
        source.powder_quality = PowderQuality.done
    step.recorded_quantity = quantity
    _settle(source)


async def _edit_quantity(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = step.quantity if step.quantity is not None else -1.0
    if quantity < 0:
        raise _invalid(
            "The quantity (the resulting quantity in the batch) must not be negative.",
            "INVALID_QUANTITY",
            field="quantity",
        )
    if quantity + EPSILON < source.reserved_quantity:
        raise _invalid(
            f"The batch has {source.reserved_quantity:g} loaded into a machine: its quantity "
            "cannot be set below that.",
            "MATERIAL_BATCH_INSUFFICIENT",
            field="quantity",
        )
    source.quantity = quantity
    source.full_quantity = max(source.full_quantity, quantity)
    step.recorded_quantity = quantity
    _settle(source)


async def _relocate(step: Step) -> None:
    source = step.source
    assert source is not None
    location = _meta_uri(step, "location", ("location",))
    sub_location = _meta_uri(step, "sub_location", ("sub-location",), required=False)
    row = await step.ctx.session.get(Location, location)
    if row is None or row.workspace_id != step.workspace_id:
        raise NotFound(
            "The requested location cannot be found.",
            code="RESOURCE_NOT_FOUND",
            field="metadata.location",
        )
    if sub_location is not None:
        sub = await step.ctx.session.get(SubLocation, sub_location)
        if sub is None or sub.workspace_id != step.workspace_id or sub.location_id != location:
            raise NotFound(
                "The requested sub-location cannot be found (in that location).",
                code="RESOURCE_NOT_FOUND",
                field="metadata.sub_location",
            )
    source.location_id, source.sub_location_id = location, sub_location
    step.recorded_quantity = source.quantity


async def _test(step: Step) -> None:
    source = step.source
    assert source is not None
    quantity = _positive(step, limit=available(source))
    source.quantity -= quantity  # consumed by the test
    step.recorded_quantity = quantity
    _settle(source)


async def _containerize(step: Step) -> None:
    source = step.source
    assert source is not None
    raw = step.metadata.get("containers")
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(q, (int, float)) and not isinstance(q, bool) and q > 0 for q in raw)
    ):
        raise _invalid(
            "containerize_batch needs metadata.containers: the quantity of each new container "
            "(numbers > 0).",
            "METADATA_REQUIRED",
            field="metadata.containers",
        )
    total = float(sum(raw))
    if total > available(source) + EPSILON:
        raise insufficient(source, total, available(source))
    step.ctx.session.add_all(
        MaterialContainer(
            workspace_id=source.workspace_id,
            material_lot_id=None,  # an internal container of the bureau
            material_id=source.material_id,
            current_batch_id=source.id,
            type="permanent",
            disposable=False,
            status=ContainerStatus.in_use,
            quantity=float(q),
            full_quantity=float(q),
            location_id=source.location_id,
            sub_location_id=source.sub_location_id,
        )
        for q in raw
    )
    source.material_in_containers = True
    step.recorded_quantity = source.quantity


async def _initial_batch(step: Step) -> None:
    lot_id = _meta_uri(step, "material_lot", ("material-lot",))
    lot = await step.ctx.session.get(MaterialLot, lot_id)
    if lot is None or lot.workspace_id != step.workspace_id:
        raise NotFound(
            "The requested material_lot cannot be found.",
            code="RESOURCE_NOT_FOUND",
            field="metadata.material_lot",
        )
    step.produced = await initial_batch(step.ctx, lot)
    step.recorded_quantity = step.produced.quantity


async def initial_batch(ctx: MesContext, lot: MaterialLot) -> MaterialBatch:
    """The batch of a lot's containers that no batch holds yet (``create_initial_batch``)."""
    if lot.status == LotStatus.on_order:
        raise _invalid(
            "The material lot has not been received: receive it before creating its batch.",
            "MATERIAL_LOT_NOT_RECEIVED",
            field="metadata.material_lot",
        )
    containers = list(
        await ctx.session.scalars(
            select(MaterialContainer)
            .where(
                MaterialContainer.material_lot_id == lot.id,
                MaterialContainer.current_batch_id.is_(None),
                MaterialContainer.status == ContainerStatus.new,
            )
            .with_for_update()
        )
    )
    if not containers:
        raise _invalid(
            "The material lot has no containers left for an initial batch.",
            "NO_CONTAINERS_AVAILABLE",
            field="metadata.material_lot",
        )
    quantity = float(sum(c.quantity for c in containers))
    batch_id = uuid.uuid4()
    batch = MaterialBatch(
        id=batch_id,
        workspace_id=lot.workspace_id,
        material_id=lot.material_id,
        material_lot_id=lot.id,
        material_lot_ids=[str(lot.id)],
        initial_batch_id=batch_id,
        quantity=quantity,
        reserved_quantity=0.0,
        full_quantity=quantity,
        units=lot.units,
        status=BatchStatus.new,
        powder_quality=PowderQuality.new,
        usage_cycles=0,
        location_id=lot.location_id,
        sub_location_id=lot.sub_location_id,
        material_in_containers=True,
    )
    ctx.session.add(batch)
    await ctx.session.flush()  # the containers' foreign key points at the new batch
    for container in containers:
        container.current_batch_id = batch_id
        container.status = ContainerStatus.in_use
    return batch


async def _not_implemented(step: Step) -> None:
    raise _invalid(
        f"The action {step.action_type} is not supported by Threadline yet.",
        "ACTION_NOT_SUPPORTED",
        field="action_type",
    )


Performer = Callable[[Step], Awaitable[None]]
# action type → (what ``quantity`` means, the performer). docs/mes/material.md prints this.
ACTIONS: dict[str, tuple[str, Performer]] = {
    "create_initial_batch": ("computed: the sum of the lot's free containers", _initial_batch),
    "split_batch": ("moved into the new batch (≤ available)", _split),
    "blend_batches": ("the resulting batch: the sum of the parts' available quantities", _blend),
    "sieve": ("the full quantity after sieving (the rest is lost); default: all", _sieve),
    "machine_load": ("loaded into the machine (reserved; ≤ available)", _machine_load),
    "machine_top_off": ("added to the loaded batch from metadata.batch_to_load", _machine_top_off),
    "machine_unload_chamber": ("unloaded into a new, unsieved batch (≤ reserved)", _unload_chamber),
    "machine_unload_hopper": ("returned to the batch (≤ reserved)", _unload_hopper),
    "scrap_batch": ("scrapped (≤ available); default: all available", _scrap),
    "edit_batch_quantity": ("the resulting quantity in the batch (≥ reserved)", _edit_quantity),
    "relocate": ("unused; metadata.location (and sub_location)", _relocate),
    "test": ("consumed by the test (≤ available)", _test),
    "containerize_batch": ("unused; metadata.containers lists the new containers", _containerize),
}


async def perform(
    ctx: MesContext,
    workspace_id: uuid.UUID,
    action_type: str,
    source_batch_id: uuid.UUID | None,
    quantity: float | None,
    metadata: dict[str, Any] | None,
    *,
    notes: str | None = None,
    performer: Performer | None = None,
) -> MaterialBatchAction:
    """Run one batch action, append its row and its linking edges; 400/404 write nothing."""
    metadata = dict(metadata or {})
    if quantity is not None and quantity < 0:
        raise _invalid("The quantity must not be negative.", "INVALID_QUANTITY", field="quantity")
    source: MaterialBatch | None = None
    if action_type == "create_initial_batch":
        if source_batch_id is not None:
            raise _invalid(
                "create_initial_batch takes no source_batch: name metadata.material_lot.",
                "INVALID_FIELD",
                field="source_batch",
            )
    else:
        if source_batch_id is None:
            raise _invalid(
                "source_batch is required (null only for create_initial_batch).",
                "FIELD_REQUIRED",
                field="source_batch",
            )
        source = (
            await lock_batches(ctx, workspace_id, [source_batch_id], field_name="source_batch")
        )[source_batch_id]
        if source.status == BatchStatus.done and action_type != "edit_batch_quantity":
            raise _invalid(
                "The batch is done: no action can take material from it.",
                "MATERIAL_BATCH_DONE",
                field="source_batch",
            )
    step = Step(ctx, workspace_id, action_type, source, quantity, metadata)
    run = performer or ACTIONS.get(action_type, ("", _not_implemented))[1]
    await run(step)
    if step.produced is not None and step.produced not in ctx.session:
        ctx.session.add(step.produced)
    action = MaterialBatchAction(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        action_type=action_type,
        source_batch_id=source.id if source else None,
        destination_batch_id=step.produced.id if step.produced else None,
        quantity=step.recorded_quantity,
        metadata_=step.metadata,
        notes=notes,
        previous_action_id=source.last_action_id if source else None,
        user_id=ctx.user.id,
    )
    ctx.session.add(action)
    await ctx.session.flush()  # batches and the action exist before the edges point at them
    touched = {b.id: b for edge in step.edges for b in edge[:2]}
    if source is not None:
        touched[source.id] = source
    if step.produced is not None:
        touched[step.produced.id] = step.produced
    for batch in touched.values():
        batch.last_action_id = action.id
    ctx.session.add_all(
        MaterialBatchLinking(
            workspace_id=workspace_id,
            action_id=action.id,
            source_batch_id=src.id,
            destination_batch_id=dst.id,
            quantity=q,
            containers=containers,
        )
        for src, dst, q, containers in step.edges
    )
    await ctx.session.flush()  # a constraint violation surfaces inside the request
    audit.record(
        ctx.session,
        actor=ctx.user,
        workspace=await workspace_of(ctx, workspace_id),
        entity_type="mes.material-batch-action",
        entity_id=action.id,
        action="create",
        after={
            "action_type": action_type,
            "source_batch": f"{PREFIX}/material-batch/{source.id}/" if source else None,
            "quantity": action.quantity,
            "metadata": step.metadata,
        },
    )
    return action
