"""ASGI middleware: a cap on request bodies that are not file uploads.

FastAPI's own ``max_body_size`` answers with a plain-text 413; this one answers with
problem+json like every other error. Uploads (multipart) stream to disk and enforce
``MAX_UPLOAD_MB`` themselves.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.errors import PayloadTooLarge, problem

_STREAMED_TYPES = (b"multipart/form-data", b"application/octet-stream")


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
        if headers.get(b"content-type", b"").startswith(_STREAMED_TYPES):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = problem(413, "Payload Too Large", self._detail(), "PAYLOAD_TOO_LARGE")
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self) -> str:
        return f"The request body is larger than {self.limit} bytes; send a smaller document."
