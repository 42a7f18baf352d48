"""Rules of ``/custom_field/`` definitions (mes-api-reference.txt ``/custom_field/``): bureau
managers define them; ``rights`` and ``use_count`` are computed for a page at once. The check of
the values themselves is :mod:`threadline.mes.crosscut.custom_fields`."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select, true

from threadline.auth.models import Role
from threadline.errors import Forbidden, Invalid
from threadline.mes.crosscut import custom_fields
from threadline.mes.crosscut.jsonsql import array_items, item_text
from threadline.mes.crosscut.models import CustomField
from threadline.mes.crosscut.service import served
from threadline.mes.face import MesContext, invalid_value
from threadline.mes.resources import Links, Rules, Values

MANAGER_ONLY = "Create, edit and delete custom field can only bureau manager."
_FIELD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _manager(ctx: MesContext, ws: uuid.UUID) -> None:
    role = ctx.roles.get(ws)
    if role is None or not role.at_least(Role.manager):
        raise Forbidden(MANAGER_ONLY, code="INSUFFICIENT_ROLE")


def _check_definition(kind: str, options: Any, default: Any) -> None:
    allowed = custom_fields.option_values(kind, options)
    if default is not None:
        custom_fields.parse_default(kind, default, allowed)


class CustomFieldRules(Rules):
    """Bureau managers define fields (``field_id`` unique per table, options and default valid
    for the type); ``rights`` and ``use_count`` are computed; a field in use can't be deleted."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        ws = values["workspace_id"]
        _manager(ctx, ws)
        if not _FIELD_ID.match(values["field_id"]):
            raise invalid_value("field_id", "must be letters, digits, '.', '_' or '-'")
        _check_definition(values["type"], values.get("options"), values.get("default_value"))
        taken = exists().where(
            CustomField.workspace_id == ws,
            CustomField.related_table_name == values["related_table_name"],
            CustomField.field_id == values["field_id"],
        )
        if await ctx.session.scalar(select(taken)):
            raise Invalid(
                f"A custom field {values['field_id']} already exists for "
                f"{values['related_table_name']}.",
                code="FIELD_ID_EXISTS",
            )
        values["edited_by_id"] = ctx.user.id
        custom_fields.forget_definitions(ctx)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        _manager(ctx, row.workspace_id)
        options = values.get("options", row.options)
        default = values.get("default_value", row.default_value)
        _check_definition(row.type, options, default)
        values["edited_by_id"] = ctx.user.id
        custom_fields.forget_definitions(ctx)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        _manager(ctx, row.workspace_id)
        counts = await self._use_counts(ctx, [row])
        if counts.get(row.id):
            raise Invalid(
                f"The custom field {row.field_id} has {counts[row.id]} values: disable it "
                "(enabled: false) instead of deleting it.",
                code="CUSTOM_FIELD_IN_USE",
            )
        custom_fields.forget_definitions(ctx)

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        counts = await self._use_counts(ctx, rows)
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            role = ctx.roles.get(row.workspace_id)
            writes = role is not None and role.at_least(Role.manager)
            out[row.id] = {
                "rights": ["read", "write"] if writes else ["read"],
                "use_count": counts.get(row.id, 0),
            }
        return out

    @staticmethod
    async def _use_counts(ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, int]:
        """How many stored values name each definition: one query per related table."""
        by_table: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_table[row.related_table_name].append(row)
        dialect = (await ctx.session.connection()).dialect.name
        counts: dict[uuid.UUID, int] = {}
        for table, defined in by_table.items():
            resource = served(table)
            field = resource.by_name.get(custom_fields.FIELD) if resource else None
            if resource is None or field is None:
                continue
            items = array_items(dialect, resource.attr(field.column))
            named = item_text(dialect, items.c.value, "custom_field_id")
            workspace = resource.attr("workspace_id")
            found = await ctx.session.execute(
                select(workspace, named, func.count())
                .select_from(resource.model)
                .join(items, true())  # lateral: the function reads the row beside it
                .where(
                    workspace.in_({row.workspace_id for row in defined}),
                    named.in_({row.field_id for row in defined}),
                )
                .group_by(workspace, named)
            )
            number = {(ws, field_id): n for ws, field_id, n in found}
            for row in defined:
                counts[row.id] = int(number.get((row.workspace_id, row.field_id), 0))
        return counts
