"""The state tables: every edge can be taken by its actors and no other, every state refuses
something, and docs/mes/demand.md prints exactly these tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadline.errors import Invalid
from threadline.mes.demand import states
from threadline.mes.demand.service import aggregate

DOC = Path(__file__).parents[2] / "docs" / "mes" / "demand.md"


@pytest.mark.parametrize("machine", list(states.MACHINES))
def test_every_edge_is_taken_and_every_state_refuses_one(machine):
    table = states.MACHINES[machine]
    statuses = {e.source for e in table} | {e.target for e in table}
    for e in table:
        assert states.edge(machine, e.source, e.target, "system") is e
        if "user" in e.who:
            assert states.edge(machine, e.source, e.target, "user") is e
        else:
            with pytest.raises(Invalid, match=states.NOT_ALLOWED):
                states.edge(machine, e.source, e.target, "user")
    for source in statuses:
        allowed = set(states.targets(machine, source, "system"))
        refused = sorted(statuses - allowed - {source})
        assert refused, (machine, source)
        with pytest.raises(Invalid) as info:
            states.edge(machine, source, refused[0], "system")
        assert info.value.detail == "Provided status transformation is not allowed"


def test_docs_print_the_tables():
    text = DOC.read_text()
    for machine, table in states.MACHINES.items():
        assert f"### {machine} statuses" in text
        for e in table:
            assert f"| `{e.source}` | `{e.target}` |" in text, (machine, e)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["cancelled", "cancelled"], "cancelled"),
        (["complete", "cancelled"], "complete"),
        (["printing", "printing"], "printing"),
        (["printing", "complete"], "processing"),
        (["confirmed", "printing"], "processing"),
        (["new", "confirmed"], "new"),
        (["pending", "confirmed"], "pending"),
        (["error", "printing"], "error"),
    ],
)
def test_order_status_aggregates_line_items(statuses, expected):
    result = aggregate(statuses)
    assert (result.value if result else None) == expected
