"""Engine and session factory, the declarative ``Base`` and the column types every model shares.

One request is one transaction: :func:`get_session` yields a session and commits it after the
handler returns, or rolls it back when the handler raised. Services never commit.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
from fastapi import Depends, Request
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Enum,
    MetaData,
    Table,
    Uuid,
    event,
    insert,
    inspect,
    make_url,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

# Named constraints, so Alembic autogenerate and hand-written migrations agree on names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _Uuid7:
    """Time-ordered UUIDs (RFC 9562 version 7), monotonic within this process.

    48 bits of Unix milliseconds, then 74 bits that start at a random value each millisecond
    and count up within it (RFC 9562 6.2, method 2), so ids made in one millisecond — the
    10,000 pieces of one order — sort in the order they were made. About a microsecond each:
    bulk writers make one per row.
    """

    _RANDOM_START = 1 << 72  # a random start below this leaves 2^74 - 2^72 ids per millisecond
    _MAX = (1 << 74) - 1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ms = 0
        self._counter = 0

    def __call__(self) -> uuid.UUID:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._ms:
                self._ms, self._counter = ms, secrets.randbelow(self._RANDOM_START)
            elif self._counter < self._MAX:
                self._counter += 1
            else:  # a millisecond's ids are used up: borrow the next millisecond
                self._ms, self._counter = self._ms + 1, secrets.randbelow(self._RANDOM_START)
            ms, counter = self._ms, self._counter
        value = (
            (ms << 80) | (0x7 << 76) | ((counter >> 62) << 64) | (0b10 << 62) | (counter & _LOW62)
        )
        # uuid.UUID(int=...) re-validates a value built valid; setting the slots is 3x faster.
        made = _blank_uuid(uuid.UUID)
        object.__setattr__(made, "int", value)
        object.__setattr__(made, "is_safe", _UNKNOWN_SAFETY)
        return made


_LOW62 = (1 << 62) - 1
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown
_blank_uuid = object.__new__

new_id = _Uuid7()
"""A time-ordered UUID (v7): B-tree friendly primary keys without a central sequence."""


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """UTC timestamp as ISO-8601 with ``Z`` (the form the references show)."""
    return value.isoformat().replace("+00:00", "Z") if value else None


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base: every table has a UUID ``id`` and UTC ``created_at``/``updated_at``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime,
        uuid.UUID: Uuid,
        dict[str, Any]: JSONDoc,
        list[Any]: JSONDoc,
    }

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint on every database."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


def bump_version_on_update(model: type[Base]) -> None:
    """Every ORM UPDATE of ``model`` sets ``version`` to one more than the version it read.

    Optimistic concurrency (``threadline.concurrency``): writers lock the row before reading it,
    so the value read is the latest and the bump is exact. A plain value, not ``version + 1`` in
    SQL nor SQLAlchemy's ``version_id_col``, so the ORM still batches many rows' UPDATEs into one
    executemany (an import updating 10k parts). Core bulk UPDATEs bump ``version`` themselves.
    """

    @event.listens_for(model, "before_update")
    def _bump(_mapper: Any, _connection: Any, target: Any) -> None:
        session = Session.object_session(target)
        changed = session is not None and session.is_modified(target, include_collections=False)
        if changed and "version" not in inspect(target).committed_state:  # not set by hand
            target.version = target.version + 1


def table(model: type[Base]) -> Table:
    """The Core table of a model, for bulk statements that skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


# Rows per executemany INSERT. Parameters are bound per row there, so no bind-parameter limit
# applies; fewer, larger batches measured ~20% faster on PostgreSQL for 100k BOM lines.
INSERT_BATCH = 10_000


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT without per-row ORM bookkeeping; every row must have the same keys.

    Values are converted as an INSERT would convert them (each column type's bind processing,
    Python-side defaults for columns the rows leave out), but each distinct value of a column
    once: the 50,000 prints of one order share a handful of workspace, order, step and time
    values, and converting those per row cost more than writing the rows. The rows then go to
    the driver as they are: ``COPY`` on PostgreSQL (asyncpg's binary copy, several times faster
    than multi-row INSERTs), one ``executemany`` elsewhere. Either way the rows are part of the
    session's transaction.
    """
    if not rows:
        return
    await session.flush()  # the rows may reference objects still pending in the session
    connection = await session.connection()
    target = table(model)
    columns, records = _driver_records(connection.dialect, target, rows)
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # an open connection of the session's transaction
        await driver.copy_records_to_table(
            target.name,
            records=records,
            columns=[column.name for column in columns],
            schema_name=target.schema,
        )
        return
    statement = insert(target).compile(
        dialect=connection.dialect, column_keys=[column.key for column in columns]
    )
    sql = str(statement)
    for start in range(0, len(records), INSERT_BATCH):
        await connection.exec_driver_sql(sql, records[start : start + INSERT_BATCH])


def _driver_records(
    dialect: Dialect, target: Table, rows: list[dict[str, Any]]
) -> tuple[list[Column[Any]], list[tuple[Any, ...]]]:
    """The columns written and one tuple of driver values per row, in their order."""
    keys = list(rows[0])
    columns: list[Column[Any]] = [target.c[key] for key in keys]
    raw: list[list[Any]] = [[row[key] for row in rows] for key in keys]
    for column in target.columns:
        if column.key in rows[0] or column.default is None:
            continue
        arg = getattr(column.default, "arg", None)
        columns.append(column)
        raw.append([arg(None) for _ in rows] if callable(arg) else [arg] * len(rows))
    # In the table's order, which is the order of the compiled INSERT's columns.
    position = {column.key: index for index, column in enumerate(target.columns)}
    paired = sorted(zip(columns, raw, strict=True), key=lambda pair: position[pair[0].key])
    columns = [column for column, _ in paired]
    raw = [values for _, values in paired]
    converted = [
        _convert(column.type._cached_bind_processor(dialect), values, unique=column.primary_key)
        for column, values in zip(columns, raw, strict=True)
    ]
    return columns, list(zip(*converted, strict=True))


def _convert(process: Any, values: list[Any], *, unique: bool) -> list[Any]:
    """``values`` through a bind processor, each distinct (hashable) value once."""
    if process is None:
        return values
    if unique:
        return [process(value) for value in values]
    seen: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            out.append(seen[value])
        except KeyError:
            seen[value] = converted = process(value)
            out.append(converted)
        except TypeError:  # unhashable (a JSON document)
            out.append(process(value))
    return out


# SQLite has no row-level locking: a deferred transaction that later writes can fail with
# "database is locked" when another writer got there first. Requests that may write
# (unsafe HTTP methods, CLI commands) begin IMMEDIATE so they queue on busy_timeout instead.
sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=True
)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that SQLAlchemy controls itself.

    pysqlite's own implicit BEGIN breaks SAVEPOINT; per SQLAlchemy's SQLite dialect notes we
    turn it off and emit BEGIN from the ``begin`` event instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only; search must find "ÉCROU" from "écrou".
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "IMMEDIATE" if sqlite_write_intent.get() else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` with the dialect-specific settings Threadline relies on."""
    # JSON columns through orjson: several times faster than the stdlib on 100k-line BOMs.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit so handlers can render them."""
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=True, **kwargs)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit after the handler returns, roll back if it raised."""
    token = sqlite_write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))
    factory: async_sessionmaker[AsyncSession] = request.app.state.runtime.sessionmaker
    try:
        async with factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
    finally:
        sqlite_write_intent.reset(token)


# ``scope="function"`` closes the dependency when the handler returns, before the response is
# sent: a failing commit becomes the response instead of a success the client wrongly trusts.
SessionDep = Depends(get_session, scope="function")
