"""Fill a migration file's ``upgrade``/``downgrade`` with what the models add beyond its parent.

``python scripts/fill_migration.py migrations/versions/<file>.py`` migrates a throw-away SQLite
database to the file's parent revision, lets Alembic autogenerate the difference between the
models and that schema, and writes it into the file (which must already exist with its
revision ids). Models that later migrations own must not exist yet, or they land here too:
run it right after adding a room's models. Then ``ruff format`` the file and read it.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext

from threadline.db import Base, create_engine
from threadline.migrate import alembic_config, render_item
from threadline.models import load_all_models


async def diff(text: str) -> str:
    """The new upgrade/downgrade functions for the migration whose source is ``text``."""
    parent = re.search(r'down_revision: str \| None = "([0-9a-f]+)"', text)
    assert parent, "the file must name its down_revision"
    load_all_models()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{scratch}/fill.db")
        config = alembic_config()

        def run(connection: Any) -> tuple[str, str]:
            config.attributes["connection"] = connection
            command.upgrade(config, parent.group(1))
            context = MigrationContext.configure(
                connection,
                opts={
                    "target_metadata": Base.metadata,
                    "render_as_batch": True,
                    "compare_type": True,
                    "render_item": render_item,
                },
            )
            script = produce_migrations(context, Base.metadata)
            up = render_python_code(
                script.upgrade_ops, render_as_batch=True, render_item=render_item
            )
            down = render_python_code(
                script.downgrade_ops, render_as_batch=True, render_item=render_item
            )
            return up, down

        async with engine.begin() as connection:
            up, down = await connection.run_sync(run)
        await engine.dispose()
    up = up.replace(
        "sa.Boolean(), server_default=sa.text('0')", "sa.Boolean(), server_default=sa.false()"
    )
    body = (
        "def upgrade() -> None:\n" + _indent(up) + "\n\ndef downgrade() -> None:\n" + _indent(down)
    )
    head = text.split("def upgrade() -> None:")[0]
    imports = "import sqlalchemy as sa\nfrom alembic import op\n"
    if "postgresql." in body:
        imports += "from sqlalchemy.dialects import postgresql\n"
    if "import sqlalchemy as sa" not in head:
        head = head.replace(
            "from collections.abc import Sequence\n",
            "from collections.abc import Sequence\n\n" + imports,
        )
    return head + body


def _indent(code: str) -> str:
    lines = [line for line in code.strip("\n").splitlines() if "### " not in line]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.write_text(asyncio.run(diff(target.read_text())))
