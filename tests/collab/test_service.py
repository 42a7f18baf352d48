"""Service functions the vault's history uses: timeline events and nearest comments; mentions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.collab.conftest import upload
from threadline.collab import service
from threadline.collab.models import Comment
from threadline.vault.models import FileVersion, VaultFile


def test_mentioned_usernames():
    text = "@Bob, @bob and @mike. mail x@y.com; @-nope @a.b_c- (@zed)"
    assert service.mentioned_usernames(text) == ["bob", "mike", "a.b_c", "zed"]
    assert service.mentioned_usernames("no mentions") == []


async def _file(sessionmaker, path: str) -> tuple[VaultFile, list[FileVersion]]:
    name = path.rsplit("/", 1)[1]
    async with sessionmaker() as session:
        file = await session.scalar(select(VaultFile).where(VaultFile.name == name))
        versions = (
            await session.scalars(
                select(FileVersion)
                .where(FileVersion.file_id == file.id)
                .order_by(FileVersion.number)
            )
        ).all()
        return file, list(versions)


async def test_timeline_events(alice, bob, part, sessionmaker):
    await alice.client.post("/v1/comments", json={"path": part.path, "body": "first"})
    r = await alice.client.post(
        "/v1/tasks", json={"path": part.path, "title": "T", "ownerEmail": "bob@example.com"}
    )
    deleted = await alice.client.post("/v1/tasks", json={"path": part.path, "title": "gone"})
    await alice.client.delete(f"/v1/tasks/{deleted.json()['id']}")
    await bob.client.post("/v1/comments", json={"path": part.path, "body": "second"})
    file, _versions = await _file(sessionmaker, part.path)
    async with sessionmaker() as session:
        events = await service.timeline_events(session, file=file, types={"comment", "task"})
        only_tasks = await service.timeline_events(session, file=file, types={"task", "version"})
        nothing = await service.timeline_events(session, file=file, types={"version"})
    assert [(e["type"], e.get("body") or e.get("title")) for e in events] == [
        ("comment", "second"),
        ("task", "T"),
        ("comment", "first"),
    ]
    assert all(e["at"].endswith("Z") for e in events)
    assert events[0]["author"] == "bob"
    assert events[1]["owner"] == "bob"
    assert events[1]["status"] == "open"
    assert [e["id"] for e in only_tasks] == [r.json()["id"]]
    assert nothing == []


async def test_nearest_comments(alice, part, sessionmaker):
    await upload(alice.client, "part.step", b"ISO-10303-21;\n/* v2 */\n", replace=True)
    await upload(alice.client, "part.step", b"ISO-10303-21;\n/* v3 */\n", replace=True)
    file, (v1, v2, v3) = await _file(sessionmaker, part.path)
    assert await _nearest(sessionmaker, file, [v1, v2, v3]) == {}

    await alice.client.post(
        "/v1/comments", json={"path": part.path, "body": "pinned to v1", "versionId": str(v1.id)}
    )
    await alice.client.post("/v1/comments", json={"path": part.path, "body": "early"})
    await alice.client.post("/v1/comments", json={"path": part.path, "body": "late"})
    # Place the loose comments in time: "early" next to v2, "late" well after v3.
    async with sessionmaker() as session:
        await session.execute(
            update(Comment)
            .where(Comment.body == "early")
            .values(created_at=v2.created_at + timedelta(seconds=1))
        )
        await session.execute(
            update(Comment)
            .where(Comment.body == "late")
            .values(created_at=v3.created_at + timedelta(hours=5))
        )
        await session.commit()
    nearest = await _nearest(sessionmaker, file, [v1, v2, v3])
    assert nearest == {v1.id: "pinned to v1", v2.id: "early", v3.id: "early"}


async def _nearest(sessionmaker, file, versions):
    async with sessionmaker() as session:
        return await service.nearest_comments(session, file=file, versions=versions)
