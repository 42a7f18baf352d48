"""Models, design files and documents: the two-step upload into the blob store, signed links,
processing to geometry (real STL and STEP bytes), tenancy, bad bytes, vault versions, replace."""

from __future__ import annotations

import hashlib
import struct
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from threadline.mes.files import links, processing

CAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-boms" / "cad"


def cube_stl(edge: float = 10.0) -> bytes:
    """A binary STL of a closed cube: 12 triangles, volume edge³."""
    e = edge
    v = [(0, 0, 0), (e, 0, 0), (e, e, 0), (0, e, 0), (0, 0, e), (e, 0, e), (e, e, e), (0, e, e)]
    faces = [
        (0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
        (1, 2, 6), (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 0, 4), (3, 4, 7),
    ]  # fmt: skip
    out = bytearray(b"\0" * 80 + struct.pack("<I", len(faces)))
    for a, b, c in faces:
        out += struct.pack("<3f", 0, 0, 0)
        for i in (a, b, c):
            out += struct.pack("<3f", *v[i])
        out += b"\0\0"
    return bytes(out)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The jobs enqueued; run with :func:`run_jobs` (the worker's part, in the test's session)."""
    queued: list[dict[str, Any]] = []

    async def enqueue(session: Any, kind: str, row: Any) -> None:
        queued.append({"kind": kind, "id": str(row.id)})

    monkeypatch.setattr(processing, "enqueue", enqueue)
    return queued


async def run_jobs(app: Any, queued: list[dict[str, Any]]) -> None:
    pytest.importorskip("threadline.mes.files.geometry")
    runtime = app.state.runtime
    handle = processing.job_handler(runtime.blobs)
    while queued:
        job = SimpleNamespace(payload=queued.pop(0))
        async with runtime.sessionmaker() as session:
            await handle(session, job)
            assert job.payload["kind"] in processing.MODELS
            await session.commit()


async def related(mes: Mes) -> dict[str, str]:
    """What a document is attached to: a material of the caller's bureau."""
    uri = await mes.create("material", {"name": f"PA12 {uuid.uuid4().hex[:6]}", "type": "base"})
    return {"related_table_name": "material", "related_uuid": uri.rstrip("/").rsplit("/", 1)[1]}


async def put(mes: Mes, location: str, data: bytes) -> Any:
    """PUT raw bytes as application/octet-stream (threadline/middleware.py caps other types)."""
    headers = {"content-type": "application/octet-stream"}
    return await mes.client.put(location, content=data, headers=headers)


async def test_model_round_trip(mes: Mes, app: Any, jobs: list[dict[str, Any]]) -> None:
    response = await mes.client.post("/mes/model/", json={"name": "cube.stl"})
    assert response.status_code == 204, response.text
    uri, upload = response.headers["location"], response.headers["x-upload-location"]
    model = await mes.get(uri)
    assert model["status"] == "not-uploaded" and model["virus_scan"] == "unscanned"
    assert model["upload-location"] and model["content"] is None and model["type"] == "stl"
    data = cube_stl(10)
    assert (await put(mes, upload, data)).status_code == 204
    assert (await mes.get(uri))["status"] == "processing"
    assert_problem(await put(mes, upload, data), 400, "ALREADY_UPLOADED")
    await run_jobs(app, jobs)
    model = await mes.get(uri)
    assert model["status"] == "processed" and model["virus_scan"] == "passed"
    assert model["polygons"] == 12 and model["file_size"] == len(data)
    assert model["volume_mm"] == pytest.approx(1000, rel=1e-3)
    assert model["surface_area_mm"] == pytest.approx(600, rel=1e-3)
    assert model["size"] == pytest.approx({"x": 10, "y": 10, "z": 10})
    async with app.state.runtime.sessionmaker() as session:  # fsck must keep these bytes
        assert hashlib.sha256(data).hexdigest() in await processing.stored_digests(session)
    download = await mes.client.get(model["content"])
    assert download.status_code == 200 and download.content == data
    await mes.update(uri, {"file_unit": "cm"})  # the same file read in cm: 10x the size
    assert (await mes.get(uri))["size"]["x"] == pytest.approx(100)


async def test_signed_link_expires_and_is_tamper_proof(
    mes: Mes, app: Any, jobs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await mes.client.post(
        "/mes/document/",
        json={"name": "a.pdf", **await related(mes)},
    )
    uri, upload = response.headers["location"], response.headers["x-upload-location"]
    assert (await put(mes, upload, b"%PDF-1.4 hello")).status_code == 204
    await run_jobs(app, jobs)
    content = (await mes.get(uri))["content"]
    assert (await mes.client.get(content)).content == b"%PDF-1.4 hello"
    assert_problem(await mes.client.get(content.replace("sig=", "sig=0")), 403, "SIGNATURE_INVALID")
    later = links.now_ms() + links.TTL_MS + 1
    monkeypatch.setattr(links, "now_ms", lambda: later)
    assert_problem(await mes.client.get(content), 410, "SIGNED_URL_EXPIRED")


async def test_step_design_file_unpacks_into_its_model(
    mes: Mes, app: Any, jobs: list[dict[str, Any]]
) -> None:
    path = CAD / "bitaxe_SW_CS1213AGF260_CRS.step"
    if not path.exists():
        pytest.skip(f"{path} not present")
    response = await mes.client.post("/mes/design-file/", json={"name": path.name})
    assert response.status_code == 204, response.text
    design_uri, model_uri = response.headers["location"], response.headers["model-location"]
    assert (await mes.get(design_uri))["format"] == "step"
    assert (
        await put(mes, response.headers["x-upload-location"], path.read_bytes())
    ).status_code == 204
    await run_jobs(app, jobs)
    design, model = await mes.get(design_uri), await mes.get(model_uri)
    assert design["status"] == "processed" and design["virus_scan"] == "passed"
    assert model["status"] == "processed" and model["design_file"] == design_uri
    assert model["conversion_original_type"] == "step" and model["conversion_status"] == "complete"
    assert model["volume_mm"] > 0 and model["polygons"] > 0 and min(model["size"].values()) > 0


async def test_garbage_and_huge_bytes_end_in_error(
    mes: Mes, app: Any, jobs: list[dict[str, Any]]
) -> None:
    response = await mes.client.post("/mes/design-file/", json={"name": "junk.stl"})
    design_uri, model_uri = response.headers["location"], response.headers["model-location"]
    await put(mes, response.headers["x-upload-location"], b"solid nothing here\x00\xff" * 10)
    await run_jobs(app, jobs)
    design = await mes.get(design_uri)
    assert design["status"] == "error" and design["notes"]
    assert (await mes.get(model_uri))["status"] == "irreparable"
    app.state.runtime.settings.max_upload_mb = 1
    response = await mes.client.post("/mes/model/", json={"name": "big.stl"})
    big = await put(mes, response.headers["x-upload-location"], b"\0" * (1024 * 1024 + 1))
    assert_problem(big, 413, "FILE_TOO_LARGE")
    assert (await mes.get(response.headers["location"]))["status"] == "file-too-large"


async def test_other_bureau_is_404(mes: Mes, other_mes: Mes) -> None:
    theirs = await other_mes.create("model", {"name": "secret.stl"})
    assert_problem(await mes.client.get(theirs), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.put(theirs, json={"name": "x"}), 404)
    assert_problem(await mes.client.delete(theirs), 404)
    order_like = await other_mes.create("location", {"name": "Their HQ", "address": "x"})
    assert order_like
    doc = await other_mes.create(
        "document",
        {"name": "d.pdf", **await related(other_mes)},
    )
    assert_problem(await mes.client.post(doc + "replace/", json={"name": "x"}), 404)


async def test_bad_input(mes: Mes) -> None:
    post = mes.client.post
    assert_problem(
        await post("/mes/model/", json={"name": "a", "type": "obj"}), 400, "INVALID_FIELD"
    )
    assert_problem(await post("/mes/model/", json={"name": "a", "colour": 1}), 400, "UNKNOWN_FIELD")
    assert_problem(await post("/mes/design-file/", json={"name": "noext"}), 400, "FIELD_REQUIRED")
    body = {"name": "a", "related_table_name": "nope", "related_uuid": str(uuid.uuid4())}
    assert_problem(await post("/mes/document/", json=body), 400, "INVALID_FIELD")
    body = {"name": "a", "related_table_name": "order", "related_uuid": "x"}
    assert_problem(await post("/mes/document/", json=body), 400, "INVALID_FIELD")
    response = await post("/mes/model/", json={"name": "a"})
    upload = response.headers["x-upload-location"]
    assert_problem(await mes.client.put(upload.replace("sig=", "sig=1"), content=b"x"), 403)


async def test_design_file_from_vault_version(
    mes: Mes, app: Any, jobs: list[dict[str, Any]]
) -> None:
    data = cube_stl(20)
    response = await mes.client.post(
        "/v1/upload",
        params={"workspace": "acme"},
        files={"file": ("bracket.stl", data, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    version = response.json()["versionId"]
    response = await mes.client.post("/mes/design-file/", json={"vault_file_version": version})
    assert response.status_code == 204, response.text
    assert "x-upload-location" not in response.headers
    design_uri, model_uri = response.headers["location"], response.headers["model-location"]
    design = await mes.get(design_uri)
    assert design["name"] == "bracket.stl" and design["status"] == "processing"
    assert design["vault_file_version"] == version and design["upload_location"] is None
    await run_jobs(app, jobs)
    model = await mes.get(model_uri)
    assert model["status"] == "processed" and model["volume_mm"] == pytest.approx(8000, rel=1e-3)
    unknown = {"vault_file_version": str(uuid.uuid4())}
    assert_problem(await mes.client.post("/mes/design-file/", json=unknown), 404)


async def test_replace_archives_the_old_document(mes: Mes) -> None:
    attached = await related(mes)
    first = await mes.create("document", {"name": "v1.pdf", **attached})
    response = await mes.client.post(first + "replace/", json={"name": "v2.pdf"})
    assert response.status_code == 204, response.text
    second = response.headers["location"]
    assert response.headers["x-upload-location"]
    third = (await mes.client.post(second + "replace/", json={"name": "v3.pdf"})).headers[
        "location"
    ]
    newest = await mes.get(third)
    assert newest["previous_document"] == second
    assert newest["previous_documents"] == [second, first]
    assert (await mes.get(first))["archived"] is not None
    listed = await mes.list("document", **{"filter[related_uuid]": attached["related_uuid"]})
    assert [d["uri"] for d in listed["resources"]] == [third]
    assert_problem(
        await mes.client.post(first + "replace/", json={"name": "x"}), 400, "DOCUMENT_ARCHIVED"
    )


async def test_viewer_reads_but_cannot_promise_files(mes: Mes, make_actor: Any) -> None:
    await mes.create("model", {"name": "part.stl"})
    viewer = Mes(await make_actor("viewer", workspace="acme", role="viewer"))
    assert (await viewer.list("model"))["meta"]["count"] == 1
    response = await viewer.client.post("/mes/model/", json={"name": "x.stl"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


async def test_upload_runs_as_a_durable_job(mes: Mes, app: Any) -> None:
    from threadline.jobs import service as job_service

    runtime = app.state.runtime
    job_service.register(processing.JOB_KIND, processing.job_handler(runtime.blobs), replace=True)
    response = await mes.client.post("/mes/model/", json={"name": "cube.stl"})
    assert (await put(mes, response.headers["x-upload-location"], cube_stl(5))).status_code == 204
    (job,) = await job_service.run_pending(runtime.sessionmaker)
    assert job.status == "complete", job.error
    model = await mes.get(response.headers["location"])
    assert model["status"] == "processed" and model["volume_mm"] == pytest.approx(125, rel=1e-3)


async def test_upload_of_any_type_is_not_capped_by_the_json_body_limit(mes: Mes) -> None:
    """threadline/middleware.py caps JSON bodies at 1 MB; a MES upload streams under the upload
    limit whatever its type (the reference's example PUTs image/png)."""
    response = await mes.client.post("/mes/model/", json={"name": "big.stl"})
    upload = response.headers["x-upload-location"]
    body = b"\0" * (2 * 1024 * 1024)
    stored = await mes.client.put(upload, content=body, headers={"content-type": "model/stl"})
    assert stored.status_code == 204, stored.text
    capped = await mes.client.post(
        "/mes/model/", content=b" " * (2 * 1024 * 1024), headers={"content-type": "image/png"}
    )
    assert_problem(capped, 413, "PAYLOAD_TOO_LARGE")
