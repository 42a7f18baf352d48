"""The demo workspace's additive-manufacturing shop, seeded through the MES face itself.

Every resource is POSTed to ``/mes/*`` of an in-process app, as a client would send it, so the
demo passes exactly the validation and rules a user's data passes (and cannot drift from them).
The shop: one location with its sub-locations, an SLS and an FDM printer type with their real
build volumes, four printers, a depowdering station, shipping, two workflows, two materials, and
two orders whose line items build the demo BOM's parts from the vault's STEP and STL files.
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from threadline.auth import service as auth
from threadline.auth.models import User, Workspace
from threadline.boms.models import Bom
from threadline.config import Settings
from threadline.db import create_engine, create_sessionmaker

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo"
HEATSINK_STEP = DEMO_DATA / "bitaxe-heatsink.step"  # NOTICE.md: from the bitaxe project


def case_foot_stl(width: float = 40.0, depth: float = 25.0, height: float = 8.0) -> bytes:
    """A binary STL of a rectangular case foot (12 triangles), mm: a real, printable part."""
    x, y, z = width, depth, height
    corners = [(a, b, c) for a in (0.0, x) for b in (0.0, y) for c in (0.0, z)]
    faces = [  # two outward triangles per side, indices into ``corners``
        (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3), (0, 4, 5), (0, 5, 1),
        (2, 3, 7), (2, 7, 6), (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5),
    ]  # fmt: skip
    body = bytearray(b"threadline demo: case foot".ljust(80, b" "))
    body += struct.pack("<I", len(faces))
    for face in faces:
        body += struct.pack("<3f", 0.0, 0.0, 0.0)
        for index in face:
            body += struct.pack("<3f", *corners[index])
        body += struct.pack("<H", 0)
    return bytes(body)


class _Client:
    """POSTs to the face and returns the new resource's URI from ``Location``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def create(self, kind: str, body: dict[str, Any]) -> str:
        response = await self.http.post(f"/mes/{kind}/", json=body)
        if response.status_code not in (201, 204):
            raise RuntimeError(f"demo: POST /mes/{kind}/ answered {response.status_code}: "
                               f"{response.text}")  # fmt: skip
        return response.headers["location"]

    async def get(self, uri: str) -> dict[str, Any]:
        response = await self.http.get(uri)
        response.raise_for_status()
        return dict(response.json())


async def _vault_file(
    client: _Client, name: str, data: bytes, content_type: str
) -> tuple[str, str]:
    """Upload ``data`` to the owner's vault folder: the file's id and its version's id."""
    response = await client.http.post(
        "/v1/upload",
        params={"workspace": "demo"},
        files={"file": (name, data, content_type)},
    )
    response.raise_for_status()
    body = response.json()
    return str(body["id"]), str(body["versionId"])


async def _mechanical_part(
    client: _Client, bom_id: str | None, number: str, name: str, file_id: str, qty: int
) -> str:
    """A catalog part with revision A holding the vault file, on the demo BOM when there is
    one: the ``part_version`` URI a line item builds."""
    http = client.http
    part = await http.post(
        "/v1/parts",
        json={"workspace": "demo", "partNumber": number, "name": name, "domain": "mechanical"},
    )
    part.raise_for_status()
    part_id = part.json()["id"]
    revision = await http.post(
        f"/v1/parts/{part_id}/versions", json={"revision": "A", "changeNote": "Demo shop part"}
    )
    revision.raise_for_status()
    revision_id = revision.json()["id"]
    attached = await http.post(
        f"/v1/parts/{part_id}/versions/{revision_id}/files", json={"fileId": file_id}
    )
    attached.raise_for_status()
    if bom_id is not None:
        line = await http.post(
            f"/v1/boms/{bom_id}/items",
            json={"items": [{"childPartId": part_id, "childVersionId": revision_id, "qty": qty}]},
        )
        line.raise_for_status()
    return f"/v1/parts/{part_id}/versions/{revision_id}"


async def seed_shop(settings: Settings, *, owner_email: str, workspace: str = "demo") -> None:
    """Seed the shop into ``workspace`` unless it already has a location (idempotent)."""
    from threadline.app import create_app  # the app imports every room; only seeding needs it

    engine = create_engine(settings.effective_database_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            owner = await session.scalar(select(User).where(User.email == owner_email))
            ws = await session.scalar(select(Workspace).where(Workspace.name == workspace))
            if owner is None or ws is None:
                return
            token_row, token = await auth.create_token(session, user=owner, name="demo seed")
            bom_id = await session.scalar(
                select(Bom.id).where(Bom.workspace_id == ws.id).order_by(Bom.created_at).limit(1)
            )
        app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://localhost",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as http:
            client = _Client(http)
            existing = await http.get("/mes/location/")
            if existing.status_code == 200 and existing.json()["meta"]["count"] == 0:
                await _seed(client, ws.id, str(bom_id) if bom_id else None)
            await http.delete(f"/api/tokens/{token_row.id}")
    finally:
        await engine.dispose()


async def _seed(client: _Client, workspace_id: uuid.UUID, bom_id: str | None) -> None:
    bureau = f"/mes/bureau/{workspace_id}/"
    c = client.create
    site = await c("location", {
        "bureau": bureau, "name": "Austin Works", "address": "1200 E 5th St, Austin, TX 78702",
        "phone": "+1 512 555 0142", "countries_served": ["USA", "CAN", "MEX"],
    })  # fmt: skip
    print_floor = await c("sub-location", {"name": "Print floor", "location": site})
    finishing = await c("sub-location", {"name": "Finishing bay", "location": site})
    eos = await c("manufacturer", {"name": "EOS GmbH", "address": "Krailling, Germany"})
    prusa = await c("manufacturer", {"name": "Prusa Research", "address": "Prague, Czechia"})
    pa12 = await c("material", {
        "name": "PA 2200 (PA 12)", "type": "base", "units": "kg", "density": 0.93,
        "cost": 78.0, "color": "#f4f1e8", "manufacturer": eos,
        "manufacturing_process": "SLS", "material_family": "Polymer",
    })  # fmt: skip
    petg = await c("material", {
        "name": "Prusament PETG Jet Black", "type": "base", "units": "kg", "density": 1.27,
        "cost": 29.99, "color": "#111111", "manufacturer": prusa,
        "manufacturing_process": "FDM", "material_family": "Polymer",
    })  # fmt: skip
    sls = await c("printer-type", {
        "name": "EOS P 396", "manufacturer": eos, "manufacturing_process": "SLS",
        "materials": [pa12], "build_volume": {"x": 340, "y": 340, "z": 600},
        "build_plate_shape": "rectangular", "min_packing_distance": 5,
        "running_cost_per_hour": 45.0,
    })  # fmt: skip
    fdm = await c("printer-type", {
        "name": "Original Prusa MK4", "manufacturer": prusa, "manufacturing_process": "FDM",
        "materials": [petg], "build_volume": {"x": 250, "y": 210, "z": 220},
        "build_plate_shape": "rectangular", "min_packing_distance": 3,
        "running_cost_per_hour": 2.5,
    })  # fmt: skip
    for name, kind in (("P396 #1", sls), ("P396 #2", sls), ("MK4 #1", fdm), ("MK4 #2", fdm)):
        await c("printer", {
            "name": name, "printer_type": kind, "location": site, "sub_location": print_floor,
        })  # fmt: skip
    depowder_type = await c("post-processor-type", {
        "name": "Depowder and bead blast", "duration": 1800, "cost": 0.8,
        "batching_strategy": "by_size_xy", "build_volume": {"x": 600, "y": 600, "z": 600},
    })  # fmt: skip
    await c("post-processor", {
        "name": "AMT PostPro Depowder", "post_processor_type": depowder_type,
        "location": site, "sub_location": finishing,
    })  # fmt: skip
    ups = await c("shipping", {"name": "UPS Ground", "region": "north-america", "cost": 18.5})
    step = {}
    for name, station in (
        ("Print SLS", sls), ("Depowder", depowder_type), ("Print FDM", fdm), ("Ship UPS", ups),
    ):  # fmt: skip
        step[name] = await c("process-step", {"name": name, "workstation_type_uri": station})
    sls_flow = await c("workflow", {
        "name": "SLS nylon parts",
        "process_steps": [step["Print SLS"], step["Depowder"], step["Ship UPS"]],
    })  # fmt: skip
    fdm_flow = await c("workflow", {
        "name": "FDM prototypes", "process_steps": [step["Print FDM"], step["Ship UPS"]],
    })  # fmt: skip
    heatsink = await _vault_file(
        client, "bitaxe-heatsink.step", HEATSINK_STEP.read_bytes(), "model/step"
    )
    foot = await _vault_file(client, "case-foot.stl", case_foot_stl(), "model/stl")
    heatsink_part = await _mechanical_part(
        client, bom_id, "BITAXE-HEATSINK", "bitaxe heatsink", heatsink[0], 1
    )
    foot_part = await _mechanical_part(
        client, bom_id, "CASE-FOOT-40", "Case foot 40x25", foot[0], 4
    )
    for order_name, customer, workflow, material, file_version, part, name, quantity in (
        ("Heatsink pilot lot", "Open Source Miners Co-op", sls_flow, pa12, heatsink[1],
         heatsink_part, "bitaxe heatsink", 24),
        ("Case feet for kits", "Austin Hackerspace", fdm_flow, petg, foot[1], foot_part,
         "case foot", 40),
    ):  # fmt: skip
        order = await c("order", {
            "name": order_name, "customer_name": customer, "shipping": {"name": "UPS Ground"},
        })  # fmt: skip
        product = await c("product", {"order": order})
        design = await c("design-file", {
            "name": name, "product": product, "vault_file_version": file_version,
            "format": "step" if name == "bitaxe heatsink" else "stl",
        })  # fmt: skip
        model = (await client.get(design)).get("model")
        line_item: dict[str, Any] = {
            "order": order, "product": product, "quantity": quantity, "workflow": workflow,
            "additive": {"materials": {"base": material}}, "part_version": part,
        }  # fmt: skip
        if model:
            line_item["model"] = model
        else:
            line_item["no_model_upload"] = True
        await c("line-item", line_item)
