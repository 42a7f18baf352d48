"""Custom fields (mes-api-reference.txt ``/custom_field/``): a bureau's definitions, and the
check of the ``custom_field_values`` that the resources carrying them accept.

The reference's definitions are "read only ... created only via admin script". Here a bureau's
managers define them on ``/custom_field/`` (the reference's own 403 says "Create, edit and delete
custom field can only bureau manager."); everyone else reads them. A value is
``{"custom_field_id": <field_id>, "value": ...}``; on every create or update that sends
``custom_field_values`` of a resource whose table has definitions, the values are checked
against the bureau's definitions for that table (:func:`check_values`, registered with
:mod:`threadline.mes.resources`): the value's type, its options, the required fields, and the
defaults filled in on create.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select

from threadline.errors import Invalid, NotFound
from threadline.mes.crosscut.models import CustomField
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.resources import (
    INT_MAX,
    INT_MIN,
    MAX_ARRAY,
    MAX_STRING,
    Resource,
)

TYPES = ("text", "textarea", "table", "integer", "float", "array", "date", "checkbox", "url")
# The tables whose resources carry ``custom_field_values`` in the reference (``/downtime/``,
# ``/line-item/``, ``/manufacturer/``, ``/material/``, ``/model-library/``, ``/order/``,
# ``/run/``, ``/service-provider/``), named as tables: the path segment with ``_`` for ``-``.
RELATED_TABLES = (
    "downtime",
    "line_item",
    "manufacturer",
    "material",
    "model_library",
    "order",
    "run",
    "service_provider",
)
DEFAULT_DESCRIPTION = "No details on this custom - field"
SCALAR_TYPES = ("text", "textarea", "integer", "float", "date", "url")
FIELD = "custom_field_values"
_CACHE = "mes_custom_field_definitions"


def table_name(kind: str) -> str:
    """The table a resource's values belong to: ``line-item`` → ``line_item``."""
    return kind.replace("-", "_")


def _invalid(what: str, code: str = "INVALID_CUSTOM_FIELD_VALUE", **extra: Any) -> Invalid:
    return Invalid(what, code=code, field=FIELD, **extra)


# --- one value against its type --------------------------------------------------------------


def coerce_value(kind: str, value: Any, name: str) -> Any:
    """``value`` checked as a value of a custom field of type ``kind``; returns it normalized
    (numbers from numeric strings, dates as ``YYYY-MM-DD``). ``None`` is "no value"."""
    if value is None:
        return None
    if kind in ("text", "textarea", "url"):
        if not isinstance(value, str) or len(value) > MAX_STRING or "\x00" in value:
            raise _invalid(
                f"The value of {name} must be a string of at most {MAX_STRING} characters."
            )
        if kind == "url" and value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise _invalid(f"The value of {name} must be an http(s) URL.")
        return value
    if kind == "integer":
        number = _number(value, name)
        if not float(number).is_integer() or not INT_MIN <= number <= INT_MAX:
            raise _invalid(f"The value of {name} must be an integer.")
        return int(number)
    if kind == "float":
        return float(_number(value, name))
    if kind == "checkbox":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _invalid(f"The value of {name} must be true or false.")
        return value
    if kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                try:
                    return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
                except ValueError:
                    pass
        raise _invalid(f"The value of {name} must be a date (YYYY-MM-DD).")
    if not isinstance(value, list) or len(value) > MAX_ARRAY:
        raise _invalid(f"The value of {name} must be an array of at most {MAX_ARRAY} items.")
    if kind == "table":
        if not all(isinstance(row, dict) for row in value):
            raise _invalid(f"The value of {name} must be an array of objects (the table's rows).")
        return value
    if not all(isinstance(item, (str, int, float, bool)) for item in value):
        raise _invalid(f"The value of {name} must be an array of strings or numbers.")
    return value


def _number(value: Any, name: str) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _invalid(f"The value of {name} must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"The value of {name} must be a number.")
    if not math.isfinite(value) or abs(value) > 1e15:
        raise _invalid(f"The value of {name} must be a finite number.")
    return value


def option_values(kind: str, options: list[Any] | None) -> list[Any]:
    """The values ``options`` allows: a bare value or an object's ``value``, as the type."""
    values = []
    for index, option in enumerate(options or []):
        raw = option.get("value") if isinstance(option, dict) else option
        name = f"options[{index}]"
        if raw is None or isinstance(raw, (dict, list)):
            raise Invalid(
                f"The value of {name} must be a value or an object with a value.",
                code="INVALID_FIELD",
                field="options",
            )
        try:
            values.append(coerce_value("text" if kind == "array" else kind, raw, name))
        except Invalid as exc:
            raise Invalid(exc.detail, code="INVALID_FIELD", field="options") from None
    return values


def parse_default(kind: str, default: str, options: list[Any]) -> Any:
    """A definition's ``default_value`` (text) as a value of its type; JSON for array/table."""
    raw: Any = default
    if kind in ("array", "table"):
        try:
            raw = orjson.loads(default)
        except orjson.JSONDecodeError:
            raise Invalid(
                "The value of default_value must be a JSON array for this type.",
                code="INVALID_FIELD",
                field="default_value",
            ) from None
    try:
        value = coerce_value(kind, raw, "default_value")
        check_options(kind, value, options, "default_value")
    except Invalid as exc:
        raise Invalid(exc.detail, code="INVALID_FIELD", field="default_value") from None
    return value


def check_options(kind: str, value: Any, allowed: list[Any], name: str) -> None:
    if not allowed or value is None:
        return
    given = value if kind == "array" else [value] if kind in SCALAR_TYPES else []
    wrong = [item for item in given if item not in allowed]
    if wrong:
        shown = ", ".join(str(v) for v in allowed)
        raise _invalid(f"The value of {name} must be one of the field's options: {shown}.")


# --- a row's values against the bureau's definitions -----------------------------------------


@dataclass(frozen=True)
class Definition:
    """What checking a value needs of a definition (kept for the request's duration)."""

    id: uuid.UUID
    field_id: str
    field_name: str
    type: str
    required: bool
    enabled: bool
    allowed: list[Any]
    default: Any  # None: no default


def forget_definitions(ctx: MesContext) -> None:
    """A definition changed: the next check reads them again."""
    ctx.session.info.pop(_CACHE, None)


async def definitions(ctx: MesContext, workspace_id: uuid.UUID, table: str) -> list[Definition]:
    """The bureau's definitions for ``table``, read once per request (an order's line items
    are checked against the same few definitions)."""
    cache: dict[tuple[uuid.UUID, str], list[Definition]] = ctx.session.info.setdefault(_CACHE, {})
    key = (workspace_id, table)
    if key not in cache:
        rows = await ctx.session.scalars(
            select(CustomField)
            .where(
                CustomField.workspace_id == workspace_id, CustomField.related_table_name == table
            )
            .order_by(CustomField.position, CustomField.field_id)
        )
        found = []
        for row in rows:
            allowed = option_values(row.type, row.options)
            default = (
                parse_default(row.type, row.default_value, allowed)
                if row.default_value is not None
                else None
            )
            found.append(
                Definition(
                    row.id, row.field_id, row.field_name, row.type, row.required, row.enabled,
                    allowed, default,
                )
            )  # fmt: skip
        cache[key] = found
    return cache[key]


def _definition_of(item_id: Any, found: list[Definition]) -> Definition:
    if not isinstance(item_id, str) or not item_id:
        raise _invalid("Every custom field value needs a custom_field_id (the field's field_id).")
    for definition in found:
        if definition.field_id == item_id:
            return definition
    try:
        ident = parse_uri(item_id, kinds=("custom_field",), field_name=FIELD)
    except Invalid:
        raise _invalid(
            f"Unknown custom field {item_id!r}: define it on /mes/custom_field/ first.",
            code="UNKNOWN_CUSTOM_FIELD",
            custom_field_id=item_id,
        ) from None
    for definition in found:
        if definition.id == ident:
            return definition
    raise NotFound(
        f"The requested custom_field cannot be found ({FIELD}: {item_id}).",
        code="RESOURCE_NOT_FOUND",
        field=FIELD,
    )


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


async def check_values(
    ctx: MesContext,
    resource: Resource,
    workspace_id: uuid.UUID,
    sent: list[Any] | None,
    current: list[Any] | None,
    creating: bool,
) -> list[Any] | None:
    """The ``custom_field_values`` to store for a create or an update that sent them.

    Values are stored as ``{"custom_field_id": field_id, "value": value}`` in the order sent.
    A value of a disabled field is refused unless the row already holds it (a GET body sent
    back); on create, enabled fields with a ``default_value`` that were not sent get it; every
    enabled required field must end up with a value.
    """
    found = await definitions(ctx, workspace_id, table_name(resource.kind))
    if not found and not sent:
        return sent
    held = [item for item in current or [] if isinstance(item, dict)]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in sent or []:
        if not isinstance(item, dict) or set(item) - {"custom_field_id", "value"}:
            raise _invalid(
                "Every custom field value must be an object with custom_field_id and value."
            )
        definition = _definition_of(item.get("custom_field_id"), found)
        if definition.field_id in seen:
            raise _invalid(
                f"The custom field {definition.field_id} is given twice.",
                code="DUPLICATE_CUSTOM_FIELD",
            )
        seen.add(definition.field_id)
        entry = {"custom_field_id": definition.field_id, "value": item.get("value")}
        if not definition.enabled:
            if entry not in held:
                raise _invalid(
                    f"The custom field {definition.field_id} is disabled.",
                    code="CUSTOM_FIELD_DISABLED",
                )
        else:
            name = f"{FIELD}[{definition.field_id}]"
            entry["value"] = coerce_value(definition.type, entry["value"], name)
            check_options(definition.type, entry["value"], definition.allowed, name)
        out.append(entry)
    for definition in found:
        if not definition.enabled or definition.field_id in seen:
            continue
        if creating and definition.default is not None:
            out.append({"custom_field_id": definition.field_id, "value": definition.default})
            seen.add(definition.field_id)
    values = {entry["custom_field_id"]: entry["value"] for entry in out}
    for definition in found:
        if definition.enabled and definition.required and _empty(values.get(definition.field_id)):
            raise _invalid(
                f"The custom field {definition.field_name} ({definition.field_id}) is required.",
                code="CUSTOM_FIELD_REQUIRED",
                custom_field_id=definition.field_id,
            )
    return out
