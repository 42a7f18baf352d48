"""Rules of the shop's catalog: materials, printer types, post-processor types, and the clone of
a template into a bureau (mes-api-reference.txt ``/material/``, ``/material//clone/``,
``/printer-type/``, ``/post-processor-type/``)."""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, false, or_, select
from sqlalchemy.sql.elements import ColumnElement

from threadline.db import Base
from threadline.errors import Invalid, NotFound
from threadline.mes.face import PREFIX, ListQuery, MesContext, invalid_value
from threadline.mes.resources import (
    REGISTRY,
    Links,
    Resource,
    Rules,
    Values,
    coerce,
    create_resource,
    get_row,
    load_links,
    snapshot,
)
from threadline.mes.shop.models import (
    Material,
    PostProcessor,
    PostProcessorType,
    Printer,
    PrinterType,
)
from threadline.mes.shop.service import (
    refuse_template_change,
    require_unique_name,
    template_clauses,
)

# ``units`` → ``units_measurement_core``, which "Can't be change by users" (``/material/``).
UNIT_CORES = {
    "cm3": "volume",
    "mm3": "volume",
    "inch3": "volume",
    "ml": "volume",
    "l": "volume",
    "gram": "weight",
    "kg": "weight",
    "lb": "weight",
    "each": "count",
    "meter": "length",
    "feet": "length",
    "meter2": "area",
    "feet2": "area",
}
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def check_build_volume(values: Values) -> None:
    """``build_volume`` is ``{"x", "y", "z"}`` in millimetres, each a positive number."""
    volume = values.get("build_volume")
    if volume is None:
        return
    if set(volume) != {"x", "y", "z"}:
        raise invalid_value("build_volume", 'must be an object {"x": mm, "y": mm, "z": mm}')
    for axis, size in volume.items():
        ok = isinstance(size, (int, float)) and not isinstance(size, bool)
        if not ok or not math.isfinite(size) or not 0 < size <= 1e6:
            raise invalid_value(f"build_volume.{axis}", "must be a positive number of mm")


def dedupe_links(links: Links) -> None:
    """A material named twice in ``materials`` is kept once, at its first position."""
    for name, ids in links.items():
        links[name] = list(dict.fromkeys(ids))


async def _has(ctx: MesContext, clause: ColumnElement[bool]) -> bool:
    return bool(await ctx.session.scalar(select(exists().where(clause))))


class MaterialRules(Rules):
    """Unique names; ``units_measurement_core`` follows ``units``; a material sold by weight
    needs its density; templates are hidden and read-only; a material in use stays."""

    MESSAGE = "The requested material name already exists."

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await require_unique_name(
            ctx, Material, values, self.MESSAGE, scope=("workspace_id", "is_template")
        )
        self._check(values, None)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        refuse_template_change(row, "material")
        await require_unique_name(
            ctx, Material, values, self.MESSAGE, row=row, scope=("workspace_id", "is_template")
        )
        self._check(values, row)

    @staticmethod
    def _check(values: Values, row: Any) -> None:
        units = values.get("units", row.units if row is not None else "cm3")
        values["units_measurement_core"] = UNIT_CORES[units]
        density = values.get("density", row.density if row is not None else None)
        if UNIT_CORES[units] == "weight" and not density:
            raise Invalid(
                "The density of the material (grams/cm^3) is required if units is by weight.",
                code="DENSITY_REQUIRED",
                field="density",
            )
        color = values.get("color")
        if color is not None and not _HEX_COLOR.match(color):
            raise invalid_value("color", "must be a HEX color such as #1A2B3C")

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        refuse_template_change(row, "material")
        if await material_in_use(ctx, row.id):
            raise Invalid(
                "You cannot delete this material because there are stocks or orders associated "
                "with it. Delete all orders and stocks using this material first.",
                code="MATERIAL_IN_USE",
            )

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        return template_clauses(Material, query)


async def material_in_use(ctx: MesContext, material_id: uuid.UUID) -> bool:
    """Whether an order's line item uses the material (stocks come with the next issue).

    The demand room's table is looked up by name: it builds on this room, not the reverse.
    """
    table = Base.metadata.tables.get("mes_line_items")
    if table is None:
        return False
    columns = [c for name, c in table.c.items() if name.endswith("material_id")]
    if not columns:
        return False
    return await _has(ctx, or_(*(c == material_id for c in columns)))


class PrinterTypeRules(Rules):
    """Unique names, a valid build volume, templates hidden and read-only, no delete while
    printers of the type exist; ``in_progress_max`` and ``active_printers`` come from them."""

    MESSAGE = "The requested printer type name already exists."

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await require_unique_name(
            ctx, PrinterType, values, self.MESSAGE, scope=("workspace_id", "is_template")
        )
        check_build_volume(values)
        dedupe_links(links)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        refuse_template_change(row, "printer type")
        await require_unique_name(
            ctx, PrinterType, values, self.MESSAGE, row=row, scope=("workspace_id", "is_template")
        )
        check_build_volume(values)
        dedupe_links(links)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        refuse_template_change(row, "printer type")
        if await _has(ctx, Printer.printer_type_id == row.id):
            raise Invalid(
                "You cannot delete this printer_type because there are printers associated "
                "with it. Delete all printers of this type first.",
                code="PRINTER_TYPE_IN_USE",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [row.id for row in rows]
        printers: dict[uuid.UUID, list[str]] = defaultdict(list)
        capacity: dict[uuid.UUID, int] = defaultdict(int)
        stmt = (
            select(Printer.printer_type_id, Printer.id, Printer.in_progress_max)
            .where(Printer.printer_type_id.in_(ids), Printer.archived.is_(None))
            .order_by(Printer.printer_type_id, Printer.created_at, Printer.id)
        )
        for type_id, printer_id, in_progress_max in await ctx.session.execute(stmt):
            printers[type_id].append(ctx.uri("printer", printer_id))
            capacity[type_id] += in_progress_max
        return {
            i: {"active_printers": printers.get(i, []), "in_progress_max": capacity.get(i, 0)}
            for i in ids
        }

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        return template_clauses(PrinterType, query)


class PostProcessorTypeRules(Rules):
    """Unique names, one ``special_type`` of each kind per bureau, a valid build volume, no
    delete while post-processors of the type exist."""

    MESSAGE = "The requested post processor type name already exists."

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await require_unique_name(ctx, PostProcessorType, values, self.MESSAGE)
        await self._check(ctx, values, values["workspace_id"], None)
        dedupe_links(links)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await require_unique_name(ctx, PostProcessorType, values, self.MESSAGE, row=row)
        await self._check(ctx, values, row.workspace_id, row.id)
        dedupe_links(links)

    @staticmethod
    async def _check(
        ctx: MesContext, values: Values, workspace_id: uuid.UUID, own: uuid.UUID | None
    ) -> None:
        check_build_volume(values)
        special = values.get("special_type")
        if special is not None:
            clause = (PostProcessorType.workspace_id == workspace_id) & (
                PostProcessorType.special_type == special
            )
            if own is not None:
                clause = clause & (PostProcessorType.id != own)
            if await _has(ctx, clause):
                raise Invalid(
                    f"This bureau already has a post-processor-type with special_type {special}: "
                    "one of each type is allowed per bureau.",
                    code="SPECIAL_TYPE_EXISTS",
                    field="special_type",
                )

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if await _has(ctx, PostProcessor.post_processor_type_id == row.id):
            raise Invalid(
                "You cannot delete this post_processor_type because there are post processors "
                "associated with it. Delete all post processors of this type first.",
                code="POST_PROCESSOR_TYPE_IN_USE",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [row.id for row in rows]
        out: dict[uuid.UUID, Values] = {
            i: {"active_post_processors": [], "archived_post_processors": []} for i in ids
        }
        stmt = (
            select(PostProcessor.post_processor_type_id, PostProcessor.id, PostProcessor.archived)
            .where(PostProcessor.post_processor_type_id.in_(ids))
            .order_by(PostProcessor.created_at, PostProcessor.id)
        )
        for type_id, machine_id, archived in await ctx.session.execute(stmt):
            key = "archived_post_processors" if archived else "active_post_processors"
            out[type_id][key].append(ctx.uri("post-processor", machine_id))
        return out


# --- clone ------------------------------------------------------------------------------------


async def clone_template(
    ctx: MesContext, resource: Resource, raw_id: str, body: dict[str, Any], missing: str
) -> Any:
    """Copy a template's fields and relations into a new resource of the caller's bureau (or
    the ``bureau`` the body names), ``base_template`` pointing at the source
    (mes-api-reference.txt ``/material//clone/``). Relations to another bureau are re-pointed
    at the target bureau's own clone of the same template, or left out when it has none."""
    try:
        source = await get_row(ctx, resource, raw_id)
    except NotFound:
        raise NotFound(missing, code="RESOURCE_NOT_FOUND") from None
    if not source.is_template:
        raise Invalid(
            f"Only a template {resource.label} can be cloned (is_template is false).",
            code="NOT_A_TEMPLATE",
        )
    unknown = sorted(set(body) - {"bureau"})
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(unknown)}.", code="UNKNOWN_FIELD", fields=unknown
        )
    links = await load_links(ctx, resource, [source.id])
    stored = snapshot(ctx, resource, source, {k: v.get(source.id, []) for k, v in links.items()})
    bureau = resource.by_name["bureau"]
    workspace_id = coerce(bureau, body["bureau"]) if "bureau" in body else ctx.default_bureau()
    copy: dict[str, Any] = {}
    for name, value in stored.items():
        f = resource.by_name[name]
        if name in ("bureau", "is_template", "base_template") or f.create_only:
            continue
        if f.kind == "uri" and value is not None:
            value = await _repoint(ctx, f.to[0], [value], workspace_id)
            value = value[0] if value else None
        elif f.kind == "uris":
            value = await _repoint(ctx, f.to[0], value, workspace_id)
        copy[name] = value
    copy.update(bureau=f"{PREFIX}/bureau/{workspace_id}/", is_template=False)
    same_bureau = source.workspace_id == workspace_id
    if same_bureau:
        copy["base_template"] = f"{PREFIX}/{resource.kind}/{source.id}/"
    row = await create_resource(ctx, resource, copy)
    if not same_bureau:
        # A template of another of the caller's bureaus: references are checked within one
        # bureau, so the link to the source is set once the row exists.
        row.base_template_id = source.id
        await ctx.session.flush()
    return row


async def _repoint(
    ctx: MesContext, kind: str, uris: list[str], workspace_id: uuid.UUID
) -> list[str]:
    """The target bureau's versions of ``uris``: the same row when it is the bureau's, else the
    bureau's clone of it (``base_template``); rows with neither are left out."""
    if kind not in REGISTRY:
        return uris
    target = REGISTRY[kind]
    ids = [uuid.UUID(u.rstrip("/").rsplit("/", 1)[-1]) for u in uris]
    id_col, ws_col = target.attr("id"), target.attr("workspace_id")
    mapping: dict[uuid.UUID, uuid.UUID] = {}
    rows = await ctx.session.execute(select(id_col).where(id_col.in_(ids), ws_col == workspace_id))
    mapping.update({i: i for (i,) in rows})
    if hasattr(target.model, "base_template_id"):
        base = target.attr("base_template_id")
        # The oldest clone wins (ids are time-ordered); PostgreSQL has no min() over uuid.
        clones = await ctx.session.execute(
            select(base, id_col)
            .where(base.in_(ids), ws_col == workspace_id, target.attr("is_template") == false())
            .order_by(id_col)
        )
        for source_id, clone_id in clones:
            mapping.setdefault(source_id, clone_id)
    return [f"{PREFIX}/{kind}/{mapping[i]}/" for i in ids if i in mapping]
