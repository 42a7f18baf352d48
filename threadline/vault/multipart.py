"""Streaming multipart/form-data straight into the blob store.

Starlette's form parser first spools every uploaded file to a temporary file; the vault would then
copy that file into the blob store — every byte written to disk twice. Here the request body is
parsed as it arrives (python-multipart's push parser) and each file part is piped into
:meth:`BlobStore.put_stream`, which hashes and writes it once. File names and types are checked
when a part's headers arrive, before any of its bytes are stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from threadline.blobs import BlobInfo, BlobStore, BlobTooLarge
from threadline.errors import Invalid, PayloadTooLarge, UnsupportedMediaType

MAX_FIELD_BYTES = 64 * 1024
# Chunks buffered between the parser and the blob writer. uvicorn hands over ~256 KiB chunks,
# so this is ~4 MiB (the blob store's pipeline holds as much again): enough for receiving,
# hashing and writing to overlap, small enough for memory to stay flat.
_QUEUE_CHUNKS = 16


@dataclass
class StreamedFile:
    field: str
    filename: str
    blob: BlobInfo


@dataclass
class StreamedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[StreamedFile] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


@dataclass(eq=False)  # parts are compared by identity
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    queue: asyncio.Queue[bytes | memoryview | None] | None = None
    writer: asyncio.Task[BlobInfo] | None = None


async def read_form(
    request: Request,
    *,
    blobs: BlobStore,
    max_file_bytes: int,
    max_files: int,
    check_file: Callable[[str, str], None],
) -> StreamedForm:
    """Parse the request body; every file part goes to ``blobs`` as it streams in.

    ``check_file(field, filename)`` runs when a file part starts and may raise (400/415) before
    any byte of it is stored. On any failure, blobs being written are abandoned (their temporary
    files removed); blobs already complete are left for ``fsck`` as unreferenced orphans only if
    the caller's transaction later fails.
    """
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType("Send the upload as multipart/form-data.", code="NOT_MULTIPART")
    form = StreamedForm()
    pending: list[tuple[_Part, bytes | memoryview]] = []
    finished: list[_Part] = []
    state: dict[str, _Part] = {"part": _Part()}
    header = {"name": b"", "value": b""}
    writers_started: list[_Part] = []

    def start_writer(part: _Part) -> None:
        queue: asyncio.Queue[bytes | memoryview | None] = asyncio.Queue(maxsize=_QUEUE_CHUNKS)

        async def chunks() -> AsyncIterator[bytes | memoryview]:
            while (item := await queue.get()) is not None:
                yield item

        part.queue = queue
        part.writer = asyncio.create_task(blobs.put_stream(chunks(), max_bytes=max_file_bytes))

    def on_part_begin() -> None:
        state["part"] = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        state["part"].headers[header["name"].lower()] = header["value"]
        header["name"] = header["value"] = b""

    def on_headers_finished() -> None:
        part = state["part"]
        _disposition, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise Invalid("A form part has no name.", code="INVALID_MULTIPART")
        part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            part.filename = options[b"filename"].decode("utf-8", "replace")
            if len(form.files) + len(writers_started) >= max_files:
                raise Invalid(f"At most {max_files} files per request.", code="TOO_MANY_FILES")
            check_file(part.name, part.filename)
            start_writer(part)
            writers_started.append(part)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state["part"]
        if part.filename is None:
            if len(part.data) + (end - start) > MAX_FIELD_BYTES:
                raise Invalid(f"Form field {part.name!r} is too long.", code="FIELD_TOO_LONG")
            part.data.extend(data[start:end])
        elif isinstance(data, bytes):  # the request's own chunk: immutable, so no copy
            pending.append((part, memoryview(data)[start:end]))
        else:  # the parser's reused look-behind buffer
            pending.append((part, bytes(data[start:end])))

    def on_part_end() -> None:
        part = state["part"]
        if part.filename is None:
            form.fields.setdefault(part.name, []).append(part.data.decode("utf-8", "replace"))
        else:
            finished.append(part)

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for part, data in pending:
                await _feed(part, data)
            pending.clear()
            for part in finished:
                await _feed(part, None)
                assert part.writer is not None and part.filename is not None
                form.files.append(StreamedFile(part.name, part.filename, await part.writer))
            writers_started[:] = [p for p in writers_started if p not in finished]
            finished.clear()
        parser.finalize()
        if writers_started:
            raise Invalid("The upload ended in the middle of a file.", code="INVALID_MULTIPART")
    except BlobTooLarge:
        _abandon(writers_started)
        raise PayloadTooLarge(
            f"A file is larger than {max_file_bytes // (1024 * 1024)} MB."
        ) from None
    except MultipartParseError as exc:  # a body that is not multipart/form-data is bad input
        _abandon(writers_started)
        raise Invalid(
            f"The multipart body is malformed ({exc}).", code="INVALID_MULTIPART"
        ) from None
    except BaseException:
        _abandon(writers_started)
        raise
    return form


async def _feed(part: _Part, data: bytes | memoryview | None) -> None:
    assert part.queue is not None and part.writer is not None
    if not part.writer.done():
        try:
            part.queue.put_nowait(data)  # the common case: the writer keeps up
            return
        except asyncio.QueueFull:
            pass
    put = asyncio.ensure_future(part.queue.put(data))
    done, _ = await asyncio.wait({put, part.writer}, return_when=asyncio.FIRST_COMPLETED)
    if part.writer in done and put not in done:
        put.cancel()
        part.writer.result()  # the writer stopped early (too large): raise its error
    await put


def _abandon(writers: list[_Part]) -> None:
    for part in writers:
        if part.writer is not None and not part.writer.done():
            part.writer.cancel()
