"""File names, types and ``/v1/serve/...`` paths: everything that turns client text into a vault
address, refusing path tricks (productflo-sync-api: Files & Uploads)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

from threadline.errors import Invalid, UnsupportedMediaType

# Common CAD, drawing and documentation formats (lower-case, with the dot).
CONTENT_TYPES: dict[str, str] = {
    ".step": "model/step", ".stp": "model/step", ".iges": "model/iges", ".igs": "model/iges",
    ".stl": "model/stl", ".obj": "model/obj", ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json", ".3mf": "model/3mf", ".x_t": "application/x-parasolid",
    ".x_b": "application/x-parasolid", ".sldprt": "application/sldworks",
    ".sldasm": "application/sldworks", ".slddrw": "application/sldworks",
    ".f3d": "application/octet-stream", ".f3z": "application/octet-stream",
    ".ipt": "application/octet-stream", ".iam": "application/octet-stream",
    ".catpart": "application/octet-stream", ".catproduct": "application/octet-stream",
    ".prt": "application/octet-stream", ".asm": "application/octet-stream",
    ".fcstd": "application/octet-stream", ".scad": "text/plain", ".dxf": "image/vnd.dxf",
    ".dwg": "image/vnd.dwg", ".pdf": "application/pdf", ".svg": "image/svg+xml",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".txt": "text/plain",
    ".md": "text/markdown", ".csv": "text/csv", ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip", ".kicad_pcb": "text/plain", ".kicad_sch": "text/plain",
    ".kicad_pro": "application/json", ".gbr": "application/vnd.gerber", ".drl": "text/plain",
}  # fmt: skip
TEXT_TYPES = ("text/", "application/json", "model/step", "model/iges", "model/obj", "image/svg")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BRANCH_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


def safe_filename(raw: str) -> str:
    """A file name as stored: the last path component, NFC, no control characters.

    ``../../etc/passwd`` becomes ``passwd``; names that are empty, ``.``/``..`` or longer than
    255 characters are refused (400 INVALID_FILENAME).
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = _CONTROL.sub("", name)
    name = re.split(r"[\\/]", name)[-1].strip()
    if name in ("", ".", "..") or len(name) > 255:
        raise Invalid(f"{raw!r} is not a usable file name.", code="INVALID_FILENAME")
    return name


def extension(name: str) -> str:
    return PurePosixPath(name.lower()).suffix


def content_type_for(name: str) -> str:
    """The content type of an allowed file; 415 naming the allowed extensions otherwise."""
    ext = extension(name)
    kind = CONTENT_TYPES.get(ext)
    if kind is None:
        raise UnsupportedMediaType(
            f"{ext or 'files without an extension'} cannot be stored; allowed: "
            + " ".join(sorted(CONTENT_TYPES)),
            code="UNSUPPORTED_FILE_TYPE",
        )
    return kind


def is_text(content_type: str) -> bool:
    return content_type.startswith(TEXT_TYPES)


def check_branch_name(name: str) -> str:
    if not BRANCH_NAME.match(name):
        raise Invalid(
            f"{name!r} is not a branch name: use 1-64 of a-z, 0-9, _ and -.", code="INVALID_BRANCH"
        )
    return name


@dataclass(frozen=True)
class ServePath:
    """``/v1/serve/<workspace>/<username>/<filename>``."""

    workspace: str
    username: str
    filename: str

    def __str__(self) -> str:
        return f"/v1/serve/{self.workspace}/{self.username}/{self.filename}"


def parse_serve_path(path: str) -> ServePath:
    """Accept ``/v1/serve/ws/user/file`` (URL-encoded or not); 400 INVALID_PATH otherwise."""
    text = unquote(path or "").split("?", 1)[0]
    prefix = "/v1/serve/"
    if not text.startswith(prefix):
        raise Invalid(
            f"path must look like {prefix}<workspace>/<username>/<file>.", code="INVALID_PATH"
        )
    parts = text[len(prefix) :].split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise Invalid(
            f"path must look like {prefix}<workspace>/<username>/<file>.", code="INVALID_PATH"
        )
    workspace, username, filename = parts
    if safe_filename(filename) != filename:
        raise Invalid(f"{filename!r} is not a usable file name.", code="INVALID_FILENAME")
    return ServePath(workspace=workspace, username=username, filename=filename)


def conflict_name(name: str, username: str, stamp: str, n: int = 1) -> str:
    """``model.step`` → ``model_conflict_alice_20261125T101500.step`` (n ≥ 2 adds ``_n``)."""
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])
    stem = name[: len(name) - len(suffix)] if suffix else name
    extra = f"_{n}" if n > 1 else ""
    return f"{stem}_conflict_{username}_{stamp}{extra}{suffix}"


def suffix_branch_name(name: str, branch: str) -> str:
    """Phase-1 branch naming (PF_BRANCH_SUFFIX_WRITES): ``model.step`` → ``model@fix.step``."""
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])
    stem = name[: len(name) - len(suffix)] if suffix else name
    return f"{stem}@{branch}{suffix}"
