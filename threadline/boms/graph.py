"""The BOM graph: which BOM a line expands into, and the lines of every BOM a tree reaches, in
one statement.

A line whose child part is the assembly of another BOM of the same type in the same workspace
expands into that BOM's lines — unless it has lines of its own under it in its BOM (the BOM then
spells the sub-assembly out itself). Which of the assembly's BOMs, by :data:`Expand` mode:

- ``approved`` (the default): its newest approved revision, else its newest revision;
- ``latest``: its newest revision, whatever its status;
- ``none``: no expansion, the BOM's own lines only.

"Newest" is the revision created last. The BOMs a tree reaches are found by one recursive CTE
over the graph (BOM → the BOMs its leaf lines expand into), joined to their lines in the same
statement — never a query per sub-assembly (STYLE: set-based). Writes keep the graph acyclic
(``service.check_no_cycles``); readers still stop at a BOM already on the path, so a corrupted
graph cannot recurse forever.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.boms.models import Bom, BomItem, BomType
from threadline.catalog.attachments import current_revision_query
from threadline.catalog.models import ApprovalStatus, Part, PartVersionFile

Expand = Literal["approved", "latest", "none"]
EXPAND_MODES: tuple[Expand, ...] = ("approved", "latest", "none")

# Sub-BOMs are expanded down to this level: deeper than any real product, and it bounds the
# walk (and Python's recursion) whatever the data.
MAX_LEVELS = 64


@dataclass(frozen=True)
class TreeOptions:
    """How a BOM's tree is read: which sub-BOMs it expands into, and how many levels it shows
    (``levels=1``: the BOM's own top lines; None: every level)."""

    expand: Expand = "approved"
    levels: int | None = None

    @property
    def depth(self) -> int | None:
        """The deepest level shown (None: every level; a line at MAX_LEVELS or deeper is not
        expanded into its sub-BOM)."""
        return self.levels


NO_EXPANSION = TreeOptions(expand="none")


def _outranks(better: Any, bom: Any, expand: Expand) -> ColumnElement[bool]:
    """``better`` is a BOM an assembly would expand into before ``bom`` (same assembly and
    type assumed): approved first with ``approved``, then created later, then the greater id."""
    newer = or_(
        better.created_at > bom.created_at,
        and_(better.created_at == bom.created_at, better.id > bom.id),
    )
    if expand != "approved":
        return newer
    approved = ApprovalStatus.approved
    return or_(
        and_(better.status == approved, bom.status != approved),
        and_(or_(better.status == approved, bom.status != approved), newer),
    )


def is_chosen(bom: Any, expand: Expand) -> ColumnElement[bool]:
    """``bom`` (a ``Bom`` alias) is the BOM its assembly's lines expand into with ``expand``:
    no other BOM of the same assembly and type outranks it. A correlated NOT EXISTS on the
    assembly's index, so each line costs one lookup however many BOMs the workspace has."""
    better = aliased(Bom)
    return ~exists().where(
        better.assembly_part_id == bom.assembly_part_id,
        better.type == bom.type,
        better.id != bom.id,
        _outranks(better, bom, expand),
    )


def has_lines_below(line: Any) -> ColumnElement[bool]:
    """``line`` has lines under it in its own BOM (such a line is not expanded)."""
    below = aliased(BomItem)
    return exists().where(below.parent_item_id == line.id)


def expands_into(line: Any, sub: Any, bom_type: BomType, expand: Expand) -> ColumnElement[bool]:
    """The join condition of ``line`` (a ``BomItem``) to ``sub`` (a ``Bom`` alias), the BOM of
    type ``bom_type`` its part expands into (the line's own children are not checked here)."""
    return and_(
        sub.assembly_part_id == line.child_part_id, sub.type == bom_type, is_chosen(sub, expand)
    )


def reached_boms(root: Bom, expand: Expand) -> CTE:
    """``bom_id`` of the root and of every BOM its tree expands into, at any depth (UNION:
    each once, and the recursion ends even on a cyclic graph). Each step follows a reached
    BOM's lines (by ``bom_id``) to their parts' BOMs (by assembly part): index lookups."""
    seed = select(Bom.id.label("bom_id")).where(Bom.id == root.id).cte("reached", recursive=True)
    here = seed.alias("here")
    line, sub = aliased(BomItem), aliased(Bom)
    step = (
        select(sub.id)
        .select_from(here)
        .join(line, line.bom_id == here.c.bom_id)
        .join(sub, expands_into(line, sub, root.type, expand))
        .where(~has_lines_below(line))
    )
    return seed.union(step)


@dataclass(frozen=True)
class FileCounts:
    """How many vault files are attached to the revision a line (or a BOM's assembly) stands
    for: its pinned revision when set, else its part's current one
    (:func:`threadline.catalog.attachments.current_revision_query`).

    Two grouped subqueries, each joined on one column — ``by_part`` (files of each part's
    current revision) on the part, ``by_revision`` on the pinned revision — so every database
    looks them up by index or hash rather than ranking revisions per line.
    """

    by_part: Any
    by_revision: Any

    def count(self, pinned: Any) -> ColumnElement[int]:
        """The count, given the pinned revision column (NULL: the current revision)."""
        return case(
            (pinned.is_(None), func.coalesce(self.by_part.c.files, 0)),
            else_=func.coalesce(self.by_revision.c.files, 0),
        )


def file_counts(workspace_id: uuid.UUID) -> FileCounts:
    """The :class:`FileCounts` subqueries of a workspace (only parts with files are ranked)."""
    attached = PartVersionFile.__table__
    with_files = select(PartVersionFile.part_id).where(PartVersionFile.workspace_id == workspace_id)
    current = current_revision_query(with_files).subquery("current_revision")
    by_part = (
        select(current.c.part_id, func.count().label("files"))
        .select_from(current)
        .join(attached, attached.c.part_version_id == current.c.version_id)
        .group_by(current.c.part_id)
        .subquery("part_files")
    )
    by_revision = (
        select(PartVersionFile.part_version_id, func.count().label("files"))
        .where(PartVersionFile.workspace_id == workspace_id)
        .group_by(PartVersionFile.part_version_id)
        .subquery("revision_files")
    )
    return FileCounts(by_part=by_part, by_revision=by_revision)


class LineSource:
    """The lines of every BOM a tree reaches, with what the walk needs beside each line's own
    columns: its BOM and the BOM it expands into (``sub_*``, NULL when none).

    Made by :func:`line_source`, which first asks the database which BOMs the tree reaches and
    whether the workspace has any attached files, so the lines' statement joins only what it
    needs: a BOM reaching no sub-BOM reads its lines alone, a workspace without attachments
    reads no file counts (on SQLite those joins cost a fifth of a 100,000-line explosion).
    """

    def __init__(
        self, root: Bom, options: TreeOptions, reached: Sequence[uuid.UUID], has_files: bool
    ) -> None:
        self.root = root
        self.options = options
        self.reached = [bom_id for bom_id in reached if bom_id != root.id]
        if self.reached:
            # The BOM a line expands into is one the recursion reached: every reached BOM but
            # the root is the one its assembly expands into, so a line finds its sub-BOM by a
            # hash or index join on the assembly over those few rows, not a ranking per line.
            self.sub: Any = (
                select(Bom.id, Bom.assembly_part_id, Bom.revision, Bom.status)
                .where(Bom.id.in_(self.reached))
                .subquery("sub_bom")
            )
            self.sub_id: ColumnElement[Any] = cast(self.sub.c.id, Text)
            self.sub_revision: ColumnElement[Any] = self.sub.c.revision
            self.sub_status: ColumnElement[Any] = self.sub.c.status
        else:
            self.sub = None
            self.sub_id = self.sub_revision = self.sub_status = null()
        self.file_counts = file_counts(root.workspace_id) if has_files else None
        self.files: ColumnElement[Any] = (
            self.file_counts.count(BomItem.child_version_id)
            if self.file_counts is not None
            else literal(0)
        )
        self.bom_id: ColumnElement[Any] = cast(BomItem.bom_id, Text)

    def bom_filter(self) -> ColumnElement[bool]:
        """``BomItem`` is a line of one of the BOMs this tree reads."""
        if not self.reached:
            return BomItem.bom_id == self.root.id
        return BomItem.bom_id.in_([self.root.id, *self.reached])

    def statement(self, *columns: Any, files: bool = True) -> Select[Any]:
        """SELECT ``columns`` over every line read, joined to its part (and to the file
        counts when ``files`` and the workspace has any)."""
        stmt = (
            select(*columns)
            .select_from(BomItem)
            .join(Part, Part.id == BomItem.child_part_id)
            .where(self.bom_filter())
        )
        if self.sub is not None:
            stmt = stmt.outerjoin(self.sub, self.sub.c.assembly_part_id == BomItem.child_part_id)
        counts = self.file_counts
        if files and counts is not None:
            stmt = stmt.outerjoin(
                counts.by_part, counts.by_part.c.part_id == BomItem.child_part_id
            ).outerjoin(
                counts.by_revision,
                counts.by_revision.c.part_version_id == BomItem.child_version_id,
            )
        return stmt


async def line_source(
    session: AsyncSession, root: Bom, options: TreeOptions = TreeOptions()
) -> LineSource:
    """The :class:`LineSource` of ``root``'s tree. One statement asks whether the workspace has
    attached files and whether any line of ``root`` uses the assembly of another BOM of its
    type (a probe per BOM of the workspace, on the lines' part index — not a look-up per line);
    only then does a second one find every BOM the tree reaches (one recursive CTE,
    :func:`reached_boms`)."""
    has_files = (
        exists()
        .where(PartVersionFile.workspace_id == root.workspace_id)
        .correlate(None)
        .label("has_files")
    )
    if options.expand == "none":
        found = bool(await session.scalar(select(has_files)))
        return LineSource(root, options, (), found)
    sub = aliased(Bom)
    uses_one = (
        exists()
        .where(
            sub.workspace_id == root.workspace_id,
            sub.type == root.type,
            sub.id != root.id,
            # By the lines' part index: the wrapped bom_id keeps SQLite (which has no
            # statistics) from reading all of root's lines by its bom_id index instead.
            exists().where(
                BomItem.child_part_id == sub.assembly_part_id,
                func.coalesce(BomItem.bom_id, BomItem.bom_id) == root.id,
            ),
        )
        .correlate(None)
        .label("uses_sub_boms")
    )
    found, candidates = (await session.execute(select(has_files, uses_one))).one()
    if not candidates:
        return LineSource(root, options, (), bool(found))
    reached = reached_boms(root, options.expand)
    rows = (await session.execute(select(reached.c.bom_id))).all()
    return LineSource(root, options, [row[0] for row in rows], bool(found))
