"""BOM rules: headers and their approval flow, bulk item writes with cycle and freeze checks,
alternates, MBOM derivation and where-used. Services never commit; every write is audited."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, delete, func, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.audit import service as audit
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.boms import effectivity, graph, tree
from threadline.boms.models import AlternateApproval, Bom, BomItem, BomItemAlternate, BomType
from threadline.boms.schemas import AlternateIn, BomCreate, BomItemFields, BomItemIn
from threadline.catalog import service as catalog
from threadline.catalog.models import ApprovalStatus, Part, PartVersion
from threadline.catalog.schemas import WhereUsed, WhereUsedBuild, WhereUsedRow
from threadline.concurrency import Expected
from threadline.db import insert_rows, new_id, utcnow
from threadline.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from threadline.mes.demand import service as demand
from threadline.pagination import PageParams, paginate

EDITABLE = frozenset({ApprovalStatus.draft, ApprovalStatus.rejected})
# Ids per IN-list: well under SQLite's and asyncpg's bind-parameter limits.
BATCH = 1000


def bom_snapshot(bom: Bom) -> dict[str, Any]:
    return {
        "type": bom.type.value,
        "revision": bom.revision,
        "status": bom.status.value,
        "assemblyPartId": str(bom.assembly_part_id),
    }


async def workspace_of_bom(session: AsyncSession, bom_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Bom.workspace_id).where(Bom.id == bom_id))


async def get_bom(session: AsyncSession, *, workspace_id: uuid.UUID, bom_id: uuid.UUID) -> Bom:
    bom = await session.scalar(
        select(Bom).where(Bom.id == bom_id, Bom.workspace_id == workspace_id)
    )
    if bom is None:
        raise NotFound(f"BOM {bom_id} not found.", code="BOM_NOT_FOUND")
    return bom


async def _check_version(
    session: AsyncSession, part_id: uuid.UUID, version_id: uuid.UUID | None
) -> None:
    if version_id is None:
        return
    owner = await session.scalar(select(PartVersion.part_id).where(PartVersion.id == version_id))
    if owner != part_id:
        raise NotFound(
            f"Version {version_id} is not a version of part {part_id}.", code="VERSION_NOT_FOUND"
        )


async def create_bom(session: AsyncSession, *, access: Access, bom_in: BomCreate) -> Bom:
    """A new, empty draft BOM for an assembly revision (engineer+)."""
    ws = access.workspace
    assembly = await catalog.get_part(session, workspace_id=ws.id, part_id=bom_in.assembly_part_id)
    await _check_version(session, assembly.id, bom_in.assembly_version_id)
    if await session.scalar(
        select(Bom.id).where(
            Bom.workspace_id == ws.id,
            Bom.assembly_part_id == assembly.id,
            Bom.type == bom_in.type,
            Bom.revision == bom_in.revision,
        )
    ):
        raise Conflict(
            f"{assembly.part_number} already has a {bom_in.type.value.upper()} revision "
            f"{bom_in.revision}.",
            code="BOM_REVISION_EXISTS",
        )
    bom = Bom(
        workspace_id=ws.id,
        assembly_part_id=assembly.id,
        assembly_version_id=bom_in.assembly_version_id,
        type=bom_in.type,
        revision=bom_in.revision,
        change_note=bom_in.change_note,
        status=ApprovalStatus.draft,
        created_by_id=access.user.id,
    )
    session.add(bom)
    await session.flush()  # the id goes into the audit row and the response
    audit.record(
        session,
        actor=access.user,
        workspace=ws,
        entity_type="bom",
        entity_id=bom.id,
        action="create",
        after=bom_snapshot(bom),
    )
    return bom


def list_statement(
    workspace_id: uuid.UUID,
    *,
    type: BomType | None,
    status: ApprovalStatus | None,
    assembly_part_id: uuid.UUID | None,
    assembly_pn: str | None,
) -> Any:
    stmt = (
        select(Bom, Part.part_number, Part.name)
        .join(Part, Part.id == Bom.assembly_part_id)
        .where(Bom.workspace_id == workspace_id)
    )
    if type:
        stmt = stmt.where(Bom.type == type)
    if status:
        stmt = stmt.where(Bom.status == status)
    if assembly_part_id:
        stmt = stmt.where(Bom.assembly_part_id == assembly_part_id)
    if assembly_pn:
        stmt = stmt.where(Part.part_number == assembly_pn)
    return stmt.order_by(Part.part_number, Bom.type, Bom.created_at)


async def list_boms(
    session: AsyncSession, *, workspace_id: uuid.UUID, params: PageParams, **filters: Any
) -> tuple[Sequence[Any], int]:
    return await paginate(session, list_statement(workspace_id, **filters), params)


async def assembly_of(session: AsyncSession, bom: Bom) -> Part:
    part = await session.get(Part, bom.assembly_part_id)
    assert part is not None  # foreign key
    return part


async def transition(
    session: AsyncSession, *, access: Access, bom_id: uuid.UUID, action: str, reason: str | None
) -> Bom:
    """Submit (engineer+), approve or reject (manager+). Approved BOMs are frozen."""
    bom = await get_bom(session, workspace_id=access.workspace.id, bom_id=bom_id)
    before = bom.status
    bom.status = catalog.check_transition(access, before, action, f"BOM revision {bom.revision}")
    if action in ("approve", "reject"):
        bom.decided_by_id = access.user.id
        bom.decided_at = utcnow()
    bom.reject_reason = reason if action == "reject" else None
    bom.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="bom",
        entity_id=bom.id,
        action=action,
        before={"status": before.value},
        after=bom_snapshot(bom),
    )
    return bom


def ensure_editable(bom: Bom) -> None:
    """Approved BOMs are frozen; submitted ones wait for a decision."""
    if bom.status == ApprovalStatus.approved:
        raise Conflict(
            f"BOM revision {bom.revision} is approved and frozen; "
            "create a new revision to change it.",
            code="BOM_FROZEN",
        )
    if bom.status not in EDITABLE:
        raise Conflict(
            f"BOM revision {bom.revision} is {bom.status.value}; it can be edited again after a "
            "manager approves or rejects it.",
            code="BOM_NOT_EDITABLE",
        )


# --- bulk item writes -------------------------------------------------------------------------

_ITEM_FIELDS = ("child_version_id", "uom", "refdes", "notes", "sort_index", "attributes", "dnp")
_EFFECTIVITY_FIELDS = ("date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to")


@dataclass(frozen=True)
class ItemChange:
    """One validated line change: ``values`` holds only the columns the client set."""

    id: uuid.UUID | None
    values: dict[str, Any]
    delete: bool = False
    generated: bool = False  # the server just minted ``id``: no need to check it is unused
    version: int | None = None  # the line's version the client read: stale refuses the batch


def _item_values(row: BomItemIn) -> dict[str, Any]:
    """The columns this row sets (unset fields are left alone on update)."""
    values: dict[str, Any] = {}
    given = row.model_fields_set
    for name in _ITEM_FIELDS:
        if name in given:
            values[name] = getattr(row, name)
    for name in ("child_part_id", "qty", "parent_item_id"):
        if name in given and getattr(row, name) is not None:
            values[name] = getattr(row, name)
    if "parent_item_id" in given and row.parent_item_id is None:
        values["parent_item_id"] = None
    if "child_part_id" in values and "child_version_id" not in given:
        values["child_version_id"] = None  # a version of the old part no longer applies
    if row.effectivity is not None:
        values.update(row.effectivity.model_dump(include=set(_EFFECTIVITY_FIELDS)))
    if values.get("attributes") is None and "attributes" in values:
        values["attributes"] = {}
    if values.get("sort_index") is None and "sort_index" in values:
        values["sort_index"] = 0
    for required in ("uom", "dnp"):  # NOT NULL columns: null means "leave as is"
        if values.get(required) is None and required in values:
            del values[required]
    return values


def changes_from(rows: Sequence[BomItemIn]) -> list[ItemChange]:
    """The API's rows as changes; contradictory effectivity is refused here (400)."""
    changes = []
    for index, row in enumerate(rows):
        if row.version is not None and row.id is None:
            raise Invalid(
                f"items[{index}]: version names the line you read; give its id too.",
                code="ITEM_INCOMPLETE",
            )
        if row.op == "delete":
            changes.append(ItemChange(id=row.id, values={}, delete=True, version=row.version))
            continue
        if row.effectivity is not None and (
            problems := effectivity.contradictions(effectivity.as_dict(row.effectivity))
        ):
            raise Unprocessable(
                f"items[{index}]: {'; '.join(problems)}.", code="EFFECTIVITY_INVALID"
            )
        changes.append(ItemChange(id=row.id, values=_item_values(row), version=row.version))
    return changes


async def write_items(
    session: AsyncSession, *, access: Access, bom_id: uuid.UUID, changes: Sequence[ItemChange]
) -> dict[str, Any]:
    """Create, update and delete lines of a draft BOM in one all-or-nothing batch.

    New lines may give their own ``id`` so later rows of the same batch can nest under them.
    The resulting structure is checked before anything is written: parents exist in this BOM,
    no line is its own ancestor, and — after the write — no part contains itself at any depth.
    A change carrying the ``version`` the client read is checked on the locked line first; one
    stale line refuses the whole batch. Every written line's version is bumped.
    """
    ws = access.workspace
    bom = await get_bom(session, workspace_id=ws.id, bom_id=bom_id)
    ensure_editable(bom)
    await _check_line_versions(session, bom.id, changes)
    existing = {
        r.id: r
        for r in (
            await session.execute(
                select(BomItem.id, BomItem.parent_item_id, BomItem.child_part_id).where(
                    BomItem.bom_id == bom.id
                )
            )
        ).all()
    }
    parents: dict[uuid.UUID, uuid.UUID | None] = {i: r.parent_item_id for i, r in existing.items()}
    part_of: dict[uuid.UUID, uuid.UUID] = {i: r.child_part_id for i, r in existing.items()}
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[uuid.UUID] = []
    written: list[uuid.UUID] = []  # created or updated, in request order (the response's ids)
    chosen: list[uuid.UUID] = []  # ids clients picked for new lines: must be globally unused
    seen: set[uuid.UUID] = set()
    for index, change in enumerate(changes):
        where = f"items[{index}]"
        if change.delete:
            if change.id is None or change.id not in existing:
                raise NotFound(f"{where}: no line {change.id} in this BOM.", code="ITEM_NOT_FOUND")
            deletes.append(change.id)
            continue
        values = change.values
        if change.id is not None and change.id in existing:
            updates.append({"id": change.id, **values})
            written.append(change.id)
            if "parent_item_id" in values:
                parents[change.id] = values["parent_item_id"]
            if "child_part_id" in values:
                part_of[change.id] = values["child_part_id"]
            continue
        if values.get("child_part_id") is None or values.get("qty") is None:
            raise Invalid(f"{where}: a new line needs childPartId and qty.", code="ITEM_INCOMPLETE")
        new_item = change.id or new_id()
        if change.id is not None and not change.generated:
            if new_item in seen:
                raise Invalid(
                    f"{where}: id {new_item} appears twice in this batch.", code="DUPLICATE_ID"
                )
            seen.add(new_item)
            chosen.append(new_item)
        creates.append({"id": new_item, "bom_id": bom.id, "uom": "each", **values})
        written.append(new_item)
        parents[new_item] = values.get("parent_item_id")
        part_of[new_item] = values["child_part_id"]
    for start in range(0, len(chosen), BATCH):
        taken = await session.scalar(
            select(BomItem.id).where(BomItem.id.in_(chosen[start : start + BATCH])).limit(1)
        )
        if taken:
            raise NotFound(f"No line {taken} in this BOM.", code="ITEM_NOT_FOUND")
    removed = _subtrees(deletes, parents)
    await _check_parts(session, access, changes, part_of, removed)
    _check_parents(parents, removed, bom.id)
    previous = await _audited_lines(session, updates)
    versions = await _write(session, creates, updates, removed, parents)
    new_edges = {
        (part_of[p] if p else bom.assembly_part_id, part_of[i])
        for i in written
        for p in [parents[i]]
    }
    await check_no_cycles(session, workspace_id=ws.id, new_edges=new_edges)
    bom.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=ws,
        entity_type="bom",
        entity_id=bom.id,
        action="items",
        after={"created": len(creates), "updated": len(updates), "deleted": len(removed)},
    )
    for line_id, (before, after) in previous.items():  # the live event says what changed
        audit.record(
            session, actor=access.user, workspace=ws, entity_type="bom_item", entity_id=line_id,
            action="update", before=before, after=after,
        )  # fmt: skip
    return {
        "created": len(creates),
        "updated": len(updates),
        "deleted": len(removed),
        "ids": written,
        "versions": [versions.get(i, 1) for i in written],  # new lines start at 1
    }


def _audited(value: Any) -> Any:
    """A line's field value as the audit row holds it (numbers as the API shows them)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _audited_lines(
    session: AsyncSession, updates: list[dict[str, Any]]
) -> dict[uuid.UUID, tuple[dict[str, Any], dict[str, Any]]]:
    """Each updated line's changed fields before and after the write (one read per batch)."""
    fields = sorted({key for row in updates for key in row if key != "id"})
    if not fields:
        return {}
    ids = [row["id"] for row in updates]
    old: dict[uuid.UUID, Any] = {}
    for start in range(0, len(ids), BATCH):
        rows = await session.execute(
            select(BomItem.id, *(getattr(BomItem, f) for f in fields)).where(
                BomItem.id.in_(ids[start : start + BATCH])
            )
        )
        old.update({r.id: r._mapping for r in rows})
    return {
        row["id"]: (
            {k: _audited(old[row["id"]][k]) for k in row if k != "id"},
            {k: _audited(v) for k, v in row.items() if k != "id"},
        )
        for row in updates
    }


async def _check_line_versions(
    session: AsyncSession, bom_id: uuid.UUID, changes: Sequence[ItemChange]
) -> None:
    """409 VERSION_CONFLICT when a line's ``version`` is not its current one (or it is gone),
    listing every such line with its current version (null when gone); nothing is written.

    The lines are read ``FOR UPDATE`` (in id order, so two batches cannot deadlock): the check
    sees the latest committed version and no other writer can bump it before this one commits.
    """
    expected = {c.id: c.version for c in changes if c.id is not None and c.version is not None}
    if not expected:
        return
    ids = sorted(expected)
    current: dict[uuid.UUID, int] = {}
    for start in range(0, len(ids), BATCH):
        rows = await session.execute(
            select(BomItem.id, BomItem.version)
            .where(BomItem.bom_id == bom_id, BomItem.id.in_(ids[start : start + BATCH]))
            .order_by(BomItem.id)
            .with_for_update()
        )
        current.update((item, version) for item, version in rows)
    stale = [(i, current.get(i), v) for i, v in expected.items() if current.get(i) != v]
    if stale:
        item, now, seen = stale[0]
        state = f"is at version {now}" if now is not None else "no longer exists"
        raise Conflict(
            f"{len(stale)} line(s) changed since you read them, e.g. {item} {state}, not "
            f"version {seen}; nothing was saved. Reload them and apply your changes again.",
            code="VERSION_CONFLICT",
            items=[{"id": str(i), "version": now} for i, now, _ in stale],
        )


async def get_line(
    session: AsyncSession, *, bom_id: uuid.UUID, item_id: uuid.UUID, for_update: bool = False
) -> tuple[BomItem, Part]:
    """One line of a BOM and its child part (404 ITEM_NOT_FOUND when not in this BOM).

    ``for_update`` locks the line until commit, so a check of its version holds for the write.
    """
    stmt = (
        select(BomItem, Part)
        .join(Part, Part.id == BomItem.child_part_id)
        .where(BomItem.id == item_id, BomItem.bom_id == bom_id)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt.with_for_update(of=BomItem) if for_update else stmt)).first()
    if row is None:
        raise NotFound(f"No line {item_id} in this BOM.", code="ITEM_NOT_FOUND")
    return row[0], row[1]


async def update_line(
    session: AsyncSession,
    *,
    access: Access,
    bom_id: uuid.UUID,
    item_id: uuid.UUID,
    line_in: BomItemFields,
    expected: Expected,
) -> None:
    """Patch one line of a draft BOM through :func:`write_items` (the same rules as a batch).

    ``expected`` (If-Match: 412, ``version``: 409) is checked on the locked line.
    """
    bom = await get_bom(session, workspace_id=access.workspace.id, bom_id=bom_id)
    ensure_editable(bom)  # a frozen BOM says so whatever the version
    line, _part = await get_line(session, bom_id=bom.id, item_id=item_id, for_update=True)
    expected.check(line.version, f"Line {item_id}")
    row = BomItemIn.model_validate({**line_in.model_dump(exclude_unset=True), "id": item_id})
    (change,) = changes_from([row])
    # Checked above on the locked line: the batch need not check (nor lock) it again.
    await write_items(
        session, access=access, bom_id=bom.id, changes=[replace(change, version=None)]
    )


def _subtrees(
    roots: Sequence[uuid.UUID], parents: dict[uuid.UUID, uuid.UUID | None]
) -> set[uuid.UUID]:
    """``roots`` and every line below them."""
    if not roots:
        return set()
    children: dict[uuid.UUID | None, list[uuid.UUID]] = defaultdict(list)
    for item, parent in parents.items():
        children[parent].append(item)
    out: set[uuid.UUID] = set()
    stack = list(roots)
    while stack:
        item = stack.pop()
        if item not in out:
            out.add(item)
            stack.extend(children[item])
    return out


async def _check_parts(
    session: AsyncSession,
    access: Access,
    changes: Sequence[ItemChange],
    part_of: dict[uuid.UUID, uuid.UUID],
    removed: set[uuid.UUID],
) -> None:
    """Every referenced part (and version) exists in this workspace."""
    wanted = {p for i, p in part_of.items() if i not in removed}
    if len(wanted) <= BATCH:
        found = set(
            (
                await session.scalars(
                    select(Part.id).where(
                        Part.workspace_id == access.workspace.id, Part.id.in_(wanted)
                    )
                )
            ).all()
        )
    else:
        # A big batch names most of the catalog: one scan of the workspace's part ids beats
        # a hundred IN-lists.
        found = set(
            (
                await session.scalars(
                    select(Part.id).where(Part.workspace_id == access.workspace.id)
                )
            ).all()
        )
    missing = wanted - found
    if missing:
        raise NotFound(f"Part {next(iter(missing))} not found.", code="PART_NOT_FOUND")
    # An update may name only the version: check it against the line's (possibly new) part.
    versions: set[tuple[uuid.UUID | None, uuid.UUID]] = set()
    for c in changes:
        if version := c.values.get("child_version_id"):
            part = c.values.get("child_part_id") or (part_of.get(c.id) if c.id else None)
            versions.add((part, version))
    if versions:
        pairs = set(
            (
                await session.execute(
                    select(PartVersion.part_id, PartVersion.id).where(
                        PartVersion.id.in_({v for _, v in versions})
                    )
                )
            ).all()
        )
        for part_id, version_id in versions:
            if part_id is not None and (part_id, version_id) not in pairs:
                raise NotFound(
                    f"Version {version_id} is not a version of part {part_id}.",
                    code="VERSION_NOT_FOUND",
                )


def _check_parents(
    parents: dict[uuid.UUID, uuid.UUID | None], removed: set[uuid.UUID], bom_id: uuid.UUID
) -> None:
    """Each remaining line's parent is a remaining line of this BOM, and no line loops."""
    for item, parent in parents.items():
        if item in removed or parent is None:
            continue
        if parent not in parents or parent in removed:
            raise NotFound(
                f"Parent line {parent} is not in BOM {bom_id}.", code="PARENT_ITEM_NOT_FOUND"
            )
    state: dict[uuid.UUID, int] = {}
    for item in parents:
        path = []
        node: uuid.UUID | None = item
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parents.get(node)
        if node is not None and state.get(node) == 1:
            raise Unprocessable(
                f"Line {node} would be nested under itself.", code="ITEM_NESTING_CYCLE"
            )
        for n in path:
            state[n] = 2


async def _write(
    session: AsyncSession,
    creates: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    removed: set[uuid.UUID],
    parents: dict[uuid.UUID, uuid.UUID | None],
) -> dict[uuid.UUID, int]:
    """Apply the batch with bulk statements: parents are inserted before their children.

    Answers the new version of each updated line (each UPDATE bumps it).
    """
    if removed:
        ids = list(removed)
        for start in range(0, len(ids), BATCH):
            await session.execute(delete(BomItem).where(BomItem.id.in_(ids[start : start + BATCH])))
    if creates:
        depth = _depths(parents)
        creates = sorted(creates, key=lambda c: depth[c["id"]])
        now = utcnow()
        # Every row of one INSERT needs the same keys. Columns no row sets are left out
        # altogether (they default to NULL) — fewer parameters to bind on 100k-line imports.
        present = set().union(*creates)
        optional = ("refdes", "notes", "child_version_id", "parent_item_id", *_EFFECTIVITY_FIELDS)
        defaults: dict[str, Any] = {
            "created_at": now,
            "updated_at": now,
            "sort_index": 0,
            "attributes": {},
            **{key: None for key in optional if key in present},
            # Not optional: a row that leaves it out is fitted, not NULL.
            **({"dnp": False} if "dnp" in present else {}),
        }
        rows = [{**defaults, **c} for c in creates]
        await insert_rows(session, BomItem, rows)
    versions: dict[uuid.UUID, int] = {}
    if updates:
        now = utcnow()
        for row in updates:
            row["updated_at"] = now
            versions[row["id"]] = (
                await session.execute(
                    update(BomItem)
                    .where(BomItem.id == row["id"])
                    .values(
                        {k: v for k, v in row.items() if k != "id"}
                        | {"version": BomItem.version + 1}
                    )
                    .returning(BomItem.version)
                )
            ).scalar_one()
    return versions


def _depths(parents: dict[uuid.UUID, uuid.UUID | None]) -> dict[uuid.UUID, int]:
    depth: dict[uuid.UUID, int] = {}

    def of(item: uuid.UUID) -> int:
        chain = []
        node: uuid.UUID | None = item
        while node is not None and node not in depth:
            chain.append(node)
            node = parents.get(node)
        base = depth[node] if node is not None else 0
        for n in reversed(chain):
            base += 1
            depth[n] = base
        return depth[item]

    for item in parents:
        of(item)
    return depth


async def check_no_cycles(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    new_edges: set[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    """A part may never contain itself at any depth (400 BOM_CYCLE naming the path).

    Containment edges are (assembly part → child part) for top lines and (parent line's part →
    child part) for nested lines, across every BOM of the workspace. Only a cycle through a new
    edge is possible, and every edge on such a cycle leads up to a new edge's parent; the edges
    reachable upward from those parents are loaded in one recursive query and searched in memory.
    """
    if not new_edges:
        return
    for parent, child in new_edges:
        if parent == child:
            await _raise_cycle(session, [str(parent), str(child)])
    edges = await _edges_above(session, workspace_id, {p for p, _ in new_edges})
    # Ids as text from here on: hashing 100k uuid.UUID objects is slower than the query.
    graph: dict[str, set[str]] = defaultdict(set)
    for parent, child in edges:
        graph[tree.uuid_text(parent)].add(tree.uuid_text(child))
    for parent, child in new_edges:
        graph[str(parent)].add(str(child))
    cycle = _find_cycle(graph)
    if cycle:
        await _raise_cycle(session, cycle)


async def _edges_above(
    session: AsyncSession, workspace_id: uuid.UUID, parts: set[uuid.UUID]
) -> list[tuple[Any, Any]]:
    item, parent, bom = aliased(BomItem), aliased(BomItem), aliased(Bom)
    parent_part = func.coalesce(parent.child_part_id, bom.assembly_part_id)
    edge_source = (
        select(
            type_coerce(parent_part, String).label("parent_part"),
            type_coerce(item.child_part_id, String).label("child_part"),
        )
        .join(bom, bom.id == item.bom_id)
        .outerjoin(parent, parent.id == item.parent_item_id)
        .where(bom.workspace_id == workspace_id)
    )
    if len(parts) > BATCH:
        # A big import touches most of the workspace anyway: read all its edges at once.
        return [(p, c) for p, c in (await session.execute(edge_source.distinct())).all()]
    seed = select(Part.id.label("part_id")).where(Part.id.in_(parts)).cte("up", recursive=True)
    up = seed.alias()
    step = (
        select(parent_part)
        .select_from(up)
        .join(item, item.child_part_id == up.c.part_id)
        .join(bom, bom.id == item.bom_id)
        .outerjoin(parent, parent.id == item.parent_item_id)
        .where(bom.workspace_id == workspace_id)
    )
    ancestors = seed.union(step)
    stmt = edge_source.where(item.child_part_id.in_(select(ancestors.c.part_id))).distinct()
    return [(p, c) for p, c in (await session.execute(stmt)).all()]


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a closed path [a, b, ..., a], or None (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color: dict[str, int] = defaultdict(int)
    for start in list(graph):
        if color[start] != WHITE:
            continue
        stack: list[tuple[str, Any]] = [(start, iter(graph.get(start, ())))]
        color[start] = GREY
        path = [start]
        while stack:
            node, children = stack[-1]
            advanced = False
            for child in children:
                if color[child] == GREY:
                    return [*path[path.index(child) :], child]
                if color[child] == WHITE:
                    color[child] = GREY
                    path.append(child)
                    stack.append((child, iter(graph.get(child, ()))))
                    advanced = True
                    break
            if not advanced:
                color[node] = BLACK
                path.pop()
                stack.pop()
    return None


async def _raise_cycle(session: AsyncSession, cycle: list[str]) -> None:
    ids = [uuid.UUID(p) for p in cycle]
    numbers = dict(
        (
            await session.execute(select(Part.id, Part.part_number).where(Part.id.in_(set(ids))))
        ).all()
    )
    path = [numbers.get(p, str(p)) for p in ids]
    raise Unprocessable(
        f"A part cannot contain itself: {' → '.join(path)}.", code="BOM_CYCLE", path=path
    )


# --- alternates ------------------------------------------------------------------------------


async def set_alternates(
    session: AsyncSession,
    *,
    access: Access,
    bom_id: uuid.UUID,
    item_id: uuid.UUID,
    alternates: Sequence[AlternateIn],
    expected: Expected | None = None,
) -> tuple[BomItem, list[BomItemAlternate]]:
    """Replace a line's alternates (engineer+). Engineers propose (``pending``); deciding
    approved / conditional / rejected needs a manager.

    Alternates are part of the line: the write bumps its version, and ``expected`` (If-Match /
    ``version``) is checked on the locked line first.
    """
    bom = await get_bom(session, workspace_id=access.workspace.id, bom_id=bom_id)
    ensure_editable(bom)
    line, _part = await get_line(session, bom_id=bom.id, item_id=item_id, for_update=True)
    (expected or Expected()).check(line.version, f"Line {item_id}")
    await session.refresh(line, ["alternates"])
    current = {a.part_id: a for a in line.alternates}
    is_manager = access.role.at_least(Role.manager)
    parts = await catalog.parts_by_id(
        session, workspace_id=access.workspace.id, part_ids=[a.part_id for a in alternates]
    )
    result: list[BomItemAlternate] = []
    seen: set[uuid.UUID] = set()
    for alt in alternates:
        if alt.part_id not in parts:
            raise NotFound(f"Part {alt.part_id} not found.", code="PART_NOT_FOUND")
        if alt.part_id == line.child_part_id:
            raise Invalid("A part cannot be its own alternate.", code="INVALID_ALTERNATE")
        if alt.part_id in seen:
            raise Invalid(f"Alternate {alt.part_id} is listed twice.", code="INVALID_ALTERNATE")
        seen.add(alt.part_id)
        existing = current.get(alt.part_id)
        approval = alt.approval or (existing.approval if existing else AlternateApproval.pending)
        changed = existing is None or existing.approval != approval
        if changed and approval != AlternateApproval.pending and not is_manager:
            raise Forbidden(
                "Approving, conditionally approving or rejecting an alternate needs a manager; "
                "leave approval empty to propose it.",
                code="INSUFFICIENT_ROLE",
            )
        decided = existing is not None and existing.approval != AlternateApproval.pending
        edited = existing is not None and (
            changed or (alt.rationale or None) != (existing.rationale or None)
        )
        if decided and edited and not is_manager:
            raise Forbidden(
                f"The alternate {parts[alt.part_id].part_number} was decided by a manager; "
                "only a manager can change it.",
                code="INSUFFICIENT_ROLE",
            )
        row = existing or BomItemAlternate(item_id=line.id, part_id=alt.part_id)
        row.approval = approval
        row.rationale = alt.rationale
        if changed and approval != AlternateApproval.pending:
            row.decided_by_id = access.user.id
        result.append(row)
    dropped = [a for a in current.values() if a.part_id not in seen]
    if not is_manager and any(a.approval != AlternateApproval.pending for a in dropped):
        raise Forbidden(
            "Removing an alternate a manager decided needs the manager role.",
            code="INSUFFICIENT_ROLE",
        )
    line.alternates = result
    line.updated_at = utcnow()  # a changed row: its flush bumps the version
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="bom_item",
        entity_id=line.id,
        action="alternates",
        before={"alternates": {str(k): v.approval.value for k, v in current.items()}},
        after={"alternates": {str(a.part_id): a.approval.value for a in result}},
    )
    await session.flush()  # the new version goes into the response's ETag
    return line, result


# --- derive MBOM ------------------------------------------------------------------------------


async def derive_mbom(
    session: AsyncSession,
    *,
    access: Access,
    bom_id: uuid.UUID,
    revision: str,
    change_note: str | None,
) -> Bom:
    """Copy an EBOM's lines into a new draft MBOM revision that remembers its source."""
    source = await get_bom(session, workspace_id=access.workspace.id, bom_id=bom_id)
    if source.type != BomType.ebom:
        raise Invalid("Only an EBOM can be derived into an MBOM.", code="NOT_AN_EBOM")
    mbom = await create_bom(
        session,
        access=access,
        bom_in=BomCreate(
            workspace=access.workspace.name,
            assembly_part_id=source.assembly_part_id,
            assembly_version_id=source.assembly_version_id,
            type=BomType.mbom,
            revision=revision,
            change_note=change_note or f"Derived from EBOM revision {source.revision}",
        ),
    )
    mbom.source_bom_id = source.id
    await copy_lines(session, source_id=source.id, target_id=mbom.id)
    return mbom


async def copy_lines(session: AsyncSession, *, source_id: uuid.UUID, target_id: uuid.UUID) -> int:
    """Copy every line (structure, effectivity, alternates) from one BOM to another."""
    items = (await session.scalars(select(BomItem).where(BomItem.bom_id == source_id))).all()
    mapping = {i.id: new_id() for i in items}
    columns = [
        c.key
        for c in BomItem.__table__.columns
        if c.key not in ("id", "bom_id", "parent_item_id", "version")  # a new line starts at 1
    ]
    parents = {i.id: i.parent_item_id for i in items}
    depth = _depths(parents)
    rows = [
        {
            **{c: getattr(i, c) for c in columns},
            "id": mapping[i.id],
            "bom_id": target_id,
            "parent_item_id": mapping[i.parent_item_id] if i.parent_item_id else None,
        }
        for i in sorted(items, key=lambda i: depth[i.id])
    ]
    await insert_rows(session, BomItem, rows)
    alternates = (
        await session.scalars(
            select(BomItemAlternate)
            .join(BomItem, BomItem.id == BomItemAlternate.item_id)
            .where(BomItem.bom_id == source_id)
        )
    ).all()
    if alternates:
        now = utcnow()
        await insert_rows(
            session,
            BomItemAlternate,
            [
                {
                    "id": new_id(),
                    "created_at": now,
                    "updated_at": now,
                    "item_id": mapping[a.item_id],
                    "part_id": a.part_id,
                    "approval": a.approval,
                    "rationale": a.rationale,
                    "decided_by_id": a.decided_by_id,
                }
                for a in alternates
            ],
        )
    return len(rows)


# --- where-used -------------------------------------------------------------------------------


async def where_used(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    part_id: uuid.UUID,
    expand: graph.Expand = "approved",
) -> list[WhereUsedRow]:
    """Each line using the part, once per path to a top assembly, with that path: through the
    sub-BOMs a tree expands into with ``expand`` (see :mod:`threadline.boms.graph`)."""
    rows, _parts = await _where_used(
        session, workspace_id=workspace_id, part_id=part_id, expand=expand
    )
    return rows


async def where_used_with_builds(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    part_id: uuid.UUID,
    expand: graph.Expand = "approved",
) -> WhereUsed:
    """:func:`where_used`, and the open MES line items building the part or any assembly on
    its paths up (:func:`threadline.mes.demand.service.builds_of_parts`): at most six
    statements whatever the depth."""
    rows, parts = await _where_used(
        session, workspace_id=workspace_id, part_id=part_id, expand=expand
    )
    builds = await demand.builds_of_parts(
        session, workspace_id=workspace_id, part_ids={part_id, *parts}
    )
    return WhereUsed(
        lines=rows,
        builds=[
            WhereUsedBuild(**dataclasses.asdict(build), direct=build.part_id == part_id)
            for build in builds
        ],
    )


async def _where_used(
    session: AsyncSession, *, workspace_id: uuid.UUID, part_id: uuid.UUID, expand: graph.Expand
) -> tuple[list[WhereUsedRow], set[uuid.UUID]]:
    """The where-used rows, and every part on their paths. Four statements (one when nothing
    uses the part)."""
    walk = await tree.where_used_rows(
        session, workspace_id=workspace_id, part_id=part_id, expand=expand
    )
    if not walk:
        return [], set()
    # The path column lists the line ids walked so far (hex with or without dashes, by dialect).
    chains = {r: tuple(uuid.UUID(x) for x in r.path.split("\x1f") if x) for r in walk}
    reached = {(r.start_id, chain) for r, chain in chains.items()}
    tops = [r for r in walk if (r.start_id, (*chains[r], r.item_id)) not in reached]
    item_ids = {i for r in tops for i in (*chains[r], r.item_id, r.start_id)}
    info = {
        row.id: row
        for row in (
            await session.execute(
                select(
                    BomItem.id,
                    BomItem.qty,
                    BomItem.bom_id,
                    BomItem.child_part_id,
                    Part.part_number,
                )
                .join(Part, Part.id == BomItem.child_part_id)
                .where(BomItem.id.in_(item_ids))
            )
        ).all()
    }
    bom_ids = {info[i].bom_id for i in item_ids}
    # Files of the assembly revision each BOM is for: its assembly_version_id, else the part's
    # current revision (the rule BOM lines follow).
    counts = graph.file_counts(workspace_id)
    boms = {
        row[0].id: row
        for row in (
            await session.execute(
                select(Bom, Part.part_number, counts.count(Bom.assembly_version_id))
                .join(Part, Part.id == Bom.assembly_part_id)
                .outerjoin(counts.by_part, counts.by_part.c.part_id == Bom.assembly_part_id)
                .outerjoin(
                    counts.by_revision,
                    counts.by_revision.c.part_version_id == Bom.assembly_version_id,
                )
                .where(Bom.id.in_(bom_ids))
            )
        ).all()
    }
    target = await session.scalar(select(Part.part_number).where(Part.id == part_id))
    out = []
    for r in tops:
        chain = [*chains[r], r.item_id]  # bottom → top
        top_bom, top_number, _top_files = boms[info[chain[-1]].bom_id]
        path = [top_number] + [info[i].part_number for i in reversed(chain)]
        start = info[r.start_id]
        bom, assembly_number, assembly_files = boms[start.bom_id]
        out.append(
            WhereUsedRow(
                bom_id=bom.id,
                bom_type=bom.type.value,
                bom_revision=bom.revision,
                bom_status=bom.status,
                assembly_part_id=bom.assembly_part_id,
                assembly_part_number=assembly_number,
                item_id=r.start_id,
                qty=Decimal(start.qty),
                level=len(path) - 1,
                path=path,
                top_bom_id=top_bom.id,
                top_assembly_part_number=top_number,
                files=assembly_files,
            )
        )
    assert all(row.path[-1] == target for row in out)
    out.sort(key=lambda w: (w.path, str(w.item_id)))
    # The parts on the paths: the part itself, the parts of the lines above it in their BOMs
    # (sub-assemblies spelled out inline) and the assemblies of the BOMs walked.
    parts = {info[i].child_part_id for i in item_ids}
    parts.update(row[0].assembly_part_id for row in boms.values())
    return out, parts


async def revision_of(session: AsyncSession, *, bom: Bom, revision: str | None) -> Bom:
    """The BOM of the same assembly and type at ``revision`` (``bom`` itself when None)."""
    if revision is None or revision == bom.revision:
        return bom
    other = await session.scalar(
        select(Bom).where(
            Bom.workspace_id == bom.workspace_id,
            Bom.assembly_part_id == bom.assembly_part_id,
            Bom.type == bom.type,
            Bom.revision == revision,
        )
    )
    if other is None:
        raise NotFound(
            f"No {bom.type.value.upper()} revision {revision!r} of this assembly.",
            code="BOM_NOT_FOUND",
        )
    return other


async def part_numbers(
    session: AsyncSession, part_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not part_ids:
        return {}
    return dict(
        (
            await session.execute(
                select(Part.id, Part.part_number).where(Part.id.in_(set(part_ids)))
            )
        ).all()
    )
