"""``threadline fsck``: missing and corrupt blobs make the vault unclean; orphans are reported and
removed by ``--repair`` without failing the check."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from threadline.app import create_app
from threadline.blobs import LocalBlobStore
from threadline.cli import app as cli
from threadline.config import get_settings

STEP = b"ISO-10303-21;\nHEADER;\nFILE_NAME('bracket');\nENDSEC;\nEND-ISO-10303-21;\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("THREADLINE_DATABASE_URL", "THREADLINE_REDIS_URL", "THREADLINE_BLOB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    monkeypatch.setenv("THREADLINE_DEMO", "0")
    monkeypatch.setenv("THREADLINE_ADMIN_PASSWORD", "admin-password-1")
    monkeypatch.setenv("THREADLINE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("THREADLINE_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, " ".join(result.output.split())


def _upload_one(home: Path) -> str:
    """Create the owner, a workspace and one file version through the API; its SHA-256."""
    assert _run("migrate")[0] == 0
    code, out = _run("user", "create", "admin@localhost", "--admin", "--password", "pw-123456789")
    assert code == 0, out
    token = _run("token", "create", "admin@localhost")[1].split()[-1]

    async def go() -> str:
        application = create_app(get_settings())
        transport = httpx.ASGITransport(app=application)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:
            assert (await c.post("/v1/workspaces", json={"name": "acme"})).status_code == 201
            r = await c.post(
                "/v1/upload", params={"workspace": "acme"}, files={"file": ("b.step", STEP, "x")}
            )
            assert r.status_code == 201, r.text
        await application.state.runtime.engine.dispose()
        return str(r.json()["sha256"])

    return asyncio.run(go())


def test_clean_vault(home):
    _upload_one(home)
    code, out = _run("fsck")
    assert code == 0, out
    assert "1 blobs checked: 0 missing, 0 corrupt, 0 orphaned" in out


def test_orphans_are_reported_and_repaired(home):
    _upload_one(home)
    store = LocalBlobStore(home / "blobs")
    orphan = asyncio.run(store.put_bytes(b"bytes of an upload that was refused")).sha256
    code, out = _run("fsck")
    assert code == 0, out
    assert f"orphan {orphan}" in out and "1 orphaned" in out
    code, out = _run("fsck", "--repair")
    assert code == 0, out
    assert not asyncio.run(store.exists(orphan))
    assert "0 orphaned" in _run("fsck")[1]


def test_corrupt_and_missing_blobs_fail_the_check(home):
    sha = _upload_one(home)
    path = LocalBlobStore(home / "blobs").path(sha)
    path.chmod(0o644)
    path.write_bytes(b"bit rot")
    code, out = _run("fsck")
    assert code == 1 and f"corrupt {sha}" in out and "(used by b.step)" in out
    path.unlink()
    code, out = _run("fsck")
    assert code == 1 and f"missing {sha}" in out
    # --repair never "fixes" a missing version by deleting rows: it stays unclean.
    assert _run("fsck", "--repair")[0] == 1
    with sqlite3.connect(home / "threadline.db") as db:
        assert db.execute("select count(*) from vault_file_versions").fetchone()[0] == 1


def test_mes_files_are_in_use_not_orphans(home):
    """A MES model's bytes live in the blob store by digest, with no vault version."""
    _upload_one(home)
    token = _run("token", "create", "admin@localhost")[1].split()[-1]
    data = b"solid cube\nendsolid cube\n"

    async def go() -> str:
        application = create_app(get_settings())
        transport = httpx.ASGITransport(app=application)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:
            bureau = (await c.get("/mes/bureau/")).json()["resources"][0]["uri"]
            r = await c.post("/mes/model/", json={"name": "cube.stl", "bureau": bureau})
            assert r.status_code == 204, r.text
            # any content type: the MES upload route streams, the body cap does not apply
            put = await c.put(
                r.headers["x-upload-location"], content=data, headers={"content-type": "model/stl"}
            )
            assert put.status_code == 204, put.text
        await application.state.runtime.engine.dispose()
        return hashlib.sha256(data).hexdigest()

    sha = asyncio.run(go())
    code, out = _run("fsck", "--repair")
    assert code == 0 and "0 orphaned" in out, out
    assert asyncio.run(LocalBlobStore(home / "blobs").exists(sha))
