"""Streaming file responses with HTTP Range (RFC 9110 §14) and CORS for the file viewers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.blobs import BlobStore
from threadline.config import Settings
from threadline.errors import problem

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def cors_headers(request: Request, settings: Settings) -> dict[str, str]:
    """CORS for ``/v1/serve*`` per ``CORS_ORIGINS`` (comma-separated origins, or ``*``)."""
    origin = request.headers.get("origin")
    allowed = settings.cors_origin_list
    if not origin or not allowed:
        return {}
    if "*" in allowed:
        value = "*"
    elif origin in allowed:
        value = origin
    else:
        return {}
    headers = {
        "Access-Control-Allow-Origin": value,
        "Access-Control-Expose-Headers": "Accept-Ranges, Content-Range, Content-Length, ETag",
    }
    if value != "*":
        headers["Vary"] = "Origin"
    return headers


def preflight(request: Request, settings: Settings) -> Response:
    headers = cors_headers(request, settings)
    if headers:
        headers |= {
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "Range, Authorization, If-None-Match",
            "Access-Control-Max-Age": "600",
        }
    return Response(status_code=204, headers=headers)


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, end_inclusive)``, None for the whole file, or ``"unsatisfiable"``.

    Multiple ranges are answered with the whole file, which RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def file_response(
    request: Request,
    store: BlobStore,
    *,
    sha256: str,
    size: int,
    content_type: str,
    etag: str,
    filename: str,
    settings: Settings,
    disposition: str = "inline",
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """200 or 206 streaming the blob, 304 for a matching If-None-Match, 416 for a bad range."""
    quoted = filename.replace('"', "").replace("\\", "")
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{etag}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{disposition}; filename="{quoted}"',
        **cors_headers(request, settings),
        **(extra_headers or {}),
    }
    if request.headers.get("if-none-match", "").strip('"') == etag:
        return Response(status_code=304, headers=headers)
    wanted = parse_range(request.headers.get("range"), size)
    if wanted == "unsatisfiable":
        response = problem(
            416, "Range Not Satisfiable", f"The file has {size} bytes.", "RANGE_NOT_SATISFIABLE"
        )
        response.headers.update({**headers, "Content-Range": f"bytes */{size}"})
        return response
    status, start, end = 200, 0, size - 1
    if isinstance(wanted, tuple):
        status, (start, end) = 206, wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in store.read(sha256, start=start, end=end + 1):
            yield chunk

    return StreamingResponse(body(), status_code=status, headers=headers, media_type=content_type)


class ServeCorsMiddleware:
    """CORS headers on *every* ``/v1/serve*`` response, errors included.

    The file responses add them themselves; without this, a viewer's cross-origin request that
    fails (404, 403, an expired signed URL's 410) would reach the browser as an opaque CORS
    failure instead of the status and its problem+json.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/serve"):
            await self.app(scope, receive, send)
            return
        extra = cors_headers(Request(scope), self.settings)
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    for name, value in extra.items():
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_cors)
