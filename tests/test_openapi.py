"""The OpenAPI document, /docs and /redoc: offline assets, the bearer scheme, declared responses,
and schemathesis over every operation of a real server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import live_server
from threadline.auth.deps import CSRF_COOKIE, SESSION_COOKIE

# --- the pages and their assets -----------------------------------------------------------------


def _referenced_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href|spec-url|url)\s*[=:]\s*"([^"]+)"', page)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_only_this_server(client, page):
    response = await client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _referenced_urls(response.text)
    assert urls, response.text
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http://" not in response.text and "https://" not in response.text
    assert "/openapi.json" in urls


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "text/javascript"),
        ("favicon.png", "image/png"),
    ],
)
async def test_docs_assets_are_served(client, asset, content_type):
    response = await client.get(f"/docs/assets/{asset}")

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    assert len(response.content) > 1000


async def test_every_asset_a_page_names_is_served(client):
    for page in ("/docs", "/redoc"):
        for url in _referenced_urls((await client.get(page)).text):
            assert (await client.get(url)).status_code == 200, (page, url)


# --- the document -------------------------------------------------------------------------------


async def test_openapi_declares_the_bearer_scheme(client):
    spec = (await client.get("/openapi.json")).json()

    scheme = spec["components"]["securitySchemes"]["personalToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    workspaces = spec["paths"]["/v1/workspaces"]["post"]
    assert {"personalToken": []} in workspaces["security"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


async def test_openapi_declares_problem_responses_and_no_422(client):
    spec = (await client.get("/openapi.json")).json()

    assert "422" not in json.dumps(
        [list(op["responses"]) for ops in spec["paths"].values() for op in ops.values()]
    )
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    responses = spec["paths"]["/v1/parts/{part_id}"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "412", "413", "503"} <= set(responses)
    assert set(responses["404"]["content"]) == {"application/problem+json"}
    assert "429" in spec["paths"]["/api/auth/login"]["post"]["responses"]
    assert "423" in spec["paths"]["/v1/locks/lock"]["post"]["responses"]
    assert {"415", "507"} <= set(spec["paths"]["/v1/upload"]["post"]["responses"])
    exports = spec["paths"]["/v1/boms/{bom_id}/export.csv"]["get"]["responses"]["200"]
    assert set(exports["content"]) == {"text/csv"}
    # No database, no sign-in: health and the preflight answer only what they can.
    assert set(spec["paths"]["/healthz"]["get"]["responses"]) == {"200"}


async def test_serve_preflight_declares_its_path_parameters(client):
    spec = (await client.get("/openapi.json")).json()

    for path in (
        "/v1/serve/{workspace}/{username}/{filename}",
        "/v1/serve-signed/{workspace}/{username}/{filename}",
    ):
        operation = spec["paths"][path]["options"]
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == {"workspace", "username", "filename"}
        assert set(operation["responses"]) == {"204"}
    response = await client.options("/v1/serve/acme/alice/part.step")
    assert response.status_code == 204


async def test_every_path_parameter_is_declared(client):
    spec = (await client.get("/openapi.json")).json()

    for path, operations in spec["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (method, path)


# --- what Swagger UI's "Try it out" sends ---------------------------------------------------------


async def test_bearer_write_needs_no_csrf_even_beside_a_session_cookie(client, make_actor):
    alice = await make_actor("alice")
    login = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": "correct horse battery"}
    )
    assert login.status_code == 200
    assert client.cookies.get(SESSION_COOKIE) and client.cookies.get(CSRF_COOKIE)

    # The browser sends its cookies along; the token under Authorize decides, without CSRF.
    created = await client.post(
        "/v1/workspaces",
        json={"name": "from-docs"},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert created.status_code == 201, created.text

    # The same write on the cookie alone needs the header the /docs page adds from tl_csrf.
    refused = await client.post("/v1/workspaces", json={"name": "cookie-only"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "CSRF_FAILED"
    accepted = await client.post(
        "/v1/workspaces",
        json={"name": "cookie-only"},
        headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]},
    )
    assert accepted.status_code == 201, accepted.text


async def test_docs_page_sends_the_csrf_cookie_as_header(client):
    page = (await client.get("/docs")).text

    assert f'c.startsWith("{CSRF_COOKIE}=")' in page
    assert 'request.headers["X-CSRF-Token"]' in page


# --- schemathesis over every operation -----------------------------------------------------------

SCHEMATHESIS_SEED = "20261203"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"


def _seeded_parameters(url: str, token: str) -> dict[str, str]:
    """Ids of real rows in the demo workspace, so generated requests get past the 404s."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
        bom = api.get("/v1/boms", params={"workspace": "demo"}).raise_for_status().json()
        bom = bom["items"][0]
        tree = api.get(f"/v1/boms/{bom['id']}").raise_for_status().json()
        part_id = bom["assemblyPartId"]
        version = api.post(f"/v1/parts/{part_id}/versions", json={"revision": "A"})
        version = version.raise_for_status().json()
        upload = api.post(
            "/v1/upload",
            params={"workspace": "demo"},
            files={"file": ("bracket.step", b"ISO-10303-21;\nEND-ISO-10303-21;\n")},
        ).raise_for_status()
        me = api.get("/api/session").raise_for_status().json()["user"]
    return {
        "workspace": "demo",
        "name": "demo",
        "bom_id": bom["id"],
        "part_id": part_id,
        "version_id": version["id"],
        "item_id": tree["items"][0]["id"],
        "file_id": upload.json()["id"],
        "username": me["username"],
        "filename": "bracket.step",
        "user_id": me["id"],
    }


def _config(parameters: dict[str, str], item_part_id: str) -> str:
    """schemathesis.toml: the seeded ids everywhere; Cascadia's items are parts."""
    values = "\n".join(f'"path.{key}" = "{value}"' for key, value in parameters.items())
    query = "\n".join(
        f'"query.{key}" = "{parameters[key]}"' for key in ("workspace", "username", "filename")
    )
    return f"""[parameters]
{values}
{query}

[[operations]]
include-path-regex = "^/api/items/"
parameters = {{ "path.item_id" = "{item_part_id}" }}
"""


def test_schemathesis_finds_no_server_error_and_nothing_undeclared(tmp_path):
    with live_server(tmp_path / "home", demo=True) as server:
        token = server.token()
        parameters = _seeded_parameters(server.url, token)
        config = tmp_path / "schemathesis.toml"
        config.write_text(_config(parameters, parameters["part_id"]))
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [
                str(Path(sys.executable).parent / "st"),
                "--config-file",
                str(config),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                "10",
                # An event stream never ends: each case would wait out the request timeout.
                # tests/events covers it.
                "--exclude-path",
                "/v1/events",
                "--seed",
                SCHEMATHESIS_SEED,
                "--no-color",
                "--warnings",
                "off",
            ],
            cwd=tmp_path,  # schemathesis keeps its cache in the working directory
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        report = done.stdout + done.stderr
        assert done.returncode == 0, report[-20000:] + "\n--- server log ---\n" + server.log_tail()
        assert re.search(r"Tested: (\d+)", report)
        tested = int(re.search(r"Tested: (\d+)", report).group(1))  # type: ignore[union-attr]
        assert tested >= 125, report[-3000:]  # every operation but the event stream


# --- what schemathesis found ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/upload", "/v1/uploads"])
async def test_malformed_multipart_upload_is_400_not_500(make_actor, path):
    alice = await make_actor("alice", workspace="acme")

    response = await alice.client.post(
        path,
        params={"workspace": "acme"},
        content=b"--f8d2\r\n-630--f8d2--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=f8d2"},
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_MULTIPART"
