"""The printable form of a traceability report: one self-contained HTML page.

Built by string joining with every value escaped (:func:`html.escape`, quotes too): names,
notes and comments are user text, and a ``<script>`` in a piece's name must print as text.
The page loads nothing and runs nothing; its download also carries a Content-Security-Policy
that forbids scripts (threadline/mes/floor/reports/api.py).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

STYLE = (
    "body{font:13px/1.4 system-ui,sans-serif;margin:2em;color:#111}"
    "h1{font-size:20px}h2{font-size:15px;margin-top:1.6em}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0}"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#eee}code{white-space:pre-wrap;word-break:break-all}"
    "@media print{body{margin:0}}"
)
GROUP_TITLES = {
    "cad_model_changes": "CAD model changes",
    "cad_model_replaced": "CAD model replaced",
    "print_events": "Print events",
    "post_process_events": "Post-process events",
    "work_checklist_changes": "Work checklist changes",
    "manual_notes": "Manual notes",
    "other": "Other",
    "work_instruction_report": "Work instruction report",
    "preparation_events": "Preparation events",
    "material_batch": "Material batch",
}


def e(value: Any) -> str:
    """A value as escaped text: None is empty, documents are compact JSON."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = orjson.dumps(value).decode()
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; ``rows`` hold already-escaped cells."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of labelled values (escaped here)."""
    return table(("", ""), ([f"<b>{e(k)}</b>", e(v)] for k, v in pairs))


def page(title: str, sections: Iterable[tuple[str, str]]) -> bytes:
    """The whole document: ``sections`` are (heading, escaped HTML body)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for heading, body in sections:
        parts.append(f"<h2>{e(heading)}</h2>{body}")
    parts.append("</body></html>")
    return "".join(parts).encode()


def events_table(events: Sequence[dict[str, Any]]) -> str:
    """The audit records: when, what, who, and each field before and after."""
    if not events:
        return "<p>No recorded events of the requested groups.</p>"

    def changes(ev: dict[str, Any]) -> str:
        lines = []
        for c in ev["changes"]:
            before, after = c["previous_value"], c["current_value"]
            arrow = f"{e(before)} &rarr; {e(after)}" if ev["action"] == "update" else e(after)
            if ev["action"] == "delete":
                arrow = e(before)
            lines.append(f"<b>{e(c['key'])}</b>: <code>{arrow}</code>")
        return "<br>".join(lines)

    return table(
        ("Time", "Group", "Record", "Action", "User", "Fields"),
        (
            [
                e(ev["created"]),
                e(GROUP_TITLES.get(ev["group"], ev["group"])),
                f"{e(ev['label'])}<br><small>{e(ev['reference'])}</small>",
                e(ev["action"]),
                e(ev["user"]),
                changes(ev),
            ]
            for ev in events
        ),
    )


def piece_document(doc: dict[str, Any]) -> bytes:
    """The HTML of a piece's report, from the JSON document the job stores beside it."""
    t = doc["trace"]
    piece, order, item, part, model = (
        t.get("piece") or {},
        t.get("order") or {},
        t.get("lineItem") or {},
        t.get("part"),
        t.get("model"),
    )
    summary = facts(
        [
            ("Bureau", doc["bureau"]["name"]),
            ("Piece", f"{piece.get('name')} (copy {piece.get('copy')}, {piece.get('status')})"),
            ("Order", order.get("name")),
            ("Customer ID", order.get("customerId")),
            ("Line item", f"{item.get('name') or ''} ({item.get('status')})"),
            (
                "Part revision",
                f"{part['partNumber']} {part['name'] or ''} rev. {part['revision']}"
                if part
                else None,
            ),
            ("Model", f"{model['name']} ({model.get('sha256') or 'no file'})" if model else None),
            ("Started", piece.get("started")),
            ("Ended", piece.get("ended")),
            ("Requested by", doc["user"]),
            ("Generated", doc["generated"]),
            ("Filters", ", ".join(doc["filters"])),
        ]
    )
    step_rows = []
    for step in t.get("steps") or []:
        run = step.get("run") or {}
        station = run.get("workstation") or {}
        material = "<br>".join(
            e(f"batch {m.get('batch')}: {m.get('baseMaterialUsed')}")
            + "".join(
                f"<br>&nbsp;lot {e(lot.get('name'))} ({e(lot.get('id'))})"
                for lot in m.get("lots") or []
            )
            for m in run.get("material") or []
        )
        step_rows.append(
            [
                e(step.get("position")),
                e(step.get("processStep")),
                e(step.get("status")),
                e(run.get("name")),
                e(run.get("operation")),
                e(station.get("name")),
                e(", ".join(run.get("operators") or [])),
                e(run.get("started")),
                e(run.get("ended")),
                material,
            ]
        )
    steps = table(
        ("#", "Step", "Status", "Run", "Operation", "Workstation", "Operators", "Started",
         "Ended", "Material"),
        step_rows,
    )  # fmt: skip
    cad = table(
        ("File", "Version", "SHA-256"),
        (
            [e(f.get("name")), e(f.get("version")), e(f.get("sha256"))]
            for f in t.get("cadFiles") or []
        ),
    )
    lots = table(
        ("Lot", "Delivery", "Material", "Status"),
        (
            [e(lot.get("name") or lot.get("id")), e(lot.get("deliveryId")),
             e(lot.get("materialName")), e(lot.get("status"))]
            for lot in t.get("materialLots") or []
        ),
    )  # fmt: skip
    return page(
        f"Traceability report: {piece.get('name')}",
        [
            ("Summary", summary),
            ("Process steps", steps),
            ("CAD files", cad),
            ("Material lots", lots),
            ("Events", events_table(doc["events"])),
        ],
    )


def batch_document(doc: dict[str, Any]) -> bytes:
    """The HTML of a material batch's report."""
    batch = doc["material_batch"]
    summary = facts(
        [
            ("Bureau", doc["bureau"]["name"]),
            ("Material batch", batch.get("uri")),
            ("Status", batch.get("status")),
            ("Quantity", f"{batch.get('quantity')} {batch.get('units') or ''}"),
            ("Powder quality", batch.get("powder_quality")),
            ("Usage cycles", batch.get("usage_cycles")),
            ("Notes", batch.get("notes")),
            ("Requested by", doc["user"]),
            ("Generated", doc["generated"]),
        ]
    )
    lots = table(
        ("Lot", "Delivery", "Material", "Status"),
        (
            [e(lot["name"] or lot["material_lot"]), e(lot["delivery_id"]),
             e(lot["material_name"]), e(lot["status"])]
            for lot in doc["material_lots"]
        ),
    )  # fmt: skip

    def tree(nodes: list[dict[str, Any]], key: str) -> str:
        if not nodes:
            return ""
        items = "".join(
            f"<li>{e(n.get('action_type'))} {e(n.get('quantity'))} &mdash; {e(n.get('batch'))}"
            f"{' (again)' if n.get('seen') else ''}{tree(n.get(key) or [], key)}</li>"
            for n in nodes
        )
        return f"<ul>{items}</ul>"

    genealogy = doc["genealogy"]
    parents = tree(genealogy["parents_tree"], "parents") or "<p>Made directly from its lots.</p>"
    children = tree(genealogy["children_tree"], "children") or "<p>Nothing was made from it.</p>"
    used = table(
        ("Batch", "Run", "Base used", "Support used", "Pieces"),
        (
            [
                e(c["material_batch"]),
                f"{e(c['run_name'])}<br><small>{e(c['run'])}</small>",
                e(c["base_material_used"]),
                e(c["support_material_used"]),
                "<br>".join(f"{e(p['name'])} ({e(p['status'])})" for p in c["pieces"]),
            ]
            for c in doc["consumption"]
        ),
    )
    return page(
        "Material batch traceability report",
        [
            ("Summary", summary),
            ("Material lots", lots),
            ("Came from", parents),
            ("Went into", children),
            ("Consumed by runs", used),
            ("Events", events_table(doc["events"])),
        ],
    )
