"""The ``threadline`` command against a throw-away THREADLINE_HOME and its embedded SQLite file.

``serve`` is not run here: it blocks. Everything it does before serving is ``_first_start``,
which ``demo`` exercises.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import make_url, text
from typer.testing import CliRunner

from tests.conftest import TEST_DATABASE_URL, requires_postgres
from tests.live import admin_execute
from threadline.auth import service as auth
from threadline.auth.security import token_hash
from threadline.cli import app
from threadline.config import get_settings, normalise_database_url
from threadline.db import create_engine, create_sessionmaker
from threadline.migrate import alembic_config

PASSWORD = "correct horse battery"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty THREADLINE_HOME, embedded SQLite, cheap argon2, no stray operator settings."""
    for name in (
        "THREADLINE_DATABASE_URL",
        "THREADLINE_REDIS_URL",
        "THREADLINE_ADMIN_EMAIL",
        "THREADLINE_ADMIN_PASSWORD",
        "THREADLINE_DEMO",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    monkeypatch.setenv("THREADLINE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("THREADLINE_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _query(home: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(home / "threadline.db") as db:
        return db.execute(sql, params).fetchall()


def _ok(runner: CliRunner, *args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_migrate_creates_the_schema(runner, home):
    assert not (home / "threadline.db").exists()

    result = _ok(runner, "migrate")

    assert "up to date" in result.output
    tables = {row[0] for row in _query(home, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "api_tokens", "workspaces", "memberships", "alembic_version"} <= tables
    # Running it again is harmless.
    _ok(runner, "migrate")
    assert _query(home, "SELECT count(*) FROM users") == [(0,)]


def test_user_create(runner, home):
    _ok(runner, "migrate")

    result = _ok(
        runner, "user", "create", "Ada@Example.com", "--password", PASSWORD, "--name", "Ada L"
    )

    assert "created user" in result.output
    assert "ada" in result.output
    rows = _query(home, "SELECT email, username, name, is_admin, password_hash FROM users")
    assert len(rows) == 1
    email, username, name, is_admin, password_hash = rows[0]
    assert (email, username, name, is_admin) == ("ada@example.com", "ada", "Ada L", 0)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


def test_user_create_admin(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "root@example.com", "--password", PASSWORD, "--admin")
    assert _query(home, "SELECT username, is_admin FROM users") == [("root", 1)]


def test_user_create_duplicate_email_exits_1(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "ada@example.com", "--password", PASSWORD)

    result = runner.invoke(app, ["user", "create", "ADA@example.com", "--password", PASSWORD])

    assert result.exit_code == 1, result.output
    assert "already exists" in result.output
    assert _query(home, "SELECT count(*) FROM users") == [(1,)]


def test_user_create_short_password_exits_1(runner, home):
    _ok(runner, "migrate")

    result = runner.invoke(app, ["user", "create", "ada@example.com", "--password", "short"])

    assert result.exit_code == 1, result.output
    assert "8 characters" in result.output
    assert _query(home, "SELECT count(*) FROM users") == [(0,)]


def test_token_create_prints_a_working_token(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "ada@example.com", "--password", PASSWORD)

    result = _ok(runner, "token", "create", "ada@example.com", "--name", "ci", "--days", "30")

    tokens = re.findall(r"tl_[A-Za-z0-9_-]{40,}", result.output)
    assert len(tokens) == 1, result.output
    rows = _query(
        home,
        "SELECT t.name, t.prefix, t.expires_at, u.email FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        token_hash(tokens[0]),
    )
    assert len(rows) == 1
    name, prefix, expires_at, email = rows[0]
    assert (name, prefix, email) == ("ci", tokens[0][:10], "ada@example.com")
    assert expires_at is not None
    # Only the hash is stored.
    assert not _query(home, "SELECT 1 FROM api_tokens WHERE token_hash = ?", tokens[0])


def test_token_create_for_unknown_user_exits_1(runner, home):
    _ok(runner, "migrate")

    result = runner.invoke(app, ["token", "create", "nobody@example.com"])

    assert result.exit_code == 1, result.output
    assert "nobody@example.com" in result.output
    assert _query(home, "SELECT count(*) FROM api_tokens") == [(0,)]


def test_demo_on_empty_database_creates_owner_and_workspace(runner, home):
    _ok(runner, "migrate")

    result = _ok(runner, "demo")

    assert "admin@localhost" in result.output
    assert "password" in result.output
    admins = _query(home, "SELECT id, email FROM users WHERE is_admin = 1")
    assert [email for _id, email in admins] == ["admin@localhost"]
    memberships = _query(
        home,
        "SELECT w.name, m.role, m.user_id FROM workspaces w "
        "JOIN memberships m ON m.workspace_id = w.id",
    )
    assert [(name, role) for name, role, _user in memberships] == [("demo", "owner")]
    assert memberships[0][2] == admins[0][0]


def test_demo_is_idempotent(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "demo")

    again = _ok(runner, "demo")

    assert "already exists" in again.output
    assert _query(home, "SELECT count(*) FROM workspaces WHERE name = 'demo'") == [(1,)]
    assert _query(home, "SELECT count(*) FROM users") == [(1,)]


def test_demo_with_configured_admin_and_seeding_off(runner, home, monkeypatch):
    monkeypatch.setenv("THREADLINE_ADMIN_EMAIL", "owner@example.com")
    monkeypatch.setenv("THREADLINE_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("THREADLINE_DEMO", "0")
    get_settings.cache_clear()
    _ok(runner, "migrate")

    result = _ok(runner, "demo")

    # The configured password is never echoed; the demo command seeds even with DEMO=0.
    assert PASSWORD not in result.output
    assert "created the demo workspace" in result.output
    assert _query(home, "SELECT email FROM users") == [("owner@example.com",)]
    assert _query(home, "SELECT name FROM workspaces") == [("demo",)]


def test_demo_without_administrator_explains(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "ada@example.com", "--password", PASSWORD)

    result = _ok(runner, "demo")

    assert "no administrator" in result.output
    assert _query(home, "SELECT count(*) FROM workspaces") == [(0,)]


def test_no_arguments_shows_help(runner, home):
    result = runner.invoke(app, [])
    assert "migrate" in result.output
    assert "demo" in result.output
    assert not (home / "threadline.db").exists()


# --- a home without a database: one line, non-zero, nothing created ---------------------------

COMMANDS_NEEDING_A_DATABASE = [
    ["demo"],
    ["user", "create", "ada@example.com", "--password", PASSWORD],
    ["user", "set-password", "ada@example.com", "--password", PASSWORD],
    ["token", "create", "ada@example.com"],
    ["import", "parts", "{file}", "-w", "demo"],
    ["import", "bom", "{file}", "--bom", "0190e8d2-7c4e-7000-8000-000000000000"],
    ["fsck"],
]


def _cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    return env | {"THREADLINE_HOME": str(home), **extra}


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real ``threadline`` entry point in a fresh process (no terminal, no stdin)."""
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", "from threadline.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("args", COMMANDS_NEEDING_A_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_command_on_a_home_without_database_says_so_and_creates_nothing(tmp_path, args):
    home = tmp_path / "home"
    home.mkdir()
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("part_number,name\nR-1,Resistor\n")

    done = _run_cli([a.format(file=sheet) for a in args], _cli_env(home))

    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        f"error: No Threadline database at {home / 'threadline.db'}; "
        "run `threadline migrate` or `make run` first."
    ]
    assert list(home.iterdir()) == []


def test_command_on_a_missing_home_does_not_create_it(tmp_path):
    home = tmp_path / "nowhere"

    done = _run_cli(["token", "create", "ada@example.com"], _cli_env(home))

    assert done.returncode == 1
    assert "No Threadline database" in done.stdout
    assert not home.exists()


def test_migrate_still_creates_the_database(tmp_path):
    done = _run_cli(["migrate"], _cli_env(tmp_path))

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "threadline.db").is_file()


def test_empty_database_file_is_not_a_threadline_database(runner, home):
    (home / "threadline.db").touch()  # what earlier releases left behind

    result = runner.invoke(app, ["token", "create", "ada@example.com"])

    assert result.exit_code == 1
    assert "No Threadline schema in the database at" in result.output
    assert _query(home, "SELECT name FROM sqlite_master") == []


def test_older_schema_asks_for_migrate(runner, home):
    _ok(runner, "migrate")
    (head,) = _query(home, "SELECT version_num FROM alembic_version")[0]
    older = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    with sqlite3.connect(home / "threadline.db") as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (older,))

    result = runner.invoke(app, ["token", "create", "ada@example.com"])

    assert result.exit_code == 1
    assert "older schema; run `threadline migrate`" in result.output


def test_schema_of_a_newer_release_is_refused(runner, home):
    _ok(runner, "migrate")
    with sqlite3.connect(home / "threadline.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 1
    assert "migrated by a newer Threadline (revision ffffffffffff)" in result.output


async def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


@requires_postgres
def test_postgresql_database_without_schema_says_so_and_creates_nothing(tmp_path):
    assert TEST_DATABASE_URL is not None
    name = f"tl_cli_{secrets.token_hex(4)}"
    url = make_url(normalise_database_url(TEST_DATABASE_URL)).set(database=name)
    asyncio.run(admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        env = _cli_env(tmp_path, THREADLINE_DATABASE_URL=url.render_as_string(hide_password=False))

        done = _run_cli(["user", "create", "ada@example.com", "--password", PASSWORD], env)

        assert done.returncode == 1, done.stderr
        assert done.stdout.strip().splitlines() == [
            f"error: No Threadline schema in the database at {url.render_as_string()}; "
            "run `threadline migrate` or `make run` first."
        ]
        assert asyncio.run(_tables(url.render_as_string(hide_password=False))) == []
        assert list(tmp_path.iterdir()) == []
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE "{name}"'))


# --- user set-password --------------------------------------------------------------------------

NEW_PASSWORD = "a brand new secret"


async def _sign_in(home: Path, email: str) -> None:
    """Open a browser session for ``email`` in the home's database, as a login would."""
    engine = create_engine(f"sqlite+aiosqlite:///{home / 'threadline.db'}")
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            user = await auth.user_by_email(session, email)
            assert user is not None
            await auth.start_session(session, user=user, days=1, user_agent="test")
    finally:
        await engine.dispose()


def _password_hash(home: Path, email: str) -> str:
    return _query(home, "SELECT password_hash FROM users WHERE email = ?", email)[0][0]


def _sessions(home: Path, email: str) -> int:
    return _query(
        home,
        "SELECT count(*) FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?",
        email,
    )[0][0]


def test_set_password_replaces_the_hash_and_ends_sessions(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "owner@example.com", "--password", PASSWORD, "--admin")
    _ok(runner, "user", "create", "bob@example.com", "--password", PASSWORD)
    _ok(runner, "token", "create", "owner@example.com")
    for email in ("owner@example.com", "owner@example.com", "bob@example.com"):
        asyncio.run(_sign_in(home, email))

    result = _ok(runner, "user", "set-password", "Owner@Example.com", "--password", NEW_PASSWORD)

    assert "set the password of owner@example.com" in result.output
    assert "ended 2 browser sessions" in result.output
    new_hash = _password_hash(home, "owner@example.com")
    assert new_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(new_hash, NEW_PASSWORD)
    with pytest.raises(VerificationError):
        PasswordHasher().verify(new_hash, PASSWORD)
    assert _sessions(home, "owner@example.com") == 0
    assert _sessions(home, "bob@example.com") == 1  # nobody else is signed out
    assert _query(home, "SELECT count(*) FROM api_tokens") == [(1,)]  # tokens are kept
    (after,) = _query(home, "SELECT after FROM audit_events WHERE action = 'set_password'")[0]
    assert json.loads(after) == {"sessionsEnded": 2}


def test_set_password_prompts_twice(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "ada@example.com", "--password", PASSWORD)

    result = runner.invoke(
        app,
        ["user", "set-password", "ada@example.com"],
        input=f"{NEW_PASSWORD}\nsomething else\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert "do not match" in result.output  # asked again after the mismatch
    assert NEW_PASSWORD not in result.output
    assert PasswordHasher().verify(_password_hash(home, "ada@example.com"), NEW_PASSWORD)


def test_set_password_for_unknown_email_exits_1(runner, home):
    _ok(runner, "migrate")

    result = runner.invoke(app, ["user", "set-password", "nobody@example.com"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: no user with e-mail nobody@example.com; nothing was changed"
    ]


def test_set_password_too_short_changes_nothing(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "user", "create", "ada@example.com", "--password", PASSWORD)
    before = _password_hash(home, "ada@example.com")

    result = runner.invoke(app, ["user", "set-password", "ada@example.com", "--password", "short"])

    assert result.exit_code == 1
    assert "8 characters" in result.output
    assert _password_hash(home, "ada@example.com") == before
