"""Rows with more fields than the header: rejoin a cell split by an unquoted delimiter, or refuse.

A CSV writer that does not quote turns ``bitaxe:O 25,0-JO32-B-1V3-1-T1-LF`` (a KiCad footprint
named after a Jauch oscillator) into two fields, and every later value moves one column right.
Taking the row as it stands would silently put the Digi-Key number in the part-number column, so
a wide row is either rejoined where the file itself proves the split, or reported as an error
naming the row and the columns the split may be in.

The proof comes from the other rows. Each column's well-formed values (rows no wider than the
header) give it a shape when at least :data:`MIN_SAMPLE` of them agree: a number, a list of
reference designators, a KiCad ``Library:Name``, or always empty. An alignment of the wide row
is a way to read it back to the header's width:

- the surplus fields are all empty (a stray trailing delimiter): drop them; this keeps every
  value under its own header, so it is chosen whenever it fits;
- otherwise one cell absorbed the surplus delimiters: join those fields back into one cell.
  Each joined piece must be non-empty (a value does not begin or end with a delimiter).

An alignment fits when every cell fits its column's shape. Exactly one fitting alignment is
applied (a located warning says what was joined); none or several is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Record = tuple[int, list[str]]  # (1-based line or row number where the record starts, cells)

MIN_SAMPLE = 3

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_DESIGNATOR = re.compile(r"[A-Za-z]+\d\S*")
_LIBRARY_ITEM = re.compile(r"[^\s:,]+:\S.*")


@dataclass(frozen=True)
class RowNote:
    """A repair or a refusal located at one row (and the header column it concerns)."""

    row: int
    column: str | None
    message: str
    error: bool = False


def _designators(text: str) -> bool:
    tokens = [t for t in re.split(r"[\s,;]+", text) if t]
    return bool(tokens) and all(_DESIGNATOR.fullmatch(t) for t in tokens)


_SHAPES: dict[str, Callable[[str], bool]] = {
    "a number": lambda text: _NUMBER.fullmatch(text) is not None,
    "reference designators": _designators,
    "a Library:Name reference": lambda text: _LIBRARY_ITEM.fullmatch(text) is not None,
}


@dataclass(frozen=True)
class _Column:
    """What the well-formed rows say a column holds."""

    always_empty: bool
    shapes: tuple[Callable[[str], bool], ...]

    def fits(self, text: str) -> bool:
        if not text:
            return True
        return not self.always_empty and all(shape(text) for shape in self.shapes)


def _columns(width: int, regular: Sequence[list[str]]) -> list[_Column]:
    columns = []
    for index in range(width):
        values = [cells[index] for cells in regular if index < len(cells) and cells[index]]
        if len(regular) >= MIN_SAMPLE and not values:
            columns.append(_Column(always_empty=True, shapes=()))
            continue
        shapes = tuple(
            shape
            for shape in _SHAPES.values()
            if len(values) >= MIN_SAMPLE and all(shape(v) for v in values)
        )
        columns.append(_Column(always_empty=False, shapes=shapes))
    return columns


def _alignments(cells: list[str], width: int, delimiter: str) -> list[tuple[int | None, list[str]]]:
    """(index of the joined cell, or None for dropped empties; the cells) per candidate."""
    surplus = len(cells) - width
    candidates: list[tuple[int | None, list[str]]] = []
    if not any(cell.strip() for cell in cells[width:]):
        candidates.append((None, cells[:width]))
    for start in range(width):
        pieces = cells[start : start + surplus + 1]
        if all(piece.strip() for piece in pieces):
            joined = delimiter.join(pieces)
            candidates.append((start, [*cells[:start], joined, *cells[start + surplus + 1 :]]))
    return candidates


def rejoin_split_cells(
    names: list[str], rows: list[Record], delimiter: str, notes: list[RowNote]
) -> list[Record]:
    """``rows`` with each wide row read back to the header's width where the file proves how;
    the others are left as they are and reported as errors in ``notes``."""
    header_width = len(names)
    wide = [i for i, (_, cells) in enumerate(rows) if len(cells) > header_width]
    if not wide:
        return rows
    regular = [[cell.strip() for cell in cells] for _, cells in rows if len(cells) <= header_width]
    columns = _columns(header_width, regular)

    def label(index: int) -> str:
        return names[index].strip() or f"column {index + 1}"

    out = list(rows)
    for position in wide:
        number, cells = rows[position]
        fitting = [
            (start, aligned)
            for start, aligned in _alignments(cells, header_width, delimiter)
            if all(col.fits(cell.strip()) for col, cell in zip(columns, aligned, strict=True))
        ]
        dropped = [a for a in fitting if a[0] is None]
        chosen = dropped or fitting
        fields = f"{len(cells)} fields for the header's {header_width}"
        if len(chosen) == 1:
            start, aligned = chosen[0]
            out[position] = (number, aligned)
            if start is not None:
                notes.append(
                    RowNote(
                        number,
                        label(start),
                        f"{fields}: an unquoted {_name(delimiter)} split this cell; read it as "
                        f"{aligned[start].strip()!r} (only that reading fits every column)",
                    )
                )
            continue
        suspects = [label(s) for s, _ in fitting if s is not None] or [
            label(i) for i in range(header_width)
        ]
        notes.append(
            RowNote(
                number,
                " or ".join(dict.fromkeys(suspects)),
                f"{fields}: an unquoted {_name(delimiter)} split a cell, perhaps in "
                f"{', '.join(dict.fromkeys(suspects))}, and the values after it would land in the "
                'wrong columns; quote that cell ("...") and import again',
                error=True,
            )
        )
    return out


def _name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(delimiter, repr(delimiter))
