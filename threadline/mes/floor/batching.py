"""How pieces are grouped into the runs of a post-processing or shipping step, by the
workstation type's ``batching_strategy`` (mes-api-reference.txt ``/post-processor-type/``,
``/shipping/``; the run's ``batch_type`` adds ``by_order``):

- ``single``: one run per piece;
- ``by_number_of_parts``: runs of at most ``number_of_parts`` pieces, in the order given;
- ``by_job``: one run per line item (a job); ``by_order``: one run per order;
- ``match_previous`` (the default): the pieces stay together as they were in their previous run;
- ``by_size_xy`` / ``by_size_xyz``: as many pieces per run as fit the type's ``build_volume``
  (their footprints packed as on a build plate, :mod:`threadline.mes.floor.packing`; ``xyz``
  also keeps each piece within the volume's height). Without a build volume, or for a piece
  without a measured model, these fall back to ``match_previous``.

Groups keep the order the pieces came in, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from threadline.mes.floor import packing

STRATEGIES = (
    "by_size_xyz",
    "by_size_xy",
    "by_number_of_parts",
    "match_previous",
    "single",
    "by_job",
    "by_order",
)


@dataclass(frozen=True)
class PieceInfo:
    id: str
    order_id: str | None
    line_item_id: str
    previous_group: str | None  # the run the piece was in at its previous step
    size: tuple[float, float, float] | None = None  # its model's bounding box, mm


def _grouped(pieces: Sequence[PieceInfo], key: Callable[[PieceInfo], object]) -> list[list[str]]:
    groups: dict[object, list[str]] = {}
    for p in pieces:
        groups.setdefault(key(p), []).append(p.id)
    return list(groups.values())


def batch(
    strategy: str | None,
    pieces: Sequence[PieceInfo],
    *,
    number_of_parts: int | None = None,
    plate: packing.Plate | None = None,
) -> list[list[str]]:
    """The piece ids of each run, by ``strategy`` (None or unknown: ``match_previous``)."""
    if not pieces:
        return []
    if strategy == "single":
        return [[p.id] for p in pieces]
    if strategy == "by_number_of_parts":
        size = max(number_of_parts or len(pieces), 1)
        ids = [p.id for p in pieces]
        return [ids[i : i + size] for i in range(0, len(ids), size)]
    if strategy == "by_job":
        return _grouped(pieces, lambda p: p.line_item_id)
    if strategy == "by_order":
        return _grouped(pieces, lambda p: p.order_id)
    sized = all(p.size is not None for p in pieces)
    if strategy in ("by_size_xy", "by_size_xyz") and plate is not None and sized:
        volume = (
            plate
            if strategy == "by_size_xyz"
            else packing.Plate(plate.shape, plate.x, plate.y, float("inf"), plate.spacing)
        )
        items = [packing.Item(p.id, *p.size) for p in pieces if p.size is not None]
        packed = packing.pack(volume, items)
        groups = [[pl.item_id for pl in placed] for placed in packed.plates]
        # a piece too big for the volume still has to be worked: alone
        return groups + [[i] for i in packed.unfitted]
    return _grouped(pieces, lambda p: p.previous_group)
