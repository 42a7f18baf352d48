"""When each queued run will happen (mes-api-reference.txt ``/schedule_runs/``).

A workstation works its queue in order, one run after another. A run takes its workstation
type's ``time_before_print`` + its own ``estimated_duration`` (an hour when nobody estimated it)
+ ``time_after_print``. It may not overlap a downtime of its machine (it starts after the
downtime's finish), and, when the workstation type has a ``calendar`` work schedule, it starts
only inside worked hours (a run, once started, runs to its end: machines print through the
night, operators start them by day). The first run starts when the runs in progress on the
machine end, or now.

:func:`plan` is the pure calculation; :func:`schedule_machine` reads one machine's queue,
downtimes and schedule in three queries and writes ``estimated_start``/``estimated_end``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from threadline.db import iso, utcnow
from threadline.errors import Invalid
from threadline.mes.auth import mes_context
from threadline.mes.face import (
    MesContext,
    created,
    json_body,
    json_response,
    list_response,
    parse_list_query,
    parse_uri,
)
from threadline.mes.floor import states
from threadline.mes.floor.models import Operation, Run, RunStatus
from threadline.mes.floor.runs import Journal
from threadline.mes.floor.workstations import MACHINE_COLUMN, MACHINE_KIND, run_machine, station
from threadline.mes.resources import REGISTRY, add_route, get_row
from threadline.mes.shop.availability import WEEKDAYS
from threadline.mes.shop.models import Downtime, WorkSchedule

DEFAULT_DURATION = 3600  # seconds, for a run nobody estimated
_HORIZON_DAYS = 366  # a calendar with no worked hour within a year schedules nothing


@dataclass(frozen=True)
class Week:
    """Worked hours per weekday (0 = Monday) as (start, finish) seconds, in UTC + offset."""

    hours: dict[int, tuple[int, int]]
    utc_offset: float = 0.0

    @classmethod
    def of(cls, schedule: WorkSchedule | None) -> Week | None:
        if schedule is None or schedule.type != "calendar":
            return None
        hours: dict[int, tuple[int, int]] = {}
        for day, span in (schedule.week or {}).items():
            if span:
                hours[WEEKDAYS.index(day)] = (_clock(span["start"]), _clock(span["finish"]))
        return cls(hours, schedule.utc_offset or 0.0)

    def next_start(self, t: datetime) -> datetime | None:
        """The first moment at or after ``t`` inside worked hours."""
        shift = timedelta(hours=self.utc_offset)
        local = t + shift
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(_HORIZON_DAYS):
            base = midnight + timedelta(days=day)
            span = self.hours.get(base.weekday())
            if span is None:
                continue
            opens, closes = base + timedelta(seconds=span[0]), base + timedelta(seconds=span[1])
            if local < closes:
                return max(local, opens) - shift
        return None


def _clock(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


@dataclass(frozen=True)
class Slot:
    run_id: uuid.UUID
    start: datetime | None
    end: datetime | None


def plan(
    begin: datetime,
    runs: Sequence[tuple[uuid.UUID, int]],
    downtimes: Sequence[tuple[datetime, datetime]],
    week: Week | None,
) -> list[Slot]:
    """Slots for ``runs`` (id, seconds), in order, from ``begin``; after a run that cannot be
    placed (no worked hour ahead) the rest are unscheduled too."""
    blocked = sorted(downtimes)
    out: list[Slot] = []
    cursor: datetime | None = begin
    for run_id, seconds in runs:
        if cursor is None:
            out.append(Slot(run_id, None, None))
            continue
        start: datetime | None = cursor
        for _ in range(len(blocked) + _HORIZON_DAYS + 1):
            if start is None:
                break
            if week is not None:
                start = week.next_start(start)
                if start is None:
                    break
            end = start + timedelta(seconds=seconds)
            clash = next((f for s, f in blocked if s < end and start < f), None)
            if clash is None:
                break
            start = clash
        if start is None:
            out.append(Slot(run_id, None, None))
            cursor = None
            continue
        end = start + timedelta(seconds=seconds)
        out.append(Slot(run_id, start, end))
        cursor = end
    return out


async def schedule_machine(ctx: MesContext, operation: Operation, machine_id: uuid.UUID) -> None:
    """Estimate every queued run of one machine (and audit the estimates that changed)."""
    session = ctx.session
    column = getattr(Run, MACHINE_COLUMN[operation])
    rows = list(
        (
            await session.scalars(
                select(Run)
                .where(
                    column == machine_id,
                    Run.operation == operation,
                    Run.status.in_(states.QUEUED | states.IN_PROGRESS),
                )
                .order_by(Run.queue_position, Run.created_at, Run.id)
            )
        ).all()
    )
    where = await station(session, MACHINE_KIND[operation], machine_id)
    if where is None:
        return
    downtime_column = {
        Operation.printing: Downtime.printer_id,
        Operation.post_processing: Downtime.post_processor_id,
        Operation.shipping: Downtime.shipping_id,
    }[operation]
    now = utcnow()
    downtimes = [
        (s, f)
        for s, f in (
            await session.execute(
                select(Downtime.start, Downtime.finish).where(
                    downtime_column == machine_id, Downtime.finish > now
                )
            )
        ).all()
    ]
    type_column = (
        WorkSchedule.printer_type_id
        if operation == Operation.printing
        else WorkSchedule.post_processor_type_id
    )
    week = None
    if operation != Operation.shipping:
        week = Week.of(
            await session.scalar(select(WorkSchedule).where(type_column == where.type_id))
        )
    begin = now
    for r in rows:
        if r.status in states.IN_PROGRESS:
            expected = r.estimated_end or now
            begin = max(begin, expected)
    queued = [r for r in rows if r.status in states.QUEUED]
    slots = plan(
        begin,
        [
            (
                r.id,
                where.time_before + (r.estimated_duration or DEFAULT_DURATION) + where.time_after,
            )
            for r in queued
        ],
        downtimes,
        week,
    )
    journal = Journal(ctx)
    for r, slot in zip(queued, slots, strict=True):
        journal.note("run", r, "estimated_start", r.estimated_start, slot.start)
        journal.note("run", r, "estimated_end", r.estimated_end, slot.end)
        r.estimated_start, r.estimated_end = slot.start, slot.end
    await session.flush()
    await journal.flush()


def estimate(ctx: MesContext, run: Run) -> dict[str, Any]:
    """One ``/schedule_runs/`` entry: keyed by its run."""
    return {
        "uri": f"{ctx.base_url}/mes/schedule_runs/{run.id}/",
        "run": ctx.uri("run", run.id),
        "edited_by": ctx.uri("users", run.schedule_edited_by_id)
        if run.schedule_edited_by_id
        else None,
        "estimates": {
            "run_type": run.operation.value,
            "time": {
                "duration": run.estimated_duration,
                "start": iso(run.estimated_start),
                "end": iso(run.estimated_end),
            },
        },
    }


async def _post(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Estimate the queue of a run's workstation, from that run on; an ``estimates.time``
    ``duration`` (seconds) given here becomes the run's own estimate first."""
    body = await json_body(request)
    if "run" not in body:
        raise Invalid("The field run is required.", code="FIELD_REQUIRED", field="run")
    run = await get_row(
        ctx, REGISTRY["run"], parse_uri(body["run"], kinds=("run",), field_name="run")
    )
    ctx.require(run.workspace_id, REGISTRY["run"].write_role)
    if run.status == RunStatus.calculating:
        raise Invalid(
            "Wait until estimation process for this run will finish", code="RUN_CALCULATING"
        )
    duration = ((body.get("estimates") or {}).get("time") or {}).get("duration")
    if duration is not None:
        if (
            not isinstance(duration, int)
            or isinstance(duration, bool)
            or not 0 <= duration <= 10**8
        ):
            raise Invalid(
                "The value of estimates.time.duration must be whole seconds.",
                code="INVALID_FIELD",
                field="estimates",
            )
        run.estimated_duration = duration
        run.schedule_edited_by_id = ctx.user.id
    machine = run_machine(run)
    if machine is None:
        raise Invalid(
            "A run needs its workstation before it is scheduled.", code="RUN_WORKSTATION_REQUIRED"
        )
    await schedule_machine(ctx, run.operation, machine)
    return created(f"{ctx.base_url}/mes/schedule_runs/{run.id}/")


async def _list(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """The scheduled runs of the caller's bureaus, soonest first (``filter[run]`` narrows)."""
    query = parse_list_query(request)
    stmt = select(Run).where(Run.workspace_id.in_(ctx.bureau_ids), Run.estimated_start.is_not(None))
    for flt in query.filters:
        if flt.name != "run":
            raise Invalid(f"Unknown filter: {flt.name}.", code="UNKNOWN_FILTER", field=flt.name)
        stmt = stmt.where(
            Run.id.in_([parse_uri(v, kinds=("run",), field_name="run") for v in flt.values])
        )
    count = await ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = (
        await ctx.session.scalars(
            stmt.order_by(Run.estimated_start, Run.id)
            .limit(query.page.limit)
            .offset(query.page.offset)
        )
    ).all()
    return list_response([estimate(ctx, r) for r in rows], count, query.page)


async def _get(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    run = await get_row(ctx, REGISTRY["run"], uuid)
    return json_response(estimate(ctx, run))


def mount_routes(router: APIRouter) -> None:
    tags = ["mes: schedule_runs"]
    add_route(
        router,
        "/schedule_runs/",
        _list,
        ["GET"],
        tags=tags,
        summary="List run estimates",
        name="mes.schedule_runs.list",
    )
    add_route(
        router,
        "/schedule_runs/",
        _post,
        ["POST"],
        tags=tags,
        summary="Estimate a run's workstation queue",
        name="mes.schedule_runs.post",
    )
    add_route(
        router,
        "/schedule_runs/{uuid}/",
        _get,
        ["GET"],
        tags=tags,
        summary="Get a run's estimate",
        name="mes.schedule_runs.get",
    )
