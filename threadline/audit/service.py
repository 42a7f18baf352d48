"""Write and read the audit log. Writing adds a row to the caller's transaction, never commits.

The log is the outbox of the live event stream (docs/events.md): every workspace row gets the
workspace's next event number ``seq`` as its transaction commits, and each server process's
relay (``events/broker.py``) reads committed rows "after seq N" and hands them to its streams.

The classic outbox gap: if two transactions took numbers 7 and 8 and the one holding 8
committed first, a reader that has delivered 8 would never go back for 7. Here numbers are
claimed at commit, from the workspace's :class:`AuditSequence` row, with one upsert
(``last_seq + n``) that row-locks it until the transaction ends: a second audited transaction
of the same workspace waits at its own commit until the first has committed or rolled back,
then continues from the committed value. So within a workspace, numbers are handed out in
commit order, with no holes (a rollback gives its numbers back), and "everything after N" is
exactly what a reader has not seen yet. The claim is the transaction's last statement, so the
lock is held only while committing and cannot take part in a deadlock. SQLite serialises
writers anyway; the same statements do the work there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, inspect, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from threadline.audit.models import AuditEvent, AuditSequence, new_audit_id
from threadline.auth.models import User, Workspace
from threadline.db import new_id, table, utcnow
from threadline.pagination import PageParams, paginate

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Entry:
    """An audit row recorded by :func:`record_many`: kept as plain values until its transaction
    commits, then inserted with its number by one bulk statement (no ORM object per row). The
    relay reads it as it reads an :class:`AuditEvent`."""

    id: uuid.UUID
    created_at: datetime
    workspace_id: uuid.UUID
    actor_id: uuid.UUID | None
    actor_label: str
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    notify: str | None = None
    seq: int | None = None
    # The session transaction (or savepoint) it was recorded in; None once that rolled back.
    transaction: SessionTransaction | None = field(default=None, repr=False)


# A logged row as the relay and replay need it: the row and its actor's username.
LoggedRow = tuple[AuditEvent | Entry, str | None]

# session.info keys: rows (with their actor's username) waiting for their number; rows numbered
# by the transaction being committed.
_UNNUMBERED = "audit_unnumbered"
_NUMBERED = "audit_numbered"

# Called (synchronously, in the event loop) after each commit of a transaction that wrote
# workspace audit rows, with those rows in number order: the process's relays register here,
# so that they deliver them at once.
_committed_listeners: list[Callable[[list[LoggedRow]], None]] = []


def record(
    session: AsyncSession,
    *,
    actor: User | None,
    workspace: Workspace | None,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    notify: str | None = None,
) -> AuditEvent:
    """Record one change in the same transaction as the change itself.

    If the surrounding transaction rolls back, so does this row: the log never claims a change
    that did not happen. A workspace change also becomes a live event once committed (the
    relay reads the log); ``notify``: only that username's streams receive it.
    """
    event = AuditEvent(
        workspace_id=workspace.id if workspace else None,
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "system",
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        notify=notify,
    )
    session.add(event)
    if workspace is not None:
        session.info.setdefault(_UNNUMBERED, []).append((event, actor.username if actor else None))
    return event


def record_many(
    session: AsyncSession,
    *,
    actor: User | None,
    workspace: Workspace,
    changes: Iterable[
        tuple[str, uuid.UUID | str, str, dict[str, Any] | None, dict[str, Any] | None]
    ],
) -> None:
    """Record many changes of one workspace — ``(entity_type, entity_id, action, before,
    after)`` each — as :func:`record` would, for writers of thousands of rows at once (the
    planner's runs, a run's prints and pieces). The rows are inserted as the transaction commits,
    numbered, by one bulk statement; a savepoint rolled back takes its rows with it."""
    sync = session.sync_session
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    now = utcnow()
    actor_id = actor.id if actor else None
    label = actor.email if actor else "system"
    username = actor.username if actor else None
    pending = session.info.setdefault(_UNNUMBERED, [])
    changes = list(changes)
    ids = new_audit_id.many(len(changes))
    for row_id, (entity_type, entity_id, action, before, after) in zip(ids, changes, strict=True):
        entry = Entry(
            id=row_id,
            created_at=now,
            workspace_id=workspace.id,
            actor_id=actor_id,
            actor_label=label,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
            transaction=transaction,
        )
        pending.append((entry, username))


@sa_event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    """A rolled-back transaction forgets its rows; a rolled-back savepoint only those recorded
    in it (or below it): its entries are dropped at commit (the session itself lets go of the
    ORM rows the savepoint added)."""
    if previous.parent is None:
        session.info.pop(_UNNUMBERED, None)
        session.info.pop(_NUMBERED, None)
        return
    for row, _actor in session.info.get(_UNNUMBERED, ()):
        if isinstance(row, Entry) and row.transaction is not None:
            here: SessionTransaction | None = row.transaction
            while here is not None and here is not previous:
                here = here.parent
            if here is previous:
                row.transaction = None


def _alive(row: AuditEvent | Entry) -> bool:
    """A recorded row still part of the transaction: an :class:`Entry` whose savepoint did not
    roll back, an ORM row still pending or flushed (the session lets go of what a rolled-back
    savepoint added)."""
    if isinstance(row, Entry):
        return row.transaction is not None
    state = inspect(row)
    return bool(state.pending or state.persistent)


def _claim(session: Session, workspace_id: uuid.UUID, count: int) -> int:
    """Reserve ``count`` numbers of the workspace; returns the last one. Locks the workspace's
    sequence row until the transaction ends (the first claim seeds it from the log)."""
    connection = session.connection()
    sequences = table(AuditSequence)
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    logged = (
        select(func.coalesce(func.max(AuditEvent.seq), 0) + count)
        .where(AuditEvent.workspace_id == workspace_id)
        .scalar_subquery()
    )
    statement = (
        dialect_insert(sequences)
        .values(id=new_id(), workspace_id=workspace_id, last_seq=logged, created_at=now,
                updated_at=now)
        .on_conflict_do_update(
            index_elements=[sequences.c.workspace_id],
            set_={"last_seq": sequences.c.last_seq + count, "updated_at": now},
        )
        .returning(sequences.c.last_seq)
    )  # fmt: skip
    last: int = connection.execute(statement).scalar_one()
    return last


_ENTRY_COLUMNS = tuple(f.name for f in fields(Entry) if f.name != "transaction")


@sa_event.listens_for(Session, "before_commit")
def number_rows(session: Session) -> None:
    """Give the transaction's workspace audit rows their numbers, in the order recorded; the
    commit's own flush then writes them. Runs as each transaction commits."""
    if session.in_nested_transaction() or not session.info.get(_UNNUMBERED):
        return
    by_workspace: dict[uuid.UUID, list[LoggedRow]] = {}
    for row, actor in session.info.pop(_UNNUMBERED):
        # Pending ORM rows go in with their number; rows already flushed get it by an UPDATE;
        # entries are inserted below.
        if _alive(row) and row.workspace_id is not None and row.seq is None:
            by_workspace.setdefault(row.workspace_id, []).append((row, actor))
    # One fixed order, so two transactions claiming for the same workspaces never deadlock.
    entries: list[dict[str, Any]] = []
    for workspace_id in sorted(by_workspace):
        rows = by_workspace[workspace_id]
        last = _claim(session, workspace_id, len(rows))
        for offset, (row, _actor) in enumerate(rows):
            row.seq = last - len(rows) + 1 + offset
            if isinstance(row, Entry):
                entries.append({name: getattr(row, name) for name in _ENTRY_COLUMNS})
    if entries:
        for row in entries:
            row["updated_at"] = row["created_at"]
        session.connection().execute(insert(table(AuditEvent)), entries)
    if by_workspace:
        session.info[_NUMBERED] = [logged for rows in by_workspace.values() for logged in rows]


@sa_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    numbered = session.info.pop(_NUMBERED, None)
    if numbered:
        for listener in list(_committed_listeners):
            try:
                listener(numbered)
            except Exception:  # a wake-up lost is a poll interval of delay, never a failed commit
                log.exception("audit commit listener failed")


def on_commit(listener: Callable[[list[LoggedRow]], None]) -> Callable[[], None]:
    """Call ``listener(rows)`` after every commit of audited workspace changes in this process;
    returns the function that stops it."""
    _committed_listeners.append(listener)
    return lambda: _committed_listeners.remove(listener)


# --- reading ------------------------------------------------------------------------------------


async def newest_seq(session: AsyncSession, *, workspace_id: uuid.UUID) -> int:
    """The workspace's last committed event number (0 before its first)."""
    newest = await session.scalar(
        select(func.max(AuditEvent.seq)).where(AuditEvent.workspace_id == workspace_id)
    )
    return int(newest or 0)


def _logged(condition: Any, limit: int) -> Select[AuditEvent, str | None]:
    return (
        select(AuditEvent, User.username)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(condition)
        .order_by(AuditEvent.workspace_id, AuditEvent.seq)
        .limit(limit)
    )


async def read_after(
    session: AsyncSession, *, cursors: dict[uuid.UUID, int], limit: int
) -> list[LoggedRow]:
    """Up to ``limit`` committed rows numbered after each workspace's cursor, in number order
    within a workspace: one statement for every workspace given."""
    if not cursors:
        return []
    condition = or_(
        *(
            and_(AuditEvent.workspace_id == workspace_id, AuditEvent.seq > after)
            for workspace_id, after in cursors.items()
        )
    )
    rows = await session.execute(_logged(condition, limit))
    return [(event, username) for event, username in rows]


def _list_statement(
    workspace: Workspace,
    entity_type: str | None,
    entity_id: str | None,
    action: str | None,
    since: datetime | None = None,
    until: datetime | None = None,
    actor_id: uuid.UUID | None = None,
) -> Select[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.workspace_id == workspace.id)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.created_at < until)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    # ids are UUIDv7, so id order is insertion order within the same timestamp.
    return stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


async def list_events(
    session: AsyncSession,
    *,
    workspace: Workspace,
    params: PageParams,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    actor_id: uuid.UUID | None = None,
) -> tuple[Sequence[AuditEvent], int]:
    """One page of a workspace's audit events, newest first, optionally narrowed (``since``
    inclusive, ``until`` exclusive; ``actor_id``: one user's changes)."""
    statement = _list_statement(workspace, entity_type, entity_id, action, since, until, actor_id)
    rows, total = await paginate(session, statement, params)
    return [row[0] for row in rows], total
