"""ASGI middleware: a cap on request bodies that are not file uploads.

FastAPI's own ``max_body_size`` answers with a plain-text 413; this one answers with
problem+json like every other error. Uploads (multipart, and the raw bytes PUT to a MES upload
location) stream to disk and enforce
``MAX_UPLOAD_MB`` themselves.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.errors import problem

_STREAMED_TYPES = (b"multipart/form-data", b"application/octet-stream")


def _is_mes_upload(scope: Scope) -> bool:
    """``PUT /mes/<kind>/<uuid>/upload/``: the raw bytes of a two-step upload, with whatever
    type the client names (the reference's example sends ``image/png``); the route streams them
    into the blob store under ``MAX_UPLOAD_MB`` itself."""
    path: str = scope.get("path", "")
    return (
        scope.get("method") == "PUT"
        and path.startswith("/mes/")
        and (path.endswith("/upload/") or path.endswith("/upload"))
    )


class BodyLimitMiddleware:
    """Refuse JSON and form bodies over ``limit`` bytes with 413 before they fill memory."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").startswith(_STREAMED_TYPES) or _is_mes_upload(scope):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = problem(413, "Payload Too Large", self._detail(), "PAYLOAD_TOO_LARGE")
            await response(scope, receive, send)
            return
        # Small bodies by definition: read up to the limit first, so an oversized chunked body is
        # refused here too (an error raised while FastAPI reads the body would become a 400).
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                response = problem(413, "Payload Too Large", self._detail(), "PAYLOAD_TOO_LARGE")
                await response(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _detail(self) -> str:
        return f"The request body is larger than {self.limit} bytes; send a smaller document."
