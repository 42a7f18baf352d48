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

    ``spare_bits``: the counter is shifted left by that many bits, so every id ends in that many
    zero bits, free for a reader to number things derived from the row (the audit log's
    ``/event/`` ids: one per key of a row).
    """

    def __init__(self, spare_bits: int = 0) -> None:
        self._lock = threading.Lock()
        self._ms = 0
        self._counter = 0
        self._shift = spare_bits
        # a random start below 2^(72 - spare) leaves at least three times as many ids after it
        self._random_start = 1 << (72 - spare_bits)
        self._max = (1 << (74 - spare_bits)) - 1

    def __call__(self) -> uuid.UUID:
        high, counter = self._claim(1)
        counter <<= self._shift
        return _uuid(high | ((counter >> 62) << 64) | (counter & _LOW62))

    def many(self, n: int) -> list[uuid.UUID]:
        """``n`` ids in ascending order (one claim of the counter for all of them)."""
        high, first = self._claim(n)
        shift = self._shift
        return [
            _uuid(high | (((c << shift) >> 62) << 64) | ((c << shift) & _LOW62))
            for c in range(first, first + n)
        ]

    def _claim(self, n: int) -> tuple[int, int]:
        """The fixed bits (time, version, variant) and the first of ``n`` counter values."""
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._ms or self._counter + n > self._max:
                # a new millisecond, or this one's ids are used up: then borrow the next one
                self._ms = ms if ms > self._ms else self._ms + 1
                self._counter = secrets.randbelow(self._random_start) - 1
            first = self._counter + 1
            self._counter += n
            return (self._ms << 80) | (0x7 << 76) | (0b10 << 62), first


def _uuid(value: int) -> uuid.UUID:
    """A UUID of a value built valid: uuid.UUID(int=...) would check it again, 3x slower."""
    made = _blank_uuid(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", _UNKNOWN_SAFETY)
    return made


_LOW62 = (1 << 62) - 1
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown
_blank_uuid = object.__new__

_ids = _Uuid7()
new_id = _ids
"""A time-ordered UUID (v7): B-tree friendly primary keys without a central sequence."""
new_ids = _ids.many
"""``new_ids(n)``: n of them at once, ascending, for bulk writers."""


def id_generator(spare_bits: int) -> _Uuid7:
    """A generator of time-ordered ids whose last ``spare_bits`` bits are always zero."""
    return _Uuid7(spare_bits)


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
    """Bulk INSERT of ``rows`` (dicts with the same keys), without per-row ORM bookkeeping."""
    if rows:
        await insert_columns(session, model, {key: [row[key] for row in rows] for key in rows[0]})


async def insert_columns(
    session: AsyncSession, model: type[Base], values: dict[str, list[Any]]
) -> None:
    """Bulk INSERT of rows given column by column: ``values`` maps column keys to lists of one
    length, the n-th items making the n-th row. Writers of rows by the ten thousand (pieces,
    prints, BOM lines) build columns directly: a value shared by every row is ``[v] * n``.

    Values are converted as an INSERT would convert them (each column type's bind processing,
    Python-side defaults for columns left out), but each distinct value of a column once: the
    50,000 prints of one order share a handful of workspace, order, step and time values, and
    converting those per row cost more than writing the rows. The rows then go to the driver
    as they are: ``COPY`` on PostgreSQL (asyncpg's binary copy, several times faster than
    multi-row INSERTs), ``executemany`` elsewhere. Either way they are part of the session's
    transaction.
    """
    count = len(next(iter(values.values()), []))
    if not count:
        return
    await session.flush()  # the rows may reference objects still pending in the session
    connection = await session.connection()
    target = table(model)
    columns, records = _driver_records(connection.dialect, target, values, count)
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
    dialect: Dialect, target: Table, values: dict[str, list[Any]], count: int
) -> tuple[list[Column[Any]], list[tuple[Any, ...]]]:
    """The columns written, in the table's order (the compiled INSERT's), and one tuple of
    driver values per row."""
    columns: list[Column[Any]] = []
    raw: list[list[Any]] = []
    for column in target.columns:
        if column.key in values:
            given = values[column.key]
            if len(given) != count:
                raise ValueError(f"{target.name}.{column.key}: {len(given)} values, not {count}")
            raw.append(given)
        elif column.default is not None:
            arg = getattr(column.default, "arg", None)
            raw.append([arg(None) for _ in range(count)] if callable(arg) else [arg] * count)
        else:
            continue
        columns.append(column)
    unknown = set(values) - {column.key for column in columns}
    if unknown:
        raise ValueError(f"{target.name} has no columns {sorted(unknown)}")
    converted = [
        _convert(column.type._cached_bind_processor(dialect), column_values, column.primary_key)
        for column, column_values in zip(columns, raw, strict=True)
    ]
    return columns, list(zip(*converted, strict=True))


def _convert(process: Any, values: list[Any], unique: bool) -> list[Any]:
    """``values`` through a bind processor, each distinct value object once: columns of bulk
    rows repeat the same objects (``[workspace_id] * n``), so the memo is keyed by identity,
    which is cheaper than hashing a UUID and works for JSON documents too."""
    if process is None:
        return values
    if unique:
        return [process(value) for value in values]
    seen: dict[int, Any] = {}
    out = []
    last: Any = _MISSING
    converted: Any = None
    for value in values:
        if value is not last:  # runs of one object (a line item's pieces) skip the lookup
            key = id(value)  # every value stays alive in ``values``: no id is reused meanwhile
            converted = seen.get(key, _MISSING)
            if converted is _MISSING:
                seen[key] = converted = process(value)
            last = value
        out.append(converted)
    return out


_MISSING = object()


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
