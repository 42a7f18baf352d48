"""A small shop for floor tests: a printer, a post-processor and a shipping type, a workflow
print → post-process → ship, and confirmed orders whose pieces wait for the floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.mes.conftest import Mes


@dataclass
class Shop:
    mes: Mes
    location: str
    printer_type: str
    printer: str
    pp_type: str
    post_processor: str
    shipping: str
    steps: list[str]
    workflow: str
    extra: dict[str, Any] = field(default_factory=dict)

    async def order(
        self, quantity: int = 2, *, confirm: bool = True, **item: Any
    ) -> dict[str, Any]:
        """A confirmed order of one line item; its uri, line item, pieces and prints by step."""
        body = {
            "quantity": quantity,
            "no_model_upload": True,
            "name": "gear",
            "workflow": self.workflow,
        }
        uri = await self.mes.create("order", {"name": "O", "line_items": [{**body, **item}]})
        order = await self.mes.get(uri)
        line_item = order["line_items"][0]
        if confirm:
            await self.mes.update(uri, {"status": "confirmed"})
        return {"uri": uri, "line_item": line_item, **await self.prints(line_item)}

    async def prints(self, line_item: str) -> dict[str, Any]:
        prints = (
            await self.mes.list(
                "print",
                **{
                    "filter[line_item]": line_item,
                    "sort": "copy,process_step_position",
                    "page[limit]": 1000,
                },
            )
        )["resources"]
        by_step = {s: [p["uri"] for p in prints if p["process_step"] == s] for s in self.steps}
        pieces = sorted({p["piece"] for p in prints})
        return {"by_step": by_step, "pieces": pieces}

    async def run(self, prints: list[str], **body: Any) -> str:
        return await self.mes.create("run", {"prints": prints, **body})

    async def status(self, run: str, status: str, **extra: Any) -> None:
        await self.mes.update(run, {"status": status, **extra})

    async def piece_statuses(self, pieces: list[str]) -> set[str]:
        return {(await self.mes.get(p))["status"] for p in pieces}


async def make_shop(mes: Mes, *, printer_capacity: int | None = None, prefix: str = "") -> Shop:
    location = await mes.create("location", {"name": f"{prefix}HQ", "address": "1 Main St"})
    printer_type = await mes.create(
        "printer-type",
        {"name": f"{prefix}EOS P396", "build_volume": {"x": 340, "y": 340, "z": 600}},
    )
    printer = await mes.create(
        "printer", {"name": f"{prefix}P1", "printer_type": printer_type, "location": location}
    )
    pp_type = await mes.create(
        "post-processor-type", {"name": f"{prefix}Bead blast", "duration": 1800}
    )
    post_processor = await mes.create(
        "post-processor",
        {"name": f"{prefix}Blaster", "post_processor_type": pp_type, "location": location},
    )
    shipping = await mes.create("shipping", {"name": f"{prefix}UPS", "region": "europe"})
    steps = [
        await mes.create(
            "process-step", {"name": f"{prefix}Print", "workstation_type_uri": printer_type}
        ),
        await mes.create(
            "process-step", {"name": f"{prefix}Blast", "workstation_type_uri": pp_type}
        ),
        await mes.create(
            "process-step",
            {
                "name": f"{prefix}Ship",
                "workstation_type_uri": shipping,
                "shipping_direction": "bureau_to_customer",
            },
        ),
    ]
    workflow = await mes.create("workflow", {"name": f"{prefix}SLS part", "process_steps": steps})
    return Shop(
        mes, location, printer_type, printer, pp_type, post_processor, shipping, steps, workflow
    )
