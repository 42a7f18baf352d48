"""``threadline import parts|bom`` and the demo seeding, against a throw-away THREADLINE_HOME.

The fixtures (an empty home with embedded SQLite and cheap argon2) are test_cli.py's.
Setup the CLI has no command for (a workspace, a draft BOM, a viewer member) goes through the
services in one committed transaction, as the CLI itself does.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from threadline import bootstrap
from threadline.auth import service as auth
from threadline.auth.models import Membership, Role, Workspace
from threadline.boms import importer as bom_importer
from threadline.boms import service as bom_service
from threadline.boms.models import Bom, BomType
from threadline.boms.schemas import BomCreate
from threadline.catalog import service as catalog
from threadline.catalog.models import Domain
from threadline.catalog.schemas import PartCreate
from threadline.cli import app
from threadline.config import get_settings
from threadline.db import create_engine, create_sessionmaker
from threadline.imports import ImportReport

SUPRA = Path("/work/shared/data/real-boms/bitaxe/bitaxeSupra BOM.csv")
WORKSPACE = "lab"
ADMIN = "root@example.com"

PASSWORD = "correct horse battery"

T = TypeVar("T")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty THREADLINE_HOME, embedded SQLite, cheap argon2, no stray operator settings."""
    for name in (
        "THREADLINE_DATABASE_URL",
        "THREADLINE_REDIS_URL",
        "THREADLINE_ADMIN_EMAIL",
        "THREADLINE_ADMIN_PASSWORD",
        "THREADLINE_DEMO",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    monkeypatch.setenv("THREADLINE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("THREADLINE_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _query(home: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(home / "threadline.db") as db:
        return db.execute(sql, params).fetchall()


def _invoke(runner: CliRunner, args: tuple[str, ...], exit_code: int) -> str:
    """The command's output with whitespace collapsed (rich wraps at the terminal width)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == exit_code, (result.output, result.exception)
    return " ".join(result.output.split())


def _ok(runner: CliRunner, *args: str) -> str:
    return _invoke(runner, args, 0)


def _fails(runner: CliRunner, *args: str) -> str:
    return _invoke(runner, args, 1)


def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` against the test home's database in one committed transaction."""

    async def run() -> T:
        engine = create_engine(get_settings().effective_database_url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _setup_workspace(runner: CliRunner) -> None:
    """A migrated database with an administrator who owns the workspace ``lab``."""
    _ok(runner, "migrate")
    _ok(runner, "user", "create", ADMIN, "--password", PASSWORD, "--admin")

    async def work(session: AsyncSession) -> None:
        admin = await auth.user_by_email(session, ADMIN)
        assert admin is not None
        await auth.create_workspace(session, user=admin, name=WORKSPACE)

    _in_session(work)


def _create_draft_bom(part_number: str = "BITAXE-SUPRA") -> uuid.UUID:
    """A new assembly part in ``lab`` and an empty draft EBOM for it, made as the admin."""

    async def work(session: AsyncSession) -> uuid.UUID:
        admin = await auth.user_by_email(session, ADMIN)
        assert admin is not None
        access = await auth.require_role(
            session, user=admin, workspace=WORKSPACE, minimum="engineer"
        )
        part = await catalog.create_part(
            session,
            access=access,
            part_in=PartCreate(
                workspace=WORKSPACE,
                part_number=part_number,
                name="bitaxe Supra",
                domain=Domain.electronic,
            ),
        )
        bom = await bom_service.create_bom(
            session,
            access=access,
            bom_in=BomCreate(
                workspace=WORKSPACE, assembly_part_id=part.id, type=BomType.ebom, revision="A"
            ),
        )
        return bom.id

    return _in_session(work)


def _add_member(email: str, role: Role) -> None:
    """A new account holding ``role`` in ``lab`` (written directly: the invitation flow is
    not what is under test)."""

    async def work(session: AsyncSession) -> None:
        user = await auth.create_user(session, email=email, password_hash="x", name=email)
        workspace_id = await session.scalar(select(Workspace.id).where(Workspace.name == WORKSPACE))
        session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))

    _in_session(work)


def _bom_lines(home: Path, bom_id: uuid.UUID) -> list[tuple]:
    return _query(
        home,
        "SELECT p.part_number, i.qty, i.refdes, i.parent_item_id FROM bom_items i "
        "JOIN parts p ON p.id = i.child_part_id WHERE i.bom_id = ? ORDER BY i.sort_index",
        bom_id.hex,
    )


def _parts(home: Path) -> list[tuple]:
    return _query(
        home,
        "SELECT p.part_number, p.name, p.domain FROM parts p "
        "JOIN workspaces w ON w.id = p.workspace_id WHERE w.name = ? ORDER BY p.part_number",
        WORKSPACE,
    )


# --- the demo workspace ---------------------------------------------------------------------


def test_demo_seeds_the_bitaxe_ultra_ebom(runner, home):
    _ok(runner, "migrate")  # demo needs a database, as every command but serve
    result = _ok(runner, "demo")

    assert "created the demo workspace" in result
    boms = _query(
        home,
        "SELECT b.id, b.type, b.revision, b.status FROM boms b "
        "JOIN parts p ON p.id = b.assembly_part_id "
        "JOIN workspaces w ON w.id = b.workspace_id "
        "WHERE w.name = 'demo' AND p.part_number = 'BITAXE-ULTRA'",
    )
    assert [row[1:] for row in boms] == [("ebom", "A", "draft")]
    assert _query(home, "SELECT count(*) FROM boms") == [(1,)]
    lines = _query(
        home,
        "SELECT count(*), sum(qty) FROM bom_items WHERE bom_id = ? AND parent_item_id IS NULL",
        boms[0][0],
    )
    # The KiCad export's 39 lines (85 placements), and the demo shop's two mechanical parts
    # (threadline/mes/demo.py: one heatsink, four case feet) that its orders build.
    assert lines == [(41, 90)]
    # Every line is top-level, and its part was created in the demo workspace.
    assert _query(home, "SELECT count(*) FROM bom_items") == [(41,)]
    assert _query(
        home,
        "SELECT count(*) FROM bom_items i JOIN parts p ON p.id = i.child_part_id "
        "WHERE p.workspace_id = (SELECT id FROM workspaces WHERE name = 'demo')",
    ) == [(41,)]


def test_demo_twice_does_not_import_the_bom_again(runner, home):
    _ok(runner, "migrate")  # demo needs a database, as every command but serve
    _ok(runner, "demo")

    again = _ok(runner, "demo")

    assert "already exists" in again
    assert _query(home, "SELECT count(*), sum(qty) FROM bom_items") == [(41, 90)]
    assert _query(home, "SELECT count(*) FROM mes_orders") == [(2,)]
    assert _query(home, "SELECT count(*) FROM parts WHERE part_number = 'BITAXE-ULTRA'") == [(1,)]


def test_demo_bom_imports_cleanly_and_keeps_the_oscillator_mpn(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "demo")

    async def work(session: AsyncSession) -> ImportReport:
        owner = await bootstrap.first_admin(session)
        assert owner is not None
        access = await auth.require_role(session, user=owner, workspace="demo", minimum="owner")
        bom = await session.scalar(select(Bom).where(Bom.workspace_id == access.workspace.id))
        assert bom is not None
        data = (bootstrap.DEMO_DATA / "bitaxe-ultra-bom.csv").read_bytes()
        return await bom_importer.import_bom(
            session, access=access, bom=bom, data=data, dry_run=True, replace=True
        )

    report = _in_session(work)
    assert (report.rows, report.valid, report.errors, report.warnings) == (39, 39, [], [])
    u7 = _query(
        home,
        "SELECT p.part_number, p.manufacturer_part_number, p.attributes FROM bom_items i "
        "JOIN parts p ON p.id = i.child_part_id WHERE i.refdes = 'U7'",
    )
    assert [row[:2] for row in u7] == [("SX3M25.000E20F30THN", "SX3M25.000E20F30THN")]
    assert json.loads(u7[0][2]) == {
        "value": "25MHz",
        "footprint": "bitaxe:O 25,0-JO32-B-1V3-1-T1-LF",
    }
    assert _query(home, "SELECT count(*) FROM parts WHERE part_number = '25MHz O 25'") == [(0,)]
    c6 = _query(
        home,
        "SELECT p.part_number, p.manufacturer_part_number, p.attributes FROM bom_items i "
        "JOIN parts p ON p.id = i.child_part_id WHERE i.refdes = 'C6'",
    )
    assert [row[:2] for row in c6] == [("GRM155R71E472KA01D", "GRM155R71E472KA01D")]
    assert json.loads(c6[0][2]) == {
        "value": "4700pF",
        "footprint": "Capacitor_SMD:C_0402_1005Metric",
        "digikey": "490-1309-1-ND",
    }


# --- import parts ---------------------------------------------------------------------------

PARTS_CSV = (
    "part_number,name,domain,uom,manufacturer,mpn,unit_cost,currency,tags\n"
    "R-10K,Resistor 10k 0402,electronic,each,Yageo,RC0402FR-0710KL,0.002,USD,passive|smd\n"
    "C-100N,Capacitor 100n 0402,electronic,each,Murata,GRM155R71C104KA88D,0.004,USD,passive\n"
    "BRKT-1,Mounting bracket,mechanical,each,,,1.25,EUR,\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_parts_dry_run_writes_nothing(runner, home, tmp_path):
    _setup_workspace(runner)
    file = _write(tmp_path, "parts.csv", PARTS_CSV)

    result = _ok(runner, "import", "parts", str(file), "-w", WORKSPACE, "--dry-run")

    assert "3 rows checked (dry run)" in result
    assert "3 valid, 0 errors, 3 created" in result
    assert _parts(home) == []


def test_import_parts_creates_then_updates(runner, home, tmp_path):
    _setup_workspace(runner)
    file = _write(tmp_path, "parts.csv", PARTS_CSV)

    result = _ok(runner, "import", "parts", str(file), "--workspace", WORKSPACE)

    assert "3 rows imported: 3 valid, 0 errors, 3 created, 0 updated" in result
    assert _parts(home) == [
        ("BRKT-1", "Mounting bracket", "mechanical"),
        ("C-100N", "Capacitor 100n 0402", "electronic"),
        ("R-10K", "Resistor 10k 0402", "electronic"),
    ]
    assert _query(
        home,
        "SELECT manufacturer_name, manufacturer_part_number, currency FROM parts "
        "WHERE part_number = 'R-10K'",
    ) == [("Yageo", "RC0402FR-0710KL", "USD")]

    # The same part numbers again update in place; columns the file lacks are kept.
    rename = _write(tmp_path, "rename.csv", "part_number,name\nR-10K,Resistor 10k 1% 0402\n")
    result = _ok(runner, "import", "parts", str(rename), "-w", WORKSPACE)

    assert "0 created, 1 updated" in result
    assert _query(
        home, "SELECT name, domain, manufacturer_name FROM parts WHERE part_number = 'R-10K'"
    ) == [("Resistor 10k 1% 0402", "electronic", "Yageo")]
    assert len(_parts(home)) == 3


def test_import_parts_cost_sheet_updates_only_cost(runner, home, tmp_path):
    _setup_workspace(runner)
    _ok(runner, "import", "parts", str(_write(tmp_path, "p.csv", PARTS_CSV)), "-w", WORKSPACE)
    cost = _write(tmp_path, "cost.csv", "part_number,unit_cost\nR-10K,0.003\nC-100N,0.004\n")

    dry = _ok(runner, "import", "parts", str(cost), "-w", WORKSPACE, "--dry-run")
    assert "0 created, 1 updated, 1 unchanged" in dry
    result = _ok(runner, "import", "parts", str(cost), "-w", WORKSPACE)

    assert "0 created, 1 updated, 1 unchanged" in result
    assert _query(
        home,
        "SELECT name, manufacturer_name, unit_cost, currency, version FROM parts "
        "WHERE part_number IN ('R-10K', 'C-100N') ORDER BY part_number",
    ) == [
        ("Capacitor 100n 0402", "Murata", 0.004, "USD", 1),
        ("Resistor 10k 0402", "Yageo", 0.003, "USD", 2),
    ]


def test_import_parts_with_a_bad_row_exits_1_and_writes_nothing(runner, home, tmp_path):
    _setup_workspace(runner)
    bad = PARTS_CSV + "X-1,Widget,plasma,each,,,,,\n"  # line 5: no such domain
    file = _write(tmp_path, "bad.csv", bad)

    result = _fails(runner, "import", "parts", str(file), "-w", WORKSPACE)

    assert "row 5" in result
    assert "domain" in result
    assert "plasma" in result
    assert "nothing was imported" in result
    assert _parts(home) == []


def test_import_parts_problems_quoting_markup_are_printed_verbatim(runner, home, tmp_path):
    """Cell text in a message is not taken for rich markup (a stray ``[/A]`` used to crash)."""
    _setup_workspace(runner)
    file = _write(tmp_path, "[odd].csv", "part_number,name,domain\n[/A],x,\n[/A],y,[plasma]\n")

    result = _fails(runner, "import", "parts", str(file), "-w", WORKSPACE, "--dry-run")

    assert "reading [odd].csv" in result
    assert "row 3 domain: '[plasma]' is not one of" in result
    assert "2 rows checked (dry run): 1 valid, 1 errors" in result

    file = _write(tmp_path, "dup.csv", "part_number,name\n[/A],x\n[/A],y\n")

    result = _fails(runner, "import", "parts", str(file), "-w", WORKSPACE)

    assert "row 3 part_number: [/A] already appears on row 2" in result
    assert "error: The file has 1 problem(s); nothing was imported." in result
    assert _parts(home) == []


def test_import_parts_dry_run_with_a_bad_row_reports_it_and_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    file = _write(tmp_path, "bad.csv", "part_number,name\nA-1,Alpha\n,Nameless\n")

    result = _fails(runner, "import", "parts", str(file), "-w", WORKSPACE, "--dry-run")

    assert "row 3" in result
    assert "part_number is required" in result
    assert "2 rows checked (dry run): 1 valid, 1 errors" in result
    assert _parts(home) == []


def test_import_parts_into_an_unknown_workspace_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    file = _write(tmp_path, "parts.csv", PARTS_CSV)

    result = _fails(runner, "import", "parts", str(file), "-w", "nowhere")

    assert "nowhere" in result
    assert _query(home, "SELECT count(*) FROM parts") == [(0,)]


def test_import_parts_as_a_viewer_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    _add_member("viewer@example.com", Role.viewer)
    file = _write(tmp_path, "parts.csv", PARTS_CSV)

    result = _fails(
        runner, "import", "parts", str(file), "-w", WORKSPACE, "--as", "viewer@example.com"
    )

    assert "engineer" in result
    assert _parts(home) == []


def test_import_parts_as_an_engineer(runner, home, tmp_path):
    _setup_workspace(runner)
    _add_member("eng@example.com", Role.engineer)
    file = _write(tmp_path, "parts.csv", PARTS_CSV)

    _ok(runner, "import", "parts", str(file), "-w", WORKSPACE, "--as", "eng@example.com")

    assert len(_parts(home)) == 3


# --- import bom -----------------------------------------------------------------------------


@pytest.fixture
def supra() -> Path:
    if not SUPRA.is_file():
        pytest.skip(f"{SUPRA} is not available")
    return SUPRA


def test_import_bom_of_the_real_supra_export(runner, home, supra):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()

    result = _ok(runner, "import", "bom", str(supra), "--bom", str(bom_id))

    assert "imported" in result
    lines = _bom_lines(home, bom_id)
    assert len(lines) == 41
    assert all(parent is None for *_, parent in lines)
    assert all(qty > 0 for _pn, qty, _refdes, _parent in lines)
    # The PARTNO column identifies the parts; designators are kept.
    assert ("GRM155R71E472KA01D", 1, "C6", None) in lines


def test_import_bom_dry_run_writes_nothing(runner, home, supra):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    parts_before = _parts(home)

    result = _ok(runner, "import", "bom", str(supra), "--bom", str(bom_id), "--dry-run")

    assert "checked (dry run)" in result
    assert "41 created" in result
    assert _bom_lines(home, bom_id) == []
    assert _parts(home) == parts_before


def test_import_bom_replaces_by_default_and_append_keeps_lines(runner, home, supra, tmp_path):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    _ok(runner, "import", "bom", str(supra), "--bom", str(bom_id))
    assert len(_bom_lines(home, bom_id)) == 41
    extra = _write(tmp_path, "extra.csv", "part_number,qty,refdes\nHS-1,1,HS1\nSCREW-M3,4,\n")

    _ok(runner, "import", "bom", str(extra), "--bom", str(bom_id), "--append")

    lines = _bom_lines(home, bom_id)
    assert len(lines) == 43
    # The appended lines come after the existing ones, which are untouched.
    assert [(pn, qty, refdes) for pn, qty, refdes, _ in lines[-2:]] == [
        ("HS-1", 1, "HS1"),
        ("SCREW-M3", 4, None),
    ]

    # Without --append the file replaces every line.
    _ok(runner, "import", "bom", str(extra), "--bom", str(bom_id))

    assert [pn for pn, *_ in _bom_lines(home, bom_id)] == ["HS-1", "SCREW-M3"]


def test_import_bom_with_a_bad_row_exits_1_and_keeps_the_bom(runner, home, tmp_path):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    good = _write(tmp_path, "good.csv", "part_number,qty\nA-1,2\n")
    _ok(runner, "import", "bom", str(good), "--bom", str(bom_id))
    bad = _write(tmp_path, "bad.csv", "part_number,qty\nB-1,1\nB-2,-3\n")

    result = _fails(runner, "import", "bom", str(bad), "--bom", str(bom_id))

    assert "row 3" in result
    assert "qty" in result
    assert [pn for pn, *_ in _bom_lines(home, bom_id)] == ["A-1"]
    assert _query(home, "SELECT count(*) FROM parts WHERE part_number LIKE 'B-%'") == [(0,)]


def test_import_bom_unknown_bom_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    missing = uuid.uuid4()
    file = _write(tmp_path, "bom.csv", "part_number,qty\nA-1,1\n")

    result = _fails(runner, "import", "bom", str(file), "--bom", str(missing))

    assert f"no BOM {missing}" in result
    assert _query(home, "SELECT count(*) FROM bom_items") == [(0,)]


def test_import_bom_as_an_unknown_user_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    file = _write(tmp_path, "bom.csv", "part_number,qty\nA-1,1\n")

    result = _fails(
        runner, "import", "bom", str(file), "--bom", str(bom_id), "--as", "nobody@example.com"
    )

    assert "nobody@example.com" in result
    assert _bom_lines(home, bom_id) == []


def test_import_bom_as_a_viewer_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    _add_member("viewer@example.com", Role.viewer)
    file = _write(tmp_path, "bom.csv", "part_number,qty\nA-1,1\n")

    result = _fails(
        runner, "import", "bom", str(file), "--bom", str(bom_id), "--as", "viewer@example.com"
    )

    assert "needs the engineer role" in result
    assert _bom_lines(home, bom_id) == []


def test_import_bom_as_a_non_member_exits_1(runner, home, tmp_path):
    _setup_workspace(runner)
    bom_id = _create_draft_bom()
    _ok(runner, "user", "create", "outsider@example.com", "--password", PASSWORD)
    file = _write(tmp_path, "bom.csv", "part_number,qty\nA-1,1\n")

    result = _fails(
        runner, "import", "bom", str(file), "--bom", str(bom_id), "--as", "outsider@example.com"
    )

    assert "not found" in result
    assert _bom_lines(home, bom_id) == []


def test_import_bom_without_an_administrator_asks_for_as(runner, home, tmp_path):
    _ok(runner, "migrate")
    file = _write(tmp_path, "bom.csv", "part_number,qty\nA-1,1\n")

    result = _fails(runner, "import", "bom", str(file), "--bom", str(uuid.uuid4()))

    assert "--as" in result


def test_import_bom_into_the_demo_ebom_replaces_its_lines(runner, home, tmp_path):
    _ok(runner, "migrate")  # demo needs a database, as every command but serve
    _ok(runner, "demo")
    (bom_hex,) = _query(home, "SELECT id FROM boms")[0]
    bom_id = uuid.UUID(bom_hex)
    file = _write(tmp_path, "bom.csv", "part_number,qty,refdes\nU-1,2,U1 U2\n")

    _ok(runner, "import", "bom", str(file), "--bom", str(bom_id))

    assert _bom_lines(home, bom_id) == [("U-1", 2, "U1, U2", None)]


def test_demo_seeds_an_am_shop_through_the_mes_face(runner, home):
    _ok(runner, "migrate")
    _ok(runner, "demo")

    counts = {
        table: _query(home, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - fixed names
        for table in (
            "mes_locations", "mes_sub_locations", "mes_printer_types", "mes_printers",
            "mes_post_processors", "mes_shippings", "mes_workflows", "mes_materials",
            "mes_orders", "mes_line_items", "mes_pieces", "mes_prints",
        )
    }  # fmt: skip
    assert counts == {
        "mes_locations": 1, "mes_sub_locations": 3, "mes_printer_types": 2, "mes_printers": 4,
        "mes_post_processors": 1, "mes_shippings": 1, "mes_workflows": 2, "mes_materials": 2,
        "mes_orders": 2, "mes_line_items": 2, "mes_pieces": 24 + 40, "mes_prints": 24 * 3 + 40 * 2,
    }  # fmt: skip
    # The thread: each line item builds a revision of a demo BOM part holding its vault file.
    built = _query(
        home,
        "SELECT p.part_number, f.name FROM mes_line_items li "
        "JOIN part_versions v ON v.id = li.part_version_id JOIN parts p ON p.id = v.part_id "
        "JOIN part_version_files a ON a.part_version_id = v.id "
        "JOIN vault_file_versions fv ON fv.id = a.file_version_id "
        "JOIN vault_files f ON f.id = fv.file_id ORDER BY p.part_number",
    )
    assert built == [
        ("BITAXE-HEATSINK", "bitaxe-heatsink.step"),
        ("CASE-FOOT-40", "case-foot.stl"),
    ]
    # Their models are processed by the durable job a server runs after start.
    assert _query(home, "SELECT kind, status FROM jobs") == [("mes.file.process", "pending")] * 2
