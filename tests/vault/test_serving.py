"""Range-enabled serving, CORS for file viewers and signed URLs (productflo-sync-api: Files &
Uploads, CORS for file viewers, Signed URLs)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import assert_problem
from tests.vault.helpers import step_bytes, step_like, upload
from threadline.app import create_app
from threadline.vault import signing
from threadline.vault.paths import ServePath

PATH = "/v1/serve/acme/alice/bracket.step"


@pytest.fixture
async def data(alice) -> bytes:
    """A real STEP file in alice's folder at :data:`PATH`."""
    content = step_bytes()
    r = await upload(alice.client, "bracket.step", content)
    assert r.status_code == 201, r.text
    return content


# --- ranges -----------------------------------------------------------------------------------


async def test_whole_file(bob, data):
    r = await bob.client.get(PATH)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-type"].startswith("model/step")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["etag"].startswith('"1-')
    assert r.headers["content-disposition"] == 'inline; filename="bracket.step"'


async def test_first_ten_bytes(bob, data):
    r = await bob.client.get(PATH, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.content == data[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(data)}"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == "10"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_suffix_range(bob, data):
    size = len(data)
    r = await bob.client.get(PATH, headers={"Range": "bytes=-5"})
    assert r.status_code == 206
    assert r.content == data[-5:]
    assert r.headers["content-range"] == f"bytes {size - 5}-{size - 1}/{size}"
    # a suffix longer than the file is the whole file
    r = await bob.client.get(PATH, headers={"Range": f"bytes=-{size * 2}"})
    assert r.status_code == 206 and r.content == data


async def test_open_ended_range(bob, data):
    r = await bob.client.get(PATH, headers={"Range": "bytes=10-"})
    assert r.status_code == 206
    assert r.content == data[10:]
    assert r.headers["content-range"] == f"bytes 10-{len(data) - 1}/{len(data)}"


async def test_range_past_the_end_is_clipped(bob, data):
    r = await bob.client.get(PATH, headers={"Range": f"bytes=100-{len(data) + 1000}"})
    assert r.status_code == 206
    assert r.content == data[100:]


@pytest.mark.parametrize("spec", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=9-3"])
async def test_unsatisfiable_range_is_416(bob, data, spec):
    r = await bob.client.get(PATH, headers={"Range": spec.format(size=len(data))})
    assert_problem(r, 416, "RANGE_NOT_SATISFIABLE")
    assert r.headers["content-range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("spec", ["items=0-9", "bytes=0-4,10-14", "garbage"])
async def test_unsupported_ranges_get_the_whole_file(bob, data, spec):
    r = await bob.client.get(PATH, headers={"Range": spec})
    assert r.status_code == 200 and r.content == data


async def test_ranges_across_chunk_boundaries_of_a_large_file(alice, bob):
    big = step_bytes("bitaxe_ESP32-S3-WROOM-1-N8R2--3DModel-STEP-56544.STEP")
    mib = 1 << 20
    assert len(big) > mib + 100
    r = await upload(alice.client, "esp32.step", big)
    assert r.status_code == 201, r.text
    path = r.json()["path"]
    r = await bob.client.get(path, headers={"Range": f"bytes={mib - 7}-{mib + 8}"})
    assert r.status_code == 206 and r.content == big[mib - 7 : mib + 9]
    r = await bob.client.get(path, headers={"Range": "bytes=-70000"})
    assert r.content == big[-70000:]
    assert (await bob.client.get(path)).content == big


async def test_head(bob, data):
    r = await bob.client.head(PATH)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["accept-ranges"] == "bytes"
    r = await bob.client.head(PATH, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-9/{len(data)}"
    assert r.headers["content-length"] == "10"
    assert r.content == b""
    r = await bob.client.head(PATH, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416


async def test_if_none_match_is_304(bob, data):
    etag = (await bob.client.get(PATH)).headers["etag"]
    r = await bob.client.get(PATH, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    r = await bob.client.get(PATH, headers={"If-None-Match": '"0-stale"'})
    assert r.status_code == 200 and r.content == data


async def test_old_versions(alice, bob, data):
    new = step_like("v2")
    r = await upload(alice.client, "bracket.step", new, replace="true")
    assert r.status_code == 200, r.text
    assert (await bob.client.get(PATH)).content == new
    old = await bob.client.get(PATH, params={"version": 1})
    assert old.status_code == 200 and old.content == data
    assert old.headers["etag"] != (await bob.client.get(PATH)).headers["etag"]
    r = await bob.client.get(PATH, params={"version": 1}, headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == data[:4]
    assert (await bob.client.get(PATH, params={"version": 2})).content == new
    assert_problem(await bob.client.get(PATH, params={"version": 3}), 400, "VERSION_NOT_FOUND")
    assert_problem(await bob.client.get(PATH, params={"version": 0}), 400)


async def test_serving_needs_membership(client, carol, data):
    assert_problem(await client.get(PATH), 401)
    assert_problem(await carol.client.get(PATH), 404, "WORKSPACE_NOT_FOUND")
    assert (await carol.client.head(PATH)).status_code == 404


async def test_missing_file_is_404(alice):
    r = await alice.client.get("/v1/serve/acme/alice/none.step")
    assert_problem(r, 404, "FILE_NOT_FOUND")


async def test_empty_file(alice):
    await upload(alice.client, "empty.stl", b"")
    r = await alice.client.get("/v1/serve/acme/alice/empty.stl")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == "0"
    r = await alice.client.get("/v1/serve/acme/alice/empty.stl", headers={"Range": "bytes=0-0"})
    assert r.status_code == 416


# --- CORS ---------------------------------------------------------------------------------------


@pytest.fixture
async def cors_client(settings, engine, sessionmaker, rate_limiter, alice):
    """``cors_client(origins, signed_in=True)``: a client for an app built with that
    ``CORS_ORIGINS`` (alice's token, or anonymous)."""
    clients: list[httpx.AsyncClient] = []

    def make(origins: str, *, signed_in: bool = True) -> httpx.AsyncClient:
        app = create_app(
            settings.model_copy(update={"cors_origins": origins}),
            engine=engine,
            sessionmaker=sessionmaker,
            rate_limiter=rate_limiter,
        )
        headers = {"Authorization": f"Bearer {alice.token}"} if signed_in else {}
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
        )
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


VIEWER = "https://viewer.example"


async def test_cors_allowed_origin(cors_client, data):
    c = cors_client(f"https://other.example, {VIEWER}")
    r = await c.get(PATH, headers={"Origin": VIEWER, "Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.headers["access-control-allow-origin"] == VIEWER
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"accept-ranges", "content-range", "content-length", "etag"} <= exposed
    assert "origin" in r.headers["vary"].lower()
    r = await c.head(PATH, headers={"Origin": VIEWER})
    assert r.headers["access-control-allow-origin"] == VIEWER


async def test_cors_disallowed_origin_gets_no_headers(cors_client, data):
    c = cors_client(VIEWER)
    r = await c.get(PATH, headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and r.content == data
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-expose-headers" not in r.headers
    r = await c.options(
        PATH, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert r.status_code == 204
    assert "access-control-allow-origin" not in r.headers


async def test_cors_not_configured(alice, data):
    r = await alice.client.get(PATH, headers={"Origin": VIEWER})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


async def test_cors_preflight(cors_client, data):
    c = cors_client(VIEWER)
    headers = {
        "Origin": VIEWER,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
    }
    r = await c.options(PATH, headers=headers)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == VIEWER
    methods = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= methods
    assert "range" in r.headers["access-control-allow-headers"].lower()
    # preflights carry no credentials: an anonymous one works, for signed URLs too
    anon = cors_client(VIEWER, signed_in=False)
    for path in (PATH, PATH.replace("/v1/serve/", "/v1/serve-signed/")):
        r = await anon.options(path, headers=headers)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == VIEWER


async def test_cors_wildcard(cors_client, data):
    c = cors_client("*")
    r = await c.get(PATH, headers={"Origin": "https://anywhere.example", "Range": "bytes=-5"})
    assert r.status_code == 206
    assert r.headers["access-control-allow-origin"] == "*"
    assert "content-range" in r.headers["access-control-expose-headers"].lower()
    r = await c.options(PATH, headers={"Origin": "https://x.example"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"


async def test_cors_on_signed_urls(cors_client, data):
    c = cors_client(VIEWER)
    url = (await c.get("/signed-url", params={"path": PATH})).json()["url"]
    anon = cors_client(VIEWER, signed_in=False)
    r = await anon.get(url, headers={"Origin": VIEWER, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["access-control-allow-origin"] == VIEWER


async def test_cors_on_serve_errors_so_viewers_see_the_status(cors_client, data):
    c = cors_client(VIEWER)
    missing = PATH.replace("bracket.step", "missing.step")
    r = await c.get(missing, headers={"Origin": VIEWER})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["access-control-allow-origin"] == VIEWER
    assert "origin" in r.headers["vary"].lower()
    r = await c.get(PATH, headers={"Origin": VIEWER, "Range": "bytes=999999999-"})
    assert r.status_code == 416
    assert r.headers["access-control-allow-origin"] == VIEWER
    anon = cors_client(VIEWER, signed_in=False)
    url = (await c.get("/signed-url", params={"path": PATH})).json()["url"]
    r = await anon.get(url.replace("sig=", "sig=0"), headers={"Origin": VIEWER})
    assert r.status_code == 403
    assert r.headers["access-control-allow-origin"] == VIEWER
    r = await anon.get(PATH, headers={"Origin": VIEWER})  # no credentials
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == VIEWER
    # one set of CORS headers, not two, on a successful file response
    r = await c.get(PATH, headers={"Origin": VIEWER})
    assert r.headers.get_list("access-control-allow-origin") == [VIEWER]
    # other origins and other paths are untouched
    r = await c.get(missing, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = await c.get("/v1/files", params={"workspace": "acme"}, headers={"Origin": VIEWER})
    assert "access-control-allow-origin" not in r.headers


# --- signed URLs ------------------------------------------------------------------------------


async def _sign(client, path=PATH, ttl=60_000):
    return await client.get("/signed-url", params={"path": path, "ttlMs": ttl})


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_signed_url_serves_anonymously(bob, client, data):
    before = int(time.time() * 1000)
    r = await _sign(bob.client, ttl=120_000)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"url", "expiresAt"}
    assert before + 120_000 <= body["expiresAt"] <= int(time.time() * 1000) + 120_000
    assert body["url"].startswith("/v1/serve-signed/acme/alice/bracket.step?")
    assert _query(body["url"])["expires"] == str(body["expiresAt"])

    r = await client.get(body["url"])
    assert r.status_code == 200 and r.content == data
    assert r.headers["x-content-type-options"] == "nosniff"
    r = await client.get(body["url"], headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(data)}"
    r = await client.head(body["url"])
    assert r.status_code == 200 and r.headers["content-length"] == str(len(data))


async def test_signed_url_with_an_awkward_name(alice, client):
    name = "my part #2 (rev ä).step"
    content = step_like("awkward")
    assert (await upload(alice.client, name, content)).status_code == 201
    r = await _sign(alice.client, path=f"/v1/serve/acme/alice/{name}")
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert " " not in url and "#" not in url
    r = await client.get(url)
    assert r.status_code == 200 and r.content == content


def _tamper(url: str, *, sig=None, expires=None, path=None) -> str:
    parts = urlsplit(url)
    q = _query(url)
    return (
        f"{path or parts.path}?expires={expires or q['expires']}"
        f"&sig={sig if sig is not None else q['sig']}"
    )


async def test_tampered_signed_urls_are_403(alice, client, data):
    await upload(alice.client, "other.step", step_like("secret"))
    url = (await _sign(alice.client)).json()["url"]
    q = _query(url)
    flipped = ("0" if q["sig"][0] != "0" else "1") + q["sig"][1:]
    later = str(int(q["expires"]) + 86_400_000)
    for bad in (
        _tamper(url, sig=flipped),
        _tamper(url, sig=""),
        _tamper(url, sig=q["sig"].upper()),
        _tamper(url, expires=later),
        _tamper(url, expires="-1"),
        _tamper(url, path="/v1/serve-signed/acme/alice/other.step"),
        _tamper(url, path="/v1/serve-signed/acme/bob/bracket.step"),
    ):
        assert_problem(await client.get(bad), 403, "SIGNATURE_INVALID")
    r = await client.get(urlsplit(url).path)
    assert_problem(r, 400)
    assert (await client.get(url)).content == data


async def test_expired_signed_url_is_410(app, client, data):
    key = app.state.runtime.secret_key
    where = ServePath("acme", "alice", "bracket.step")
    past = int(time.time() * 1000) - 10_000
    url, expires = signing.sign(key, where, 1_000, now_ms=past)
    assert expires < time.time() * 1000
    assert_problem(await client.get(url), 410, "SIGNED_URL_EXPIRED")
    # the same key, in the future: it works, so the 410 was the expiry and nothing else
    url, _ = signing.sign(key, where, 60_000)
    assert (await client.get(url)).content == data
    # an expired URL that has also been tampered with is a 403, not a 410
    bad, _ = signing.sign(b"another key", where, 1_000, now_ms=past)
    assert_problem(await client.get(bad), 403, "SIGNATURE_INVALID")


async def test_signed_url_for_a_file_you_cannot_read_is_not_minted(alice, carol, data):
    assert_problem(await _sign(carol.client), 404, "WORKSPACE_NOT_FOUND")
    missing = "/v1/serve/acme/alice/none.step"
    assert_problem(await _sign(alice.client, path=missing), 404, "FILE_NOT_FOUND")
    assert_problem(await _sign(alice.client, path="/v1/files/x"), 400, "INVALID_PATH")


async def test_signed_url_needs_sign_in(client, data):
    assert_problem(await _sign(client), 401)


@pytest.mark.parametrize("ttl", [999, 7 * 24 * 3600 * 1000 + 1])
async def test_signed_url_ttl_out_of_range_is_400(bob, data, ttl):
    assert_problem(await _sign(bob.client, ttl=ttl), 400, "INVALID_TTL")


async def test_signed_url_ttl_bounds_are_accepted(bob, data):
    assert (await _sign(bob.client, ttl=1_000)).status_code == 200
    assert (await _sign(bob.client, ttl=7 * 24 * 3600 * 1000)).status_code == 200


async def test_signed_url_of_a_deleted_file_is_404(alice, client, data):
    url = (await _sign(alice.client)).json()["url"]
    r = await alice.client.delete(
        "/v1/file", params={"workspace": "acme", "filename": "bracket.step"}
    )
    assert r.status_code == 200
    assert_problem(await client.get(url), 404, "FILE_NOT_FOUND")
