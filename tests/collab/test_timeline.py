"""The file history aggregates versions, comments and tasks; versions carry the nearest comment."""

from tests.collab.conftest import upload
from tests.conftest import assert_problem


async def test_timeline_aggregates_versions_comments_and_tasks(alice, part):
    comment = await alice.client.post(
        "/v1/comments", json={"path": part.path, "body": "Fillet looks thin"}
    )
    assert comment.status_code == 201, comment.text
    task = await alice.client.post("/v1/tasks", json={"path": part.path, "title": "Thicken fillet"})
    assert task.status_code == 201, task.text
    await upload(alice.client, data=b"ISO-10303-21;\nv2\n", replace=True)

    everything = await alice.client.get(
        "/v1/timeline", params={"path": part.path, "types": "version,comment,task"}
    )
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert {i["type"] for i in items} == {"version", "comment", "task"}
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert sum(1 for i in items if i["type"] == "version") == 2

    only_comments = await alice.client.get(
        "/v1/timeline", params={"path": part.path, "types": "comment"}
    )
    assert [i["type"] for i in only_comments.json()["items"]] == ["comment"]
    assert_problem(
        await alice.client.get(
            "/v1/timeline", params={"path": part.path, "types": "version,bogus"}
        ),
        400,
        "INVALID_TYPES",
    )


async def test_versions_show_the_nearest_comment(alice, part):
    response = await alice.client.post(
        "/v1/comments",
        json={"path": part.path, "body": "Approved for print", "versionId": part.version_id},
    )
    assert response.status_code == 201, response.text
    versions = (await alice.client.get("/v1/versions", params={"path": part.path})).json()["items"]
    assert versions[-1]["comment"] == "Approved for print"
