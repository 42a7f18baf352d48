"""Build-plate packing and batching for the assisted planner (pure Python, no database)."""

from __future__ import annotations

import random

import pytest

from threadline.mes.floor.batching import PieceInfo, batch
from threadline.mes.floor.packing import Item, Packing, Placement, Plate, check, pack


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("shape", ["rectangle", "circle"])
def test_random_packings_are_valid(seed: int, shape: str) -> None:
    rnd = random.Random(seed)
    plate = Plate(shape, rnd.uniform(80, 300), rnd.uniform(80, 300), 150, rnd.choice([0, 1, 5]))
    if shape == "circle":
        plate = Plate("circle", plate.x, plate.x, plate.z, plate.spacing)
    items = [
        Item(f"i{n}", rnd.uniform(1, 120), rnd.uniform(1, 120), rnd.uniform(1, 200))
        for n in range(rnd.randint(0, 40))
    ]
    packing = pack(plate, items, max_plates=rnd.choice([None, 1, 3]))
    assert check(plate, packing, items) == []
    assert pack(plate, items, max_plates=None) == pack(plate, items, max_plates=None)


def test_exact_fit_and_spacing() -> None:
    plate = Plate("rectangle", 100, 50, 10, 0)
    items = [Item("a", 50, 50, 5), Item("b", 50, 50, 5)]
    packing = pack(plate, items)
    assert len(packing.plates) == 1 and packing.unfitted == []
    spaced = Plate("rectangle", 100, 50, 10, 1)
    packing = pack(spaced, items)
    assert len(packing.plates) == 2
    assert check(spaced, packing, items) == []


def test_rotation_needed() -> None:
    plate = Plate("rectangle", 30, 100, 10, 0)
    packing = pack(plate, [Item("a", 90, 20, 5)])
    assert packing.plates[0][0].rotated and packing.unfitted == []


def test_circle_and_too_tall() -> None:
    plate = Plate("circle", 100, 100, 50, 0)
    items = [Item("ok", 60, 60, 10), Item("tall", 10, 10, 51), Item("wide", 80, 80, 1)]
    packing = pack(plate, items)
    assert [p.item_id for p in packing.plates[0]] == ["ok"]
    assert sorted(packing.unfitted) == ["tall", "wide"]
    assert check(plate, packing, items) == []


def test_check_catches_broken_packings() -> None:
    plate = Plate("rectangle", 100, 100, 10, 2)
    items = [Item("a", 10, 10, 5), Item("b", 10, 10, 5), Item("c", 10, 10, 20)]
    broken = Packing(
        plates=[
            [
                Placement("a", 0, 0, 0, 10, 10, False),
                Placement("b", 0, 11, 0, 10, 10, False),  # within the spacing
                Placement("c", 0, 95, 50, 10, 10, False),  # overhangs, too tall
                Placement("a", 0, 50, 50, 10, 10, False),  # twice
            ]
        ]
    )
    problems = " ".join(check(plate, broken, [*items, Item("d", 1, 1, 1)]))
    for word in ("spacing", "overhangs", "taller", "2 times", "lost"):
        assert word in problems


def test_from_build_volume() -> None:
    assert Plate.from_build_volume(None, None, None) is None
    assert Plate.from_build_volume({"x": 200, "y": 100, "z": 50}, "rectangular", 3) == Plate(
        "rectangle", 200, 100, 50, 3
    )
    assert Plate.from_build_volume({"x": 150, "y": 150, "z": 50}, "circular", None) == Plate(
        "circle", 150, 150, 50, 0
    )
    assert Plate.from_build_volume({"x": "bad"}, None, None) is None


PIECES = [
    PieceInfo("p1", "o1", "l1", "r1", (10, 10, 10)),
    PieceInfo("p2", "o1", "l2", "r1", (10, 10, 10)),
    PieceInfo("p3", "o2", "l3", "r2", (10, 10, 10)),
]


def test_batching_strategies() -> None:
    assert batch("single", PIECES) == [["p1"], ["p2"], ["p3"]]
    assert batch("by_number_of_parts", PIECES, number_of_parts=2) == [["p1", "p2"], ["p3"]]
    assert batch("by_job", PIECES) == [["p1"], ["p2"], ["p3"]]
    assert batch("by_order", PIECES) == [["p1", "p2"], ["p3"]]
    assert batch("match_previous", PIECES) == [["p1", "p2"], ["p3"]]
    assert batch(None, PIECES) == [["p1", "p2"], ["p3"]]
    assert batch("single", []) == []
    small = Plate("rectangle", 25, 10, 5, 0)
    assert batch("by_size_xy", PIECES, plate=small) == [["p1", "p2"], ["p3"]]
    assert batch("by_size_xyz", PIECES, plate=small) == [["p1"], ["p2"], ["p3"]]
    assert batch("by_size_xy", PIECES) == [["p1", "p2"], ["p3"]]  # no volume: match_previous
