"""Run Alembic from code: ``threadline migrate``, first start, and the test suite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.db import UTCDateTime, create_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render Threadline's column types as plain SQLAlchemy types so migrations stand alone."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, JSON) and "postgresql" in obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    command.upgrade(alembic_config(url), "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Migrate through an existing engine (used by tests, which own their engine)."""
    config = alembic_config()

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(run)


@dataclass(frozen=True)
class SchemaState:
    """Where the database at a URL stands: its revision(s) against this release's head(s)."""

    current: frozenset[str]
    heads: frozenset[str]
    known: frozenset[str]

    @property
    def empty(self) -> bool:
        """No Threadline schema at all (a new database, or one never migrated)."""
        return not self.current

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    @property
    def from_newer_release(self) -> bool:
        """A revision this release's migrations do not contain."""
        return not self.current <= self.known


async def schema_state(url: str) -> SchemaState:
    """Read the database's Alembic revision without changing anything.

    Connection failures propagate; the caller decides how to say so. An embedded SQLite file
    must already exist (check first): connecting to a missing one would create it.
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = frozenset(scripts.get_heads())
    known = frozenset(revision.revision for revision in scripts.walk_revisions())
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    finally:
        await engine.dispose()
    return SchemaState(current=frozenset(current), heads=heads, known=known)
