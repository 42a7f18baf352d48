"""Small helpers shared by the vault tests: real STEP files, uploads, raw multipart bodies."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

CAD_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-boms" / "cad"
STEP_NAME = "bitaxe_SW_CS1213AGF260_CRS.step"


def step_bytes(name: str = STEP_NAME) -> bytes:
    """A real STEP file's bytes; the test is skipped when the data set is absent."""
    path = CAD_DIR / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path.read_bytes()


def step_like(tag: str = "") -> bytes:
    """Small, distinct STEP text (for tests that need many different contents)."""
    return f"ISO-10303-21;\nHEADER;\n/* {tag} {secrets.token_hex(8)} */\nENDSEC;\n".encode()


async def upload(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    *,
    workspace: str = "acme",
    username: str | None = None,
    **form: Any,
) -> httpx.Response:
    """``POST /v1/upload`` with one file and optional form fields."""
    params = {"workspace": workspace}
    if username is not None:
        params["username"] = username
    return await client.post(
        "/v1/upload",
        params=params,
        files={"file": (name, data, "application/octet-stream")},
        data={k: str(v) for k, v in form.items()},
    )


async def names(
    client: httpx.AsyncClient, *, workspace: str = "acme", username: str | None = None
) -> list[str]:
    """The names in a member's folder (``GET /v1/files``)."""
    params = {"workspace": workspace, "pageSize": 500}
    if username is not None:
        params["username"] = username
    r = await client.get("/v1/files", params=params)
    assert r.status_code == 200, r.text
    return [f["name"] for f in r.json()["items"]]


def multipart(
    files: list[tuple[str, str, bytes]], fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand, so file names reach the server byte for byte
    (httpx percent-encodes control characters in names). Returns ``(body, content_type)``."""
    boundary = f"tl{secrets.token_hex(12)}"
    out = bytearray()
    for key, value in (fields or {}).items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for field, filename, data in files:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'.encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
