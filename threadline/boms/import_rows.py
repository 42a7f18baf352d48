"""BOM import, reading: each row of a read table becomes a pending line, or a located problem.

The part is identified by internal part number, else MPN, else value + footprint (KiCad exports
often carry no internal part number); the quantity defaults to the number of designators; rows
of the same part under the same parent are merged (one-row-per-designator exports); DNP rows
become lines flagged ``dnp``; a ``level`` column (as the hierarchical export writes) rebuilds the
nesting. Every row is a line, part of a merged line, or named in a warning.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from threadline.boms import effectivity
from threadline.db import new_id
from threadline.imports import Problems, parse_decimal, row_list
from threadline.tabular import Row, expand_refdes

ALIASES: dict[str, list[str]] = {
    # The internal part number. "Part Number" alone is ambiguous: see part_number_is_mpn.
    "child_part_number": ["child_part_number", "child_pn", "internal_part_number", "ipn"],
    "part_number": ["part_number", "pn", "part number", "partno", "part no"],
    # Field1..Field5 are KiCad's generic legacy columns (manufacturer, MPN, description, DNP).
    "manufacturer_part_number": [
        "manufacturer_part_number", "mpn", "mfr_pn", "mfg part number", "mfr part number",
        "manufacturer part number", "field2",
    ],
    "manufacturer_name": ["manufacturer_name", "manufacturer", "mfr", "mfg", "field1"],
    "qty": ["qty", "quantity"],
    "uom": ["uom", "unit", "unit_of_measure"],
    "refdes": [
        "refdes", "reference_designators", "reference", "references", "designators",
        "designator", "ref", "ref des", "reference(s)",
    ],
    "notes": ["notes", "note", "comment", "comments"],
    # Kept as the attributes of the parts the import creates, under exactly these keys (the
    # BOM export writes them back as columns of the same names).
    "value": ["value", "val"],
    "footprint": ["footprint", "pcb_footprint", "package"],
    "datasheet": ["datasheet", "data sheet"],
    "lcsc": [
        "lcsc", "lcsc part", "lcsc part #", "lcsc part number", "lcsc pn", "jlcpcb part",
        "jlcpcb part #", "jlc part",
    ],
    "digikey": [
        "digikey", "digi-key", "dk", "digikey part number", "digi-key part number", "digikey pn",
        "digi-key pn", "digikey part #", "digi-key part #",
    ],
    "mouser": ["mouser", "mouser part number", "mouser pn", "mouser part #", "mouser part"],
    "description": ["description", "field3"],
    "name": ["name"],
    "dnp": ["dnp", "do not populate", "dnf", "field5"],
    "level": ["level"],
    "alternates": ["alternates", "alternate", "alternate_part_numbers"],
    # effectivity, as the hierarchical export writes it (camelCase matches too)
    "date_from": ["date_from", "effective_from"],
    "date_to": ["date_to", "effective_to"],
    "serial_from": ["serial_from"],
    "serial_to": ["serial_to"],
    "lot_from": ["lot_from"],
    "lot_to": ["lot_to"],
}  # fmt: skip
ATTRIBUTES = ("value", "footprint", "datasheet", "lcsc", "digikey", "mouser")
_DNP_TRUE = {"dnp", "dnf", "yes", "y", "x", "1", "true", "t", "do not populate", "do not fit", "nc"}
_DNP_FALSE = {"", "no", "n", "0", "false", "f", "fitted", "fit"}
_DNP_MARKS = {"DNP", "DNF", "DO NOT POPULATE", "DO NOT FIT"}


@dataclass
class PendingLine:
    """A line being built from one row, or several merged ones."""

    key: tuple[Any, ...]
    effectivity: dict[str, Any]
    id: uuid.UUID
    parent: uuid.UUID | None
    part_number: str
    qty: Decimal
    uom: str
    refdes: list[str]
    notes: list[str]
    alternates: list[str]
    first_row: int
    dnp: bool = False
    by_mpn: bool = False  # no internal part number: the MPN stands in for it
    merged_rows: list[int] = field(default_factory=list)
    new_part: dict[str, Any] = field(default_factory=dict)


def is_mark(text: str) -> bool:
    """Whether a cell is a do-not-populate marker (DNP, DNF, Do not populate, Do not fit)."""
    return text.strip().upper() in _DNP_MARKS


def part_number_is_mpn(columns: Iterable[str]) -> bool:
    """Whether a "Part Number" column holds the manufacturer's part number.

    In an EDA export (KiCad, JLC: a Value, Footprint or Manufacturer column) without an MPN
    column, "Part Number"/"PARTNO" is the manufacturer's number, next to its manufacturer; so it
    is when a file also has an explicit child_part_number. Threadline's own export (a ``level``
    column) and plain part lists keep it as the internal part number.
    """
    present = set(columns)
    if "manufacturer_part_number" in present or "part_number" not in present:
        return False
    if "child_part_number" in present:
        return True
    eda = bool({"value", "footprint", "manufacturer_name"} & present)
    return eda and "level" not in present


def _identify(values: dict[str, str], pn_is_mpn: bool, dnp: bool) -> tuple[str, str, str]:
    """(part number, MPN, how the part number was found: "pn", "mpn", "value" or "footprint").

    Only an unfitted placement may be identified by its footprint alone: an empty footprint is
    all there is to say about it, while a fitted one must say what to buy."""
    explicit = values.get("child_part_number", "").strip()
    generic = values.get("part_number", "").strip()
    mpn = values.get("manufacturer_part_number", "").strip() or (generic if pn_is_mpn else "")
    internal = explicit or ("" if pn_is_mpn else generic)
    if internal:
        return internal[:100], mpn[:200], "pn"
    if mpn:
        return mpn[:100], mpn[:200], "mpn"
    value, footprint = values.get("value", "").strip(), values.get("footprint", "").strip()
    if value and footprint:
        return f"{value} {footprint.rsplit(':', 1)[-1]}"[:100], "", "value"
    if not value and footprint and dnp:
        return footprint.rsplit(":", 1)[-1][:100], "", "footprint"
    return value[:100], "", "value"


def _dnp(row: Row, problems: Problems) -> bool | None:
    """Whether the row is marked do-not-populate: a ``dnp`` column (yes/no, DNP, true/false, 1/0,
    x), or a DNP or DNF marker in any cell, as legacy KiCad exports put it in whichever FieldN
    (or the Value) the designer chose (jawbreaker-bom.csv, hackrf-one-bom_2014_semicolon.csv).
    None after recording an unreadable ``dnp`` cell."""
    text = row.values.get("dnp", "").strip().lower()
    if text in _DNP_TRUE:
        return True
    if text not in _DNP_FALSE and not is_mark(text):
        problems.error(row.number, "dnp", f"{text!r} is not yes/no, DNP, true/false or 1/0")
        return None
    return any(is_mark(cell) for cell in (*row.values.values(), *row.extra.values()))


_EFFECTIVITY = ("date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to")


def _effectivity(values: dict[str, str], number: int, problems: Problems) -> dict[str, Any] | None:
    """The row's effectivity columns parsed, or None after recording why they cannot be."""
    out: dict[str, Any] = {}
    for column in _EFFECTIVITY:
        text = values.get(column, "").strip()
        if not text:
            out[column] = None
            continue
        try:
            if column.startswith("date"):
                out[column] = date.fromisoformat(text[:10])
            elif column.startswith("serial"):
                out[column] = int(parse_decimal(text, what="serial number"))
                if not 0 <= out[column] <= 2**62:
                    raise ValueError(f"{text!r} is out of range")
            else:
                out[column] = text[:64]
        except ValueError as exc:
            problems.error(number, column, str(exc))
            return None
    for message in effectivity.contradictions(out):
        problems.error(number, "effectivity", message)
        return None
    return out


def _new_part(values: dict[str, str], pn: str, mpn: str) -> dict[str, Any]:
    """What a part created from this row holds: every field the file gives for it."""

    def text(column: str, limit: int) -> str | None:
        return values.get(column, "").strip()[:limit] or None

    attributes = {k: values[k].strip() for k in ATTRIBUTES if values.get(k, "").strip()}
    if attributes.get("datasheet") == "~":  # KiCad's "no datasheet"
        del attributes["datasheet"]
    return {
        "name": (
            values.get("name") or values.get("description") or values.get("value") or pn
        ).strip()[:300],
        "description": values.get("description", "").strip() or None,
        "manufacturer_name": text("manufacturer_name", 200),
        "manufacturer_part_number": mpn or None,
        "attributes": attributes,
    }


def _quantity(
    values: dict[str, str], refdes: list[str], dnp: bool, number: int, problems: Problems
) -> Decimal | None:
    qty_text = values.get("qty", "").strip()
    if qty_text:
        try:
            qty = parse_decimal(qty_text, what="quantity")
        except ValueError as exc:
            problems.error(number, "qty", str(exc))
            return None
        if dnp and qty == 0 and refdes:
            qty = Decimal(len(refdes))  # some exports write 0 for an unfitted placement
    elif refdes:
        qty = Decimal(len(refdes))
    else:
        problems.error(number, "qty", "qty is required (or reference designators to count)")
        return None
    if qty <= 0 or qty > Decimal("1e9"):
        problems.error(number, "qty", f"qty must be > 0 and at most 1e9, not {qty_text}")
        return None
    if refdes and qty == qty.to_integral_value() and len(refdes) != qty:
        problems.warn(number, "refdes", f"{len(refdes)} designators but qty {qty.normalize()}")
    return qty


def parse_rows(
    table_rows: list[Row], pn_is_mpn: bool, refused: set[int], problems: Problems
) -> list[PendingLine]:
    """The lines the rows make; ``refused`` rows (already errors: their cells are not where
    the header says) are not read further."""
    lines: dict[tuple[Any, ...], PendingLine] = {}
    stack: list[uuid.UUID] = []  # the line currently open at each level (for the level column)
    unidentified_dnp: list[tuple[int, str]] = []
    for row in table_rows:
        number = row.number
        if number in refused:
            continue
        dnp = _dnp(row, problems)
        if dnp is None:
            continue
        # A DNP marker is the flag, not the part's value, manufacturer or note.
        values = {k: "" if is_mark(v) else v for k, v in row.values.items()}
        pn, mpn, found_by = _identify(values, pn_is_mpn, dnp)
        if not pn:
            if dnp:
                unidentified_dnp.append((number, values.get("refdes", "").strip()))
                continue
            problems.error(
                number, "child_part_number", "no part number, MPN or value identifies the part"
            )
            continue
        if found_by in {"value", "footprint"}:
            by = "value/footprint" if found_by == "value" else "footprint (an unfitted placement)"
            problems.warn(
                number, "child_part_number", f"no part number or MPN; identified as {pn!r} by {by}"
            )
        try:
            refdes = expand_refdes(values.get("refdes", ""))
        except ValueError as exc:
            problems.error(number, "refdes", str(exc))
            continue
        qty = _quantity(values, refdes, dnp, number, problems)
        if qty is None:
            continue
        level_text = values.get("level", "").strip()
        level = 1
        if level_text:
            try:
                level = int(parse_decimal(level_text, what="level"))
            except ValueError as exc:
                problems.error(number, "level", str(exc))
                continue
            if level < 1 or level > len(stack) + 1:
                problems.error(number, "level", f"level {level} does not follow level {len(stack)}")
                continue
        parent = stack[level - 2] if level > 1 else None
        uom = values.get("uom", "").strip()[:32] or "each"
        eff = _effectivity(values, number, problems)
        if eff is None:
            continue
        # A DNP placement and a fitted one of the same part stay separate lines.
        key = (parent, pn, uom, tuple(eff.values()), dnp)
        line = lines.get(key)
        if line is None or level_text:
            line = PendingLine(
                key=key, effectivity=eff, id=new_id(), parent=parent, part_number=pn,
                qty=Decimal(0), uom=uom, refdes=[], notes=[], alternates=[], first_row=number,
                dnp=dnp, by_mpn=found_by == "mpn", new_part=_new_part(values, pn, mpn),
            )  # fmt: skip
            lines[(*key, line.id) if level_text else key] = line
        else:
            line.merged_rows.append(number)
        line.qty += qty
        line.refdes += [r for r in refdes if r not in line.refdes]
        if values.get("notes", "").strip():
            line.notes.append(values["notes"].strip())
        alternates = values.get("alternates", "").replace("|", ",").split(",")
        line.alternates += [a.strip()[:100] for a in alternates if a.strip() and a.strip() != pn]
        del stack[level - 1 :]
        stack.append(line.id)
    _report_merges_and_skips(list(lines.values()), unidentified_dnp, problems)
    return list(lines.values())


def _report_merges_and_skips(
    lines: list[PendingLine], unidentified_dnp: list[tuple[int, str]], problems: Problems
) -> None:
    """One warning per category, so no row leaves the file without a word."""
    merged = [line for line in lines if line.merged_rows]
    if merged:
        rows = sum(len(line.merged_rows) for line in merged)
        into = "; ".join(
            f"row {line.first_row} + {row_list(line.merged_rows)}" for line in merged[:20]
        ) + ("; ..." if len(merged) > 20 else "")
        problems.warn(
            min(n for line in merged for n in line.merged_rows),
            None,
            f"{rows} row(s) merged into the line of an earlier row of the same part, parent, "
            f"unit, effectivity and DNP flag (quantities and designators added): {into}",
        )
    if unidentified_dnp:
        where = ", ".join(
            f"{number} ({refdes})" if refdes else str(number) for number, refdes in unidentified_dnp
        )
        problems.warn(
            unidentified_dnp[0][0],
            "child_part_number",
            f"{len(unidentified_dnp)} DNP row(s) name no part (no part number, MPN, value or "
            "footprint), so "
            f"they cannot be lines; not imported: rows {where}",
        )
