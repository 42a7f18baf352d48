"""Packing pieces' bounding boxes onto build plates, for the assisted planner (``/create-runs/``).

A printer type's plate is rectangular (``build_volume`` x by y) or circular (diameter x), with
``min_packing_distance`` kept between parts (mes-api-reference.txt ``/printer-type/``). This is
a 2-D packing of each piece's bounding-box footprint, rotated by 90° about z where that helps;
a piece taller than the build volume's z fits no plate.

The packer is a shelf packer, first fit by decreasing depth: each shelf is a band across the
plate as deep as its first (deepest) box; boxes go left to right along it. On a circle a shelf
is as wide as the circle's chord at the band's edge farthest from the centre, so every corner
of every box lies inside the circle. It is not optimal (no packer is, cheaply); it is always
*correct*: :func:`check` verifies a packing — no overlap with spacing, no overhang, no height
overrun, every item placed once or reported unfitted — and the planner checks every plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

EPSILON = 1e-6


@dataclass(frozen=True)
class Plate:
    shape: str  # "rectangle" | "circle"
    x: float  # width, or the circle's diameter
    y: float  # depth (the diameter again for a circle)
    z: float  # build height
    spacing: float = 0.0

    @classmethod
    def from_build_volume(
        cls, build_volume: dict[str, Any] | None, shape: str | None, spacing: float | None
    ) -> Plate | None:
        """The plate of a printer type (``build_volume`` {"x", "y", "z"} in mm, the shape
        ``rectangular`` or ``circular``); None when the volume is not given."""
        if not isinstance(build_volume, dict):
            return None
        try:
            x = float(build_volume["x"])
            y = float(build_volume.get("y", x))
            z = float(build_volume.get("z", math.inf))
        except (KeyError, TypeError, ValueError):
            return None
        if not (x > 0 and y > 0 and z > 0):
            return None
        gap = max(float(spacing or 0.0), 0.0)
        if shape in ("circular", "circle"):
            return cls("circle", x, x, z, gap)
        return cls("rectangle", x, y, z, gap)


@dataclass(frozen=True)
class Item:
    id: str
    x: float
    y: float
    z: float


@dataclass
class Placement:
    item_id: str
    plate: int
    x: float  # the footprint's lower-left corner on the plate
    y: float
    width: float
    depth: float
    rotated: bool


@dataclass
class Packing:
    plates: list[list[Placement]] = field(default_factory=list)
    unfitted: list[str] = field(default_factory=list)


def _band(plate: Plate, y0: float, depth: float) -> tuple[float, float] | None:
    """The x-range usable by a shelf spanning [y0, y0 + depth], or None if it leaves the plate."""
    y1 = y0 + depth
    if y1 > plate.y + EPSILON:
        return None
    if plate.shape == "rectangle":
        return 0.0, plate.x
    r = plate.x / 2
    far = max(abs(y0 - r), abs(y1 - r))
    if far >= r:
        return None
    half = math.sqrt(r * r - far * far)
    return r - half, r + half


def _shelf_start(plate: Plate, start: float, width: float) -> float:
    """Where a new shelf may begin: on a circle, no nearer the edge than where the chord is
    ``width`` wide (at the plate's edge the chord is empty)."""
    if plate.shape == "rectangle":
        return start
    r = plate.x / 2
    if width >= plate.x:
        return start
    return max(start, r - math.sqrt(r * r - width * width / 4) + EPSILON)


def _orientations(item: Item) -> list[tuple[float, float, bool]]:
    """Footprints to try, the shallower (deeper rows waste less) first."""
    options = [(item.x, item.y, False), (item.y, item.x, True)]
    options.sort(key=lambda o: (o[1], o[0]))
    return options if item.x != item.y else options[:1]


def _fill_plate(plate: Plate, items: list[Item], index: int) -> tuple[list[Placement], list[Item]]:
    placed: list[Placement] = []
    rest: list[Item] = []
    y = 0.0
    shelf: tuple[float, float, float] | None = None  # (y0, depth, next x)
    limits: tuple[float, float] = (0.0, 0.0)
    for item in items:
        spot = None
        for width, depth, rotated in _orientations(item):
            if shelf is not None and depth <= shelf[1] + EPSILON:
                x0 = shelf[2]
                if x0 + width <= limits[1] + EPSILON:
                    spot = (x0, shelf[0], width, depth, rotated, False)
                    break
        if spot is None:
            # a new shelf below the current one, as deep as this item
            start = y if shelf is None else shelf[0] + shelf[1] + plate.spacing
            for width, depth, rotated in _orientations(item):
                at = _shelf_start(plate, start, width)
                band = _band(plate, at, depth)
                if band is not None and band[0] + width <= band[1] + EPSILON:
                    spot = (band[0], at, width, depth, rotated, True)
                    limits = band
                    break
        if spot is None:
            rest.append(item)
            continue
        x0, y0, width, depth, rotated, opened = spot
        if opened:
            shelf = (y0, depth, x0)
        assert shelf is not None
        placed.append(Placement(item.id, index, x0, y0, width, depth, rotated))
        shelf = (shelf[0], shelf[1], x0 + width + plate.spacing)
    return placed, rest


def pack(plate: Plate, items: Sequence[Item], *, max_plates: int | None = None) -> Packing:
    """Items onto as many plates as needed (at most ``max_plates``); deterministic."""
    result = Packing()
    todo = []
    for item in items:
        if item.z > plate.z + EPSILON or min(item.x, item.y) <= 0:
            result.unfitted.append(item.id)
        else:
            todo.append(item)
    todo.sort(key=lambda i: (-min(i.x, i.y), -max(i.x, i.y), i.id))
    while todo and (max_plates is None or len(result.plates) < max_plates):
        placed, rest = _fill_plate(plate, todo, len(result.plates))
        if not placed:  # what is left fits no empty plate
            break
        result.plates.append(placed)
        todo = rest
    result.unfitted.extend(i.id for i in todo)
    return result


def _inside(plate: Plate, p: Placement) -> bool:
    corners = [
        (p.x, p.y),
        (p.x + p.width, p.y),
        (p.x, p.y + p.depth),
        (p.x + p.width, p.y + p.depth),
    ]
    if plate.shape == "rectangle":
        return all(
            -EPSILON <= cx <= plate.x + EPSILON and -EPSILON <= cy <= plate.y + EPSILON
            for cx, cy in corners
        )
    r = plate.x / 2
    return all(math.hypot(cx - r, cy - r) <= r + EPSILON for cx, cy in corners)


def check(plate: Plate, packing: Packing, items: Sequence[Item]) -> list[str]:
    """What is wrong with a packing ([] when it is valid)."""
    problems: list[str] = []
    by_id = {i.id: i for i in items}
    seen: dict[str, int] = {}
    for placements in packing.plates:
        for p in placements:
            seen[p.item_id] = seen.get(p.item_id, 0) + 1
            item = by_id.get(p.item_id)
            if item is None:
                problems.append(f"{p.item_id}: placed but not asked for")
                continue
            footprint = (item.y, item.x) if p.rotated else (item.x, item.y)
            if abs(footprint[0] - p.width) > EPSILON or abs(footprint[1] - p.depth) > EPSILON:
                problems.append(f"{p.item_id}: footprint does not match the item")
            if item.z > plate.z + EPSILON:
                problems.append(f"{p.item_id}: taller than the build volume")
            if not _inside(plate, p):
                problems.append(f"{p.item_id}: overhangs the plate")
        ordered = sorted(placements, key=lambda p: p.x)
        for n, a in enumerate(ordered):
            for b in ordered[n + 1 :]:
                if b.x >= a.x + a.width + plate.spacing - EPSILON:
                    break
                apart_y = (
                    b.y >= a.y + a.depth + plate.spacing - EPSILON
                    or a.y >= b.y + b.depth + plate.spacing - EPSILON
                )
                if not apart_y:
                    problems.append(f"{a.item_id} and {b.item_id}: closer than the spacing")
    for item_id, count in seen.items():
        if count > 1:
            problems.append(f"{item_id}: placed {count} times")
    unfitted = set(packing.unfitted)
    for item in items:
        if item.id not in seen and item.id not in unfitted:
            problems.append(f"{item.id}: lost (neither placed nor unfitted)")
        if item.id in seen and item.id in unfitted:
            problems.append(f"{item.id}: both placed and unfitted")
    return problems
