"""The run's state machine, as a table (mes-api-reference.txt ``/run/``).

The reference names the statuses and a few edges (mes-digest 3 F: "Queued -> In Progress"
starts production, ``complete`` ends the run, illegal changes answer 409 "The requested status
transformation is not allowed." unless ``force`` lets the caller "skip certain checks"); the
rest is what a floor needs. An edge marked ``forced`` is taken only with ``force: true``: it
skips a step (a queued run reported complete after the fact, a running run cancelled).
docs/mes/floor.md prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from threadline.errors import Conflict
from threadline.mes.floor.models import RunStatus as S

NOT_ALLOWED = "The requested status transformation is not allowed."


@dataclass(frozen=True)
class Edge:
    source: S
    target: S
    forced: bool = False
    why: str = ""


_WAITING = (S.calculating, S.calculated, S.queued, S.queued_work_ready)
_ACTIVE = (S.in_progress, S.paused)

RUN: tuple[Edge, ...] = (
    Edge(S.calculating, S.calculated, why="its estimates are in"),
    Edge(S.calculating, S.error, why="estimating failed"),
    Edge(S.calculated, S.queued, why="put in a workstation's queue"),
    Edge(S.queued, S.calculated, why="taken out of the queue"),
    Edge(S.queued, S.queued_work_ready, why="its build is prepared"),
    Edge(S.queued_work_ready, S.queued, why="its preparation is undone"),
    Edge(S.queued, S.in_progress, why="production starts: run and piece actuals begin"),
    Edge(S.queued_work_ready, S.in_progress, why="production starts: run and piece actuals begin"),
    Edge(S.calculated, S.in_progress, forced=True, why="started without queueing"),
    Edge(S.in_progress, S.paused, why="stopped for a while"),
    Edge(S.paused, S.in_progress, why="resumed"),
    Edge(S.in_progress, S.complete, why="done: actuals close, every print moves to its next step"),
    Edge(S.paused, S.complete, forced=True, why="finished while paused"),
    *(Edge(s, S.complete, forced=True, why="reported done after the fact") for s in _WAITING),
    *(Edge(s, S.error, why="the run failed") for s in (*_WAITING[1:], *_ACTIVE)),
    Edge(S.error, S.queued, why="retried: its prints wait again"),
    Edge(S.error, S.cancelled, why="given up"),
    *(Edge(s, S.cancelled, why="not run: its prints leave it") for s in _WAITING),
    *(Edge(s, S.cancelled, forced=True, why="stopped mid-way") for s in _ACTIVE),
)

FINAL = frozenset({S.complete, S.cancelled})
# The statuses of a run that stands in its workstation's queue, and of one on the machine.
QUEUED = frozenset(_WAITING)
IN_PROGRESS = frozenset(_ACTIVE)


def edge(source: str, target: str, *, force: bool) -> Edge:
    """The edge ``source → target``; 409 when there is none (or it needs ``force``)."""
    for candidate in RUN:
        if candidate.source == source and candidate.target == target:
            if candidate.forced and not force:
                break
            return candidate
    raise Conflict(
        NOT_ALLOWED, code="RUN_TRANSITION_NOT_ALLOWED", source=str(source), target=str(target)
    )
