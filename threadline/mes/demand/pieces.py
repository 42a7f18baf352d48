"""Pieces and prints, made set-based (mes-digest 3 D).

A line item of quantity N has N pieces (copy 1..N, named model name + copy number) and each
piece one print per step of its workflow, in step order. Everything here works on many line
items at once with a fixed number of statements: one read of the workflows' steps, one read of
the models' names, one bulk insert of pieces and one of prints (``COPY`` on PostgreSQL), so an
order of 1,000 line items costs what an order of one does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.db import insert_columns, new_ids, utcnow
from threadline.mes.demand.models import (
    ItemType,
    LineItem,
    Piece,
    PieceStatus,
    Print,
    PrintStatus,
)
from threadline.mes.resources import REGISTRY

# What a piece of a line item is called when the line item names no model.
UNNAMED = "Piece"
# Rows per IN list when reading or deleting by id (well under every database's bind limit).
CHUNK = 5000


@dataclass(frozen=True)
class Planned:
    """What the pieces of one line item are made from (a row, or values about to be one)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    order_id: uuid.UUID | None
    workflow_id: uuid.UUID | None
    model_id: uuid.UUID | None
    name: str | None
    type: str
    priority: int

    @classmethod
    def of(cls, row: LineItem) -> Planned:
        return cls(
            row.id,
            row.workspace_id,
            row.order_id,
            row.workflow_id,
            row.model_id,
            row.name,
            str(row.type.value if isinstance(row.type, ItemType) else row.type),
            row.priority,
        )


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def workflow_steps(
    session: AsyncSession, workflow_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The ordered process steps of each workflow, in one query (the process room's
    ``process_steps`` link table, read through its declarative resource)."""
    wanted = sorted({w for w in workflow_ids if w is not None})
    out: dict[uuid.UUID, list[uuid.UUID]] = {w: [] for w in wanted}
    resource = REGISTRY.get("workflow")
    if not wanted or resource is None:
        return out
    link = resource.by_name["process_steps"].link
    assert link is not None and link.position is not None
    table = link.table
    rows = await session.execute(
        select(table.c[link.owner], table.c[link.target])
        .where(table.c[link.owner].in_(wanted))
        .order_by(table.c[link.owner], table.c[link.position])
    )
    for workflow_id, step_id in rows:
        out[workflow_id].append(step_id)
    return out


async def model_names(
    session: AsyncSession, model_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Each model's name, in one query (the files room's ``/model/`` resource)."""
    wanted = sorted({m for m in model_ids if m is not None})
    resource = REGISTRY.get("model")
    if not wanted or resource is None:
        return {}
    rows = await session.execute(
        select(resource.attr("id"), resource.attr("name")).where(resource.attr("id").in_(wanted))
    )
    return {row_id: name for row_id, name in rows}


def piece_name(item: Planned, names: dict[uuid.UUID, str], copy: int) -> str:
    """Model name + copy number ("bracket.stl 3"), as the reference composes piece names."""
    base = (names.get(item.model_id) if item.model_id else None) or item.name or UNNAMED
    return f"{base[:280]} {copy}"


def _print_columns(
    pieces: dict[str, list[Any]], steps: dict[uuid.UUID, list[uuid.UUID]], now: Any
) -> dict[str, list[Any]]:
    """The prints of ``pieces`` (columns of piece rows): one per step of each piece's workflow,
    in step order, as columns for :func:`insert_columns`."""
    per_piece = [steps.get(w, []) if w is not None else [] for w in pieces["workflow_id"]]
    counts = [len(s) for s in per_piece]
    total = sum(counts)

    def repeat(column: str) -> list[Any]:
        return [v for v, n in zip(pieces[column], counts, strict=True) for _ in range(n)]

    return {
        "id": new_ids(total),
        "workspace_id": repeat("workspace_id"),
        "created_at": [now] * total,
        "updated_at": [now] * total,
        "piece_id": repeat("id"),
        "line_item_id": repeat("line_item_id"),
        "process_step_id": [step for s in per_piece for step in s],
        "process_step_position": [p for s in per_piece for p in range(1, len(s) + 1)],
        "status": [PrintStatus.created.value] * total,
    }


async def create_pieces(session: AsyncSession, wanted: Sequence[tuple[Planned, int, int]]) -> int:
    """Pieces ``first..last`` (copy numbers, inclusive) of each line item, with their prints.

    Returns how many pieces were made. Four statements whatever the sizes (two reads, two bulk
    inserts), plus one per 10,000 rows on SQLite's batched inserts. Rows are built column by
    column: an order of 10,000 pieces and 50,000 prints is mostly repeated values.
    """
    wanted = [(item, first, last) for item, first, last in wanted if last >= first]
    if not wanted:
        return 0
    steps = await workflow_steps(session, (item.workflow_id for item, _, _ in wanted))
    names = await model_names(session, (item.model_id for item, _, _ in wanted))
    now = utcnow()
    sizes = [last - first + 1 for _, first, last in wanted]
    total = sum(sizes)

    def per_item(value: Callable[[Planned], Any]) -> list[Any]:
        """A column whose value is the line item's, for each of its pieces."""
        return [
            value(item) for (item, _, _), n in zip(wanted, sizes, strict=True) for _ in range(n)
        ]

    pieces: dict[str, list[Any]] = {
        "id": new_ids(total),
        "workspace_id": per_item(lambda item: item.workspace_id),
        "created_at": [now] * total,
        "updated_at": [now] * total,
        "line_item_id": per_item(lambda item: item.id),
        "order_id": per_item(lambda item: item.order_id),
        "workflow_id": per_item(lambda item: item.workflow_id),
        "copy": [c for _, first, last in wanted for c in range(first, last + 1)],
        "name": [
            piece_name(item, names, c)
            for item, first, last in wanted
            for c in range(first, last + 1)
        ],
        "type": per_item(lambda item: item.type),
        "status": [PieceStatus.new.value] * total,
        "priority": per_item(lambda item: item.priority),
        "current_step_position": per_item(
            lambda item: 1 if item.workflow_id and steps.get(item.workflow_id) else 0
        ),
    }
    await insert_columns(session, Piece, pieces)
    await insert_columns(session, Print, _print_columns(pieces, steps, now))
    return total


async def recreate_prints(session: AsyncSession, items: Sequence[Planned]) -> None:
    """Drop the prints of these line items' pieces and make them again from each line item's
    current workflow (a workflow change at status <= pending, mes-digest 3 D); the pieces
    follow the line item's workflow. A fixed number of statements for any number of items."""
    if not items:
        return
    ids = [item.id for item in items]
    steps = await workflow_steps(session, (item.workflow_id for item in items))
    by_item = {item.id: item for item in items}
    for chunk in _chunks(ids):
        await session.execute(delete(Print).where(Print.line_item_id.in_(chunk)))
    for workflow_id in {item.workflow_id for item in items}:
        chunk_ids = [item.id for item in items if item.workflow_id == workflow_id]
        for chunk in _chunks(chunk_ids):
            await session.execute(
                update(Piece)
                .where(Piece.line_item_id.in_(chunk))
                .values(
                    workflow_id=workflow_id,
                    current_step_position=1 if steps.get(workflow_id) else 0,  # type: ignore[arg-type]
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
    now = utcnow()
    pieces: dict[str, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(Piece.id, Piece.workspace_id, Piece.line_item_id)
            .where(Piece.line_item_id.in_(chunk))
            .order_by(Piece.line_item_id, Piece.copy)
        )
        for piece_id, workspace_id, line_item_id in rows:
            for key, value in (
                ("id", piece_id),
                ("workspace_id", workspace_id),
                ("line_item_id", line_item_id),
                ("workflow_id", by_item[line_item_id].workflow_id),
            ):
                pieces[key].append(value)
    if pieces:
        await insert_columns(session, Print, _print_columns(pieces, steps, now))


async def resize(session: AsyncSession, item: Planned, old: int, new: int) -> None:
    """Quantity ``old`` → ``new`` at status <= pending: add copies old+1..new, or remove the
    highest copies (their prints go with them by cascade)."""
    if new > old:
        await create_pieces(session, [(item, old + 1, new)])
    elif new < old:
        doomed = select(Piece.id).where(Piece.line_item_id == item.id, Piece.copy > new)
        await session.execute(delete(Print).where(Print.piece_id.in_(doomed)))
        await session.execute(
            delete(Piece)
            .where(Piece.line_item_id == item.id, Piece.copy > new)
            .execution_options(synchronize_session=False)
        )


async def piece_counts(
    session: AsyncSession, column: Any, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Pieces and completed pieces per line item or order (``column`` = Piece.line_item_id or
    Piece.order_id), one grouped query for a page."""
    total: dict[uuid.UUID, int] = defaultdict(int)
    complete: dict[uuid.UUID, int] = defaultdict(int)
    if not ids:
        return total, complete
    rows = await session.execute(
        select(column, Piece.status, func.count())
        .where(column.in_(ids))
        .group_by(column, Piece.status)
    )
    for owner, status, n in rows:
        total[owner] += n
        if status == PieceStatus.complete:
            complete[owner] += n
    return total, complete
