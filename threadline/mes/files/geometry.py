"""A model's geometry from its bytes: bounding box, volume, surface area and triangle count.

Pure functions, no database. STL is parsed here with numpy (a binary STL is a fixed record
layout, one ``frombuffer`` away from an array; ASCII is a list of ``vertex`` lines), so no mesh
library is needed for four numbers. STEP is read and tessellated by OpenCascade through
``cadquery-ocp`` (import ``OCP``). Numbers are in the file's own unit; :func:`in_mm` scales them.
A file that cannot be read raises :class:`UnreadableGeometry`, never anything else.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

# Binary STL: 80-byte header, uint32 count, then 50 bytes per triangle.
_HEADER = 84
_RECORD = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
MAX_TRIANGLES = 50_000_000  # beyond this a file is refused rather than exhausting memory
# Chordal deflection of the STEP tessellation, relative to each face's size.
STEP_DEFLECTION = 0.01
UNIT_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "feet": 304.8}
_VERTEX = re.compile(rb"vertex\s+(\S+)\s+(\S+)\s+(\S+)")


class UnreadableGeometry(ValueError):
    """The bytes are not a readable STL or STEP model; the message says why."""


@dataclass(frozen=True)
class Measured:
    """Geometry in the file's unit: ``size`` is the bounding box (x, y, z)."""

    size: tuple[float, float, float]
    volume: float
    surface_area: float
    polygons: int


def measure(data: bytes, fmt: str) -> Measured:
    """The geometry of an ``stl`` or ``step``/``stp`` file's bytes."""
    fmt = fmt.lower()
    if fmt == "stl":
        return _measure_triangles(_stl_triangles(data))
    if fmt in ("step", "stp"):
        return _measure_triangles(_step_triangles(data))
    raise UnreadableGeometry(f"{fmt} is not a geometry format Threadline reads (STL, STEP)")


def in_mm(measured: Measured, file_unit: str | None) -> dict[str, Any]:
    """The reference's model fields (``size``, ``volume_mm``, ``surface_area_mm``,
    ``polygons``) in millimetres, from numbers in ``file_unit`` (in|mm|cm|m|feet)."""
    if (file_unit or "mm") not in UNIT_MM:
        raise UnreadableGeometry(f"unknown file unit {file_unit!r}")
    factor = UNIT_MM[file_unit or "mm"]
    x, y, z = measured.size
    return {
        "size": {"x": x * factor, "y": y * factor, "z": z * factor},
        "volume_mm": measured.volume * factor**3,
        "surface_area_mm": measured.surface_area * factor**2,
        "polygons": measured.polygons,
    }


def _stl_triangles(data: bytes) -> np.ndarray[Any, Any]:
    """(n, 3, 3) float64 vertices of a binary or ASCII STL."""
    if len(data) >= _HEADER:
        count = int.from_bytes(data[80:84], "little")
        if count <= MAX_TRIANGLES and len(data) == _HEADER + count * _RECORD.itemsize:
            records = np.frombuffer(data, dtype=_RECORD, count=count, offset=_HEADER)
            return records["vertices"].astype(np.float64)
    if data.lstrip()[:5].lower() == b"solid":
        found = _VERTEX.findall(data)
        if not found or len(found) % 3:
            raise UnreadableGeometry("the ASCII STL has no complete facets")
        if len(found) // 3 > MAX_TRIANGLES:
            raise UnreadableGeometry(f"more than {MAX_TRIANGLES} triangles")
        try:
            points = np.array(found, dtype=np.float64)
        except ValueError:
            raise UnreadableGeometry("the ASCII STL has a vertex that is not a number") from None
        return points.reshape(-1, 3, 3)
    raise UnreadableGeometry(
        "not an STL: its size does not match the binary header's triangle count and it is not "
        "ASCII 'solid ... facet'"
    )


def _step_triangles(data: bytes) -> np.ndarray[Any, Any]:
    """Tessellate every face of a STEP file; (n, 3, 3) float64 vertices."""
    # OCP ships no type information; its calls are confined to this function.
    from OCP.BRep import BRep_Tool  # type: ignore[import-untyped]
    from OCP.BRepMesh import BRepMesh_IncrementalMesh  # type: ignore[import-untyped]
    from OCP.IFSelect import IFSelect_RetDone  # type: ignore[import-untyped]
    from OCP.STEPControl import STEPControl_Reader  # type: ignore[import-untyped]
    from OCP.TopAbs import TopAbs_FACE, TopAbs_REVERSED  # type: ignore[import-untyped]
    from OCP.TopExp import TopExp_Explorer  # type: ignore[import-untyped]
    from OCP.TopLoc import TopLoc_Location  # type: ignore[import-untyped]
    from OCP.TopoDS import TopoDS  # type: ignore[import-untyped]

    if b"ISO-10303-21" not in data[:200]:
        raise UnreadableGeometry("not a STEP file (no ISO-10303-21 header)")
    with tempfile.NamedTemporaryFile(suffix=".step", delete=False) as handle:
        handle.write(data)
        path = handle.name
    try:
        reader = STEPControl_Reader()
        if reader.ReadFile(path) != IFSelect_RetDone:
            raise UnreadableGeometry("OpenCascade could not read the STEP file")
        reader.TransferRoots()
        shape = reader.OneShape()
    finally:
        os.unlink(path)
    if shape.IsNull():
        raise UnreadableGeometry("the STEP file holds no shape")
    BRepMesh_IncrementalMesh(shape, STEP_DEFLECTION, True, 0.5, True)
    triangles: list[np.ndarray[Any, Any]] = []
    explorer = TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        face = TopoDS.Face(explorer.Current())
        location = TopLoc_Location()
        mesh = BRep_Tool.Triangulation_s(face, location)
        if mesh is not None:
            transform = location.Transformation()
            nodes = np.array(
                [mesh.Node(i).Transformed(transform).Coord() for i in range(1, mesh.NbNodes() + 1)],
                dtype=np.float64,
            )
            index = np.array(
                [mesh.Triangle(i).Get() for i in range(1, mesh.NbTriangles() + 1)], dtype=np.int64
            )
            if len(index):
                if face.Orientation() == TopAbs_REVERSED:
                    index = index[:, ::-1]
                triangles.append(nodes[index - 1])
        explorer.Next()
    if not triangles:
        raise UnreadableGeometry("the STEP file has no surfaces to measure")
    return np.concatenate(triangles)


def _measure_triangles(triangles: np.ndarray[Any, Any]) -> Measured:
    """Bounding box, enclosed volume (divergence theorem; the absolute value, so a mesh wound
    inside out still measures) and area of (n, 3, 3) vertices."""
    if len(triangles) == 0:
        raise UnreadableGeometry("the model has no triangles")
    if not np.isfinite(triangles).all():
        raise UnreadableGeometry("the model has vertices that are not finite numbers")
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    cross = np.cross(b - a, c - a)
    area = float(np.linalg.norm(cross, axis=1).sum() / 2)
    volume = float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6)
    points = triangles.reshape(-1, 3)
    low, high = points.min(axis=0), points.max(axis=0)
    x, y, z = (float(v) for v in high - low)
    return Measured(size=(x, y, z), volume=volume, surface_area=area, polygons=len(triangles))
