"""When the shop's machines work: downtimes, work schedules and labor
(mes-api-reference.txt ``/downtime/``, ``/work-schedule/``, ``/labor/``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import exists, select

from threadline.db import utcnow
from threadline.errors import Invalid
from threadline.mes.face import MesContext, invalid_value
from threadline.mes.resources import Links, Rules, Values
from threadline.mes.shop.models import Labor, WorkSchedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(?P<h>[01]\d|2[0-4]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?$")


def _merged(values: Values, row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields ``names`` as they will be after the write: the values sent over the row's."""
    return {n: values.get(n, getattr(row, n, None) if row is not None else None) for n in names}


class DowntimeRules(Rules):
    """Exactly one machine; ``start`` before ``finish``; ``status`` follows the clock unless
    set: scheduled before ``start``, in_progress until ``finish``, complete after."""

    MACHINES = ("printer_id", "post_processor_id", "shipping_id")

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        self._check(values, None)
        if values.get("status") is None:
            now = utcnow()
            start, finish = values["start"], values["finish"]
            values["status"] = (
                "scheduled" if now < start else "in_progress" if now < finish else "complete"
            )

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "status" in values and values["status"] is None:
            raise invalid_value("status", "may not be null")
        self._check(values, row)

    def _check(self, values: Values, row: Any) -> None:
        machines = _merged(values, row, self.MACHINES)
        if sum(v is not None for v in machines.values()) != 1:
            raise Invalid(
                "A downtime blocks exactly one machine: give one of printer, post_processor "
                "or shipping.",
                code="ONE_MACHINE_REQUIRED",
            )
        period = _merged(values, row, ("start", "finish"))
        if not period["start"] < period["finish"]:
            raise Invalid(
                "The start of a downtime must be before its finish.",
                code="INVALID_PERIOD",
                field="finish",
            )


def check_week(week: dict[str, Any]) -> None:
    """``week`` holds weekdays, each ``{"start": "HH:MM", "finish": "HH:MM"}`` with start before
    finish (``"24:00"`` ends a day); a day left out, or null, is not worked."""
    for day, hours in week.items():
        if day not in WEEKDAYS:
            raise invalid_value(
                "week", f"has an unknown day {day!r}; days are {', '.join(WEEKDAYS)}"
            )
        if hours is None:
            continue
        if not isinstance(hours, dict) or set(hours) != {"start", "finish"}:
            raise invalid_value(f"week.{day}", 'must be {"start": "HH:MM", "finish": "HH:MM"}')
        clock = []
        for edge in ("start", "finish"):
            value = hours[edge]
            match = _CLOCK.match(value) if isinstance(value, str) else None
            seconds = (
                int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"] or 0)
                if match
                else None
            )
            if seconds is None or seconds > 86400:
                raise invalid_value(
                    f"week.{day}.{edge}", "must be a time HH:MM between 00:00 and 24:00"
                )
            clock.append(seconds)
        if clock[0] >= clock[1]:
            raise invalid_value(f"week.{day}", "must start before it finishes")


class _PerWorkstationType(Rules):
    """Exactly one of ``printer_type`` / ``post_processor_type``, each with one record only."""

    model: Any = None
    attached = ""  # "a work-schedule", "a labor resource"

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await self._check(ctx, values, None)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await self._check(ctx, values, row)

    async def _check(self, ctx: MesContext, values: Values, row: Any) -> None:
        types = _merged(values, row, ("printer_type_id", "post_processor_type_id"))
        given = {k: v for k, v in types.items() if v is not None}
        if len(given) != 1:
            raise Invalid(
                "Give exactly one of printer_type or post_processor_type.",
                code="ONE_WORKSTATION_TYPE_REQUIRED",
            )
        ((column, type_id),) = given.items()
        clause = getattr(self.model, column) == type_id
        if row is not None:
            clause = clause & (self.model.id != row.id)
        if await ctx.session.scalar(select(exists().where(clause))):
            name = column.removesuffix("_id")
            raise Invalid(
                f"The requested {name} is already attached to {self.attached}.",
                code="ALREADY_ATTACHED",
                field=name,
            )


class WorkScheduleRules(_PerWorkstationType):
    """One schedule per workstation type; a ``calendar`` needs a valid ``week`` with at least
    one worked day (``non_stop`` ignores it)."""

    attached = "a work-schedule"

    model = WorkSchedule

    async def _check(self, ctx: MesContext, values: Values, row: Any) -> None:
        await super()._check(ctx, values, row)
        current = _merged(values, row, ("type", "week"))
        week = current["week"] or {}
        check_week(week)
        if current["type"] == "calendar" and not any(week.values()):
            raise Invalid(
                "A calendar work schedule needs at least one worked day in week.",
                code="EMPTY_WEEK",
                field="week",
            )


class LaborRules(_PerWorkstationType):
    """One labor record per workstation type."""

    attached = "a labor resource"
    model = Labor
