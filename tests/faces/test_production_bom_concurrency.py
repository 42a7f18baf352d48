"""Concurrent versioned edits of one production BOM get consecutive version numbers, never a
duplicate or a gap, and each version holds the entries the edit before it wrote (committed rows,
one connection per request: on PostgreSQL the BOM's row lock orders the edits)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import delete, select

from tests.conftest import requires_postgres
from threadline.app import create_app
from threadline.audit.models import AuditEvent
from threadline.auth import service as auth
from threadline.auth.models import Membership, Role, User, Workspace
from threadline.db import create_sessionmaker

WRITERS = 20


@requires_postgres
async def test_twenty_concurrent_edits_get_consecutive_versions(engine, settings) -> None:
    sessionmaker = create_sessionmaker(engine)
    tag = uuid.uuid4().hex[:8]
    async with sessionmaker() as session:
        user = User(
            email=f"edit-{tag}@example.com", username=f"edit-{tag}", name="Ed", password_hash="x"
        )
        workspace = Workspace(name=f"edits-{tag}")
        session.add_all([user, workspace])
        await session.flush()  # ids for the membership and the token
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.engineer))
        _row, token = await auth.create_token(session, user=user, name="race")
        await session.commit()
    app = create_app(settings, engine=engine)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            created = await client.post(
                "/api/bom",
                json={
                    "name": "Raced",
                    "entries": [
                        {
                            "partType": "Start",
                            "requiredQuantityPerBuild": 1,
                            "contributingJobIds": [],
                        }
                    ],
                },
            )
            assert created.status_code == 201, created.text
            bom_id = created.json()["id"]

            async def edit(k: int) -> httpx.Response:
                return await client.post(
                    f"/api/bom/{bom_id}/edit",
                    json={
                        "entries": [
                            {
                                "partType": f"Part {k}",
                                "requiredQuantityPerBuild": k + 1,
                                "contributingJobIds": [],
                            }
                        ],
                        "changeDescription": f"edit {k}",
                    },
                )

            responses = await asyncio.gather(*(edit(k) for k in range(WRITERS)))
            assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
            numbers = sorted(r.json()["versionNumber"] for r in responses)
            assert numbers == list(range(1, WRITERS + 1))

            versions = (
                await client.get(f"/api/bom/{bom_id}/versions", params={"pageSize": 100})
            ).json()["items"]
            assert [v["versionNumber"] for v in versions] == list(range(WRITERS, 0, -1))
            by_number = {v["versionNumber"]: v for v in versions}
            wrote = {r.json()["versionNumber"]: r.request.content for r in responses}
            # version n+1 is the entries that the edit which made version n wrote
            assert [e["partType"] for e in by_number[1]["entries"]] == ["Start"]
            for n in range(1, WRITERS):
                k = int(by_number[n]["changeDescription"].split()[1])
                assert f'"Part {k}"'.encode() in wrote[n]
                assert [e["partType"] for e in by_number[n + 1]["entries"]] == [f"Part {k}"]
            final = (await client.get(f"/api/bom/{bom_id}")).json()
            assert final["latestVersionNumber"] == WRITERS
            last_k = int(by_number[WRITERS]["changeDescription"].split()[1])
            assert [e["partType"] for e in final["entries"]] == [f"Part {last_k}"]

        async with sessionmaker() as session:
            audited = (
                await session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.entity_id == bom_id, AuditEvent.action == "bom_edited"
                    )
                )
            ).all()
            assert sorted(e.after["versionNumber"] for e in audited if e.after) == numbers
    finally:
        await app.state.runtime.broker.close()
        async with sessionmaker() as session:
            await session.execute(delete(Workspace).where(Workspace.id == workspace.id))
            await session.execute(delete(User).where(User.id == user.id))
            await session.commit()
