"""No upload is lost: concurrent writers of one name with real commits, and a server killed in
the middle of an upload (DESIGN: the vault never loses bytes; productflo-sync-api: Upload)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.app import create_app
from threadline.audit.models import AuditEvent
from threadline.auth import service as auth
from threadline.auth.models import User, Workspace
from threadline.config import Settings
from threadline.db import create_sessionmaker

# --- (a) concurrent uploads with real commits -------------------------------------------------


@dataclass
class Committed:
    """A workspace and its owner committed to the real database, and the owner's client."""

    workspace: str
    owner: httpx.AsyncClient
    owner_name: str


@pytest.fixture
async def committed(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Committed]:
    """Outside the per-test rollback: the app has its own sessionmaker on the real engine, so
    concurrent requests really commit and really contend. Removed again afterwards."""
    tag = secrets.token_hex(4)
    workspace, username = f"rel-{tag}", f"rel{tag}"
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        user = await auth.create_user(
            session,
            email=f"{username}@example.com",
            password_hash="not-used",  # the token signs in
            name=username,
            username=username,
        )
        ws = await auth.create_workspace(session, user=user, name=workspace)
        _row, token = await auth.create_token(session, user=user, name="reliability")
        user_id, workspace_id = user.id, ws.id
    app = create_app(settings, engine=engine)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as client:
            yield Committed(workspace=workspace, owner=client, owner_name=username)
    finally:
        async with sessions() as session, session.begin():
            await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
            # the rows not in the workspace: the account's own audit trail, then the account
            await session.execute(delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            await session.execute(delete(User).where(User.id == user_id))


async def test_concurrent_uploads_lose_nothing(committed: Committed):
    c, ws, me = committed.owner, committed.workspace, committed.owner_name
    first = await c.post(
        "/v1/upload",
        params={"workspace": ws},
        files={"file": ("part.step", b"ISO-10303-21; v1", "x")},
    )
    assert first.status_code == 201, first.text
    base = first.json()["etag"]
    contents = [f"ISO-10303-21; writer {n} {secrets.token_hex(8)}".encode() for n in range(20)]

    async def write(data: bytes) -> httpx.Response:
        return await c.post(
            "/v1/upload",
            params={"workspace": ws},
            files={"file": ("part.step", data, "x")},
            data={"baseVersion": base},
        )

    responses = await asyncio.gather(*(write(data) for data in contents))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert winner["version"] == 2
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert all(p["code"] == "VERSION_CONFLICT" for p in conflicts)
    copies = [p["conflictPath"] for p in conflicts]
    assert len(set(copies)) == 19
    assert all(f"/v1/serve/{ws}/{me}/part_conflict_{me}_" in p for p in copies)

    # every writer's bytes are retrievable: the winner's as main, the others as their copies
    for data, r in zip(contents, responses, strict=True):
        path = r.json()["path"] if r.status_code == 200 else r.json()["conflictPath"]
        served = await c.get(path)
        assert served.status_code == 200 and served.content == data
    listed = await c.get("/v1/files", params={"workspace": ws, "pageSize": 100})
    assert listed.json()["total"] == 20
    versions = await c.get("/v1/versions", params={"path": winner["path"]})
    assert [v["version"] for v in versions.json()["items"]] == [2, 1]
    open_conflicts = await c.get("/v1/conflicts", params={"workspace": ws})
    assert open_conflicts.json()["total"] == 19


async def test_concurrent_first_uploads_of_one_name(committed: Committed):
    """With no file yet, one upload creates version 1 and the others become conflict copies."""
    c, ws = committed.owner, committed.workspace
    contents = [f"ISO-10303-21; first {n}".encode() for n in range(8)]
    responses = await asyncio.gather(
        *(
            c.post(
                "/v1/upload",
                params={"workspace": ws},
                files={"file": ("new.step", data, "x")},
            )
            for data in contents
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    for data, r in zip(contents, responses, strict=True):
        path = r.json()["path"] if r.status_code == 201 else r.json()["conflictPath"]
        assert (await c.get(path)).content == data


# --- (b) a server killed mid-upload -----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
THREADLINE = ROOT / ".venv" / "bin" / "threadline"
ADMIN_EMAIL = "admin@localhost"
ADMIN_PASSWORD = "crash-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    home: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [str(THREADLINE), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.home / "server.log").read_text()
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become healthy:\n" + self._log())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [str(THREADLINE), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def _log(self) -> str:
        path = self.home / "server.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not THREADLINE.exists():
        pytest.skip(f"{THREADLINE} not installed")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("THREADLINE_", "PF_", "CORS_", "MAX_UPLOAD"))
    }
    env |= {
        "THREADLINE_HOME": str(tmp_path),
        "THREADLINE_ADMIN_EMAIL": ADMIN_EMAIL,
        "THREADLINE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "THREADLINE_DEMO": "0",
        "THREADLINE_ARGON2_TIME_COST": "1",
        "THREADLINE_ARGON2_MEMORY_KIB": "1024",
        "THREADLINE_SECRET_KEY": "crash-test-secret",
    }
    s = Server(home=tmp_path, env=env, port=_free_port())
    try:
        yield s
    finally:
        s.kill()


def _partial_upload(
    server: Server, token: str, workspace: str, sent: int, declared: int
) -> socket.socket:
    """Open a raw connection and send a multipart upload that declares ``declared`` bytes of
    file but carries only ``sent``; the socket is left open (the server keeps waiting)."""
    boundary = "crashboundary"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="crash.step"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    request = (
        f"POST /v1/upload?workspace={workspace} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + declared + len(tail)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(request + head + b"ISO-10303-21;" + b"x" * (sent - 13))
    return sock


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_server_killed_mid_upload_leaves_no_version(server: Server):
    server.start()
    made = server.cli("token", "create", ADMIN_EMAIL, "--name", "crash")
    assert made.returncode == 0, made.stdout + made.stderr
    token = made.stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
        assert c.post("/v1/workspaces", json={"name": "crash"}).status_code == 201
        done = c.post(
            "/v1/upload",
            params={"workspace": "crash"},
            files={"file": ("done.step", b"ISO-10303-21; complete", "x")},
        )
        assert done.status_code == 201, done.text
        username = done.json()["username"]

    temp_dir = server.home / "blobs" / "tmp"

    def spooled_bytes() -> int:
        if not temp_dir.exists():
            return 0
        return sum(p.stat().st_size for p in temp_dir.glob("*.part"))

    before = spooled_bytes()
    sock = _partial_upload(server, token, "crash", sent=3 << 20, declared=50 << 20)
    try:
        # the server is streaming the body to the blob store when it dies
        _wait_for(lambda: spooled_bytes() > before)
        server.kill()
    finally:
        sock.close()

    server.start()
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
        files = c.get("/v1/files", params={"workspace": "crash"}).json()
        assert [(f["name"], f["version"]) for f in files["items"]] == [("done.step", 1)]
        assert c.get(f"/v1/serve/crash/{username}/crash.step").status_code == 404
        all_files = c.get("/v1/files/all", params={"workspace": "crash"}).json()
        assert all_files["total"] == 1
    server.stop()

    checked = server.cli("fsck")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    summary = " ".join(checked.stdout.split())  # rich may wrap the line
    assert "1 blobs checked: 0 missing, 0 corrupt, 0 orphaned" in summary
