"""Model geometry from real bytes: a generated cube (exact numbers), a real STEP file, junk."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from threadline.mes.files import geometry

CAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-boms" / "cad"
STEP = CAD / "bitaxe_SW_CS1213AGF260_CRS.step"

# A 10 x 20 x 30 box as 12 outward-wound triangles.
_V = [(x, y, z) for x in (0, 10) for y in (0, 20) for z in (0, 30)]
_FACES = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
TRIANGLES = [t for a, b, c, d in _FACES for t in ((a, b, c), (a, c, d))]


def binary_stl(count: int | None = None) -> bytes:
    body = b"".join(
        struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *_V[i]) for i in t) + b"\0\0"
        for t in TRIANGLES
    )
    return b"\0" * 80 + struct.pack("<I", len(TRIANGLES) if count is None else count) + body


def ascii_stl() -> bytes:
    facets = "".join(
        "facet normal 0 0 0\nouter loop\n"
        + "".join("vertex {} {} {}\n".format(*_V[i]) for i in t)
        + "endloop\nendfacet\n"
        for t in TRIANGLES
    )
    return f"solid box\n{facets}endsolid box\n".encode()


@pytest.mark.parametrize("data", [binary_stl(), ascii_stl()], ids=["binary", "ascii"])
def test_cube_is_exact(data: bytes) -> None:
    measured = geometry.measure(data, "stl")
    assert measured == geometry.Measured(
        size=(10.0, 20.0, 30.0), volume=6000.0, surface_area=2200.0, polygons=12
    )


def test_units_scale_to_mm() -> None:
    fields = geometry.in_mm(geometry.measure(binary_stl(), "stl"), "in")
    assert fields["size"] == pytest.approx({"x": 254.0, "y": 508.0, "z": 762.0})
    assert fields["volume_mm"] == pytest.approx(6000 * 25.4**3)
    assert fields["surface_area_mm"] == pytest.approx(2200 * 25.4**2)
    assert fields["polygons"] == 12


def test_real_step_is_tessellated() -> None:
    measured = geometry.measure(STEP.read_bytes(), "step")
    assert measured.size == pytest.approx((4.826, 2.794, 2.035), abs=1e-3)
    assert measured.polygons > 0 and measured.volume > 0 and measured.surface_area > 0


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"garbage", "stl"),
        (binary_stl(count=4_000_000_000), "stl"),  # the header lies about its triangles
        (b"solid x\nfacet normal 0 0 0\nendsolid", "stl"),
        (b"ISO-10303-21;\nnot really", "step"),
        (b"PK\x03\x04", "step"),
        (binary_stl(), "obj"),
    ],
)
def test_unreadable_raises_one_exception(data: bytes, fmt: str) -> None:
    with pytest.raises(geometry.UnreadableGeometry):
        geometry.measure(data, fmt)
