"""The ``threadline`` command against a throw-away THREADLINE_HOME and its embedded SQLite file.

``serve`` is not run here: it blocks. Everything it does before serving is ``_first_start``,
which ``demo`` exercises.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadline.auth.security import token_hash
from threadline.cli import app
from threadline.config import get_settings

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
