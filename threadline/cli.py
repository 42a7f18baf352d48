"""The ``threadline`` command: serve, migrate, user, token, demo, import, fsck.

Only ``serve`` and ``migrate`` create a database; every other command first checks that the
configured one exists and is migrated, and says so in one line when it is not.
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline import bootstrap, migrate
from threadline.auth import service as auth
from threadline.auth.models import User
from threadline.auth.security import Passwords
from threadline.boms import importer as bom_importer
from threadline.boms import service as bom_service
from threadline.catalog import importer as parts_importer
from threadline.config import Settings, get_settings
from threadline.db import create_engine, create_sessionmaker
from threadline.errors import NotFound, ThreadlineError
from threadline.imports import ImportReport
from threadline.mes import demo as mes_demo
from threadline.vault import fsck as vault_fsck

app = typer.Typer(
    help="Threadline: a self-hosted digital-thread server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
import_app = typer.Typer(help="Import parts or BOM lines from CSV/XLSX.", no_args_is_help=True)
app.add_typer(import_app, name="import")
console = Console()

T = TypeVar("T")


def _passwords(settings: Settings) -> Passwords:
    return Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one error line; raise the returned Exit (status 1)."""
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def _where(url: str) -> str:
    """The database as an operator recognises it: the SQLite file, or the URL sans password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return str(Path(parsed.database))
    return parsed.render_as_string(hide_password=True)


def _require_database(settings: Settings, *, older_ok: bool = False) -> None:
    """Exit in one line, creating nothing, unless the configured database is migrated.

    ``older_ok``: the command migrates an existing database itself (``demo``, ``fsck``), so an
    older schema is fine; no schema at all still is not.
    """
    url = settings.effective_database_url
    where = _where(url)
    hint = "run `threadline migrate` or `make run` first."
    parsed = make_url(url)
    embedded_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    # Connecting to a missing SQLite file would create it: look before touching it.
    if embedded_file and not Path(str(parsed.database)).is_file():
        raise _fail(f"No Threadline database at {where}; {hint}")
    try:
        state = asyncio.run(migrate.schema_state(url))
    except (DBAPIError, OSError) as exc:
        cause = (exc.orig if isinstance(exc, DBAPIError) else None) or exc
        first = cause.args[0] if cause.args and isinstance(cause.args[0], str) else str(cause)
        reason = (first.strip().splitlines() or [type(cause).__name__])[0]
        raise _fail(f"Cannot open the database at {where}: {reason}") from exc
    if state.empty:
        raise _fail(f"No Threadline schema in the database at {where}; {hint}")
    if state.from_newer_release:
        raise _fail(
            f"The database at {where} was migrated by a newer Threadline (revision "
            f"{', '.join(sorted(state.current))}); run that release, or upgrade this one."
        )
    if not state.up_to_date and not older_ok:
        raise _fail(f"The database at {where} has an older schema; run `threadline migrate`.")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction; a domain error prints and exits 1."""

    async def run() -> T:
        engine = create_engine(get_settings().effective_database_url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except ThreadlineError as exc:
        for problem in exc.extra.get("errors", []):  # an import refused row by row
            column, message = escape(problem["column"] or ""), escape(problem["message"])
            console.print(f"[red]row {problem['row']}[/red] {column}: {message}")
        console.print(f"[red]error:[/red] {escape(exc.detail)}")
        raise typer.Exit(1) from exc


@app.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    migrate.upgrade(get_settings().effective_database_url)
    console.print("database is up to date")


def _first_start(settings: Settings, *, seed_demo: bool = True) -> None:
    """Migrate, create the owner on an empty database and, unless disabled, the demo workspace."""
    migrate.upgrade(settings.effective_database_url)

    async def work(session: AsyncSession) -> None:
        created = await bootstrap.ensure_owner(
            session, settings=settings, passwords=_passwords(settings)
        )
        if created is not None:
            console.print(f"created the owner account [bold]{created.user.email}[/bold]")
            if created.generated_password:
                console.print(
                    f"its password, shown only this once: [bold]{created.generated_password}[/bold]"
                )
            if settings.demo and seed_demo:
                await bootstrap.seed_demo(session, owner=created.user)
                console.print("created the [bold]demo[/bold] workspace")
                seeded.append(created.user.email)

    seeded: list[str] = []
    _in_transaction(work)
    for owner_email in seeded:  # the shop goes through the MES face, after the commit
        asyncio.run(mes_demo.seed_shop(settings, owner_email=owner_email))
        console.print("seeded the demo workspace's shop (/mes)")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Server processes (share state through Redis)."),
) -> None:
    """Migrate, bootstrap on first start, and serve the API, event streams and /docs."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    _first_start(settings)
    console.print(f"Threadline on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "threadline.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )


@app.command()
def demo() -> None:
    """Create the demo workspace (owned by the first administrator) if it does not exist."""
    settings = get_settings()
    _require_database(settings, older_ok=True)
    _first_start(settings, seed_demo=False)

    owners: list[str] = []

    async def work(session: AsyncSession) -> str:
        owner = await bootstrap.first_admin(session)
        if owner is None:
            return "no administrator exists; run `threadline user create --admin` first"
        created = await bootstrap.seed_demo(session, owner=owner)
        owners.append(owner.email)
        return "created the demo workspace" if created else "the demo workspace already exists"

    console.print(_in_transaction(work))
    for owner_email in owners:  # idempotent: a demo without a shop gets one
        asyncio.run(mes_demo.seed_shop(settings, owner_email=owner_email))


@user_app.command("create")
def user_create(
    email: str = typer.Argument(..., help="E-mail address, also the login."),
    name: str = typer.Option("", help="Display name (default: the e-mail's local part)."),
    admin: bool = typer.Option(False, "--admin", help="Make the account a server administrator."),
    password: str | None = typer.Option(
        None, help="Password (prompted for when omitted; never echoed).", show_default=False
    ),
) -> None:
    """Create a user account."""
    settings = get_settings()
    _require_database(settings)
    secret = password or getpass.getpass("Password: ")
    if len(secret) < 8:
        console.print("[red]error:[/red] the password needs at least 8 characters")
        raise typer.Exit(1)

    async def work(session: AsyncSession) -> str:
        user = await auth.create_user(
            session,
            email=email,
            password_hash=await _passwords(settings).hash(secret),
            name=name or email.split("@", 1)[0],
            is_admin=admin,
        )
        return user.username

    console.print(f"created user [bold]{_in_transaction(work)}[/bold]")


def _new_password() -> str:
    """A new password typed twice without echo (asked again while the two differ)."""
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


@user_app.command("set-password")
def user_set_password(
    email: str = typer.Argument(..., help="The account's e-mail address."),
    password: str | None = typer.Option(
        None,
        help="New password (prompted for twice when omitted; never echoed).",
        show_default=False,
    ),
) -> None:
    """Set an account's password (a lost owner password, say) and end its browser sessions.

    Personal API tokens stay valid; revoke them with DELETE /api/tokens/{id}.
    """
    settings = get_settings()
    _require_database(settings)
    if _in_transaction(lambda session: auth.user_by_email(session, email)) is None:
        raise _fail(f"no user with e-mail {email}; nothing was changed")
    secret = password or _new_password()
    if len(secret) < 8:
        raise _fail("the password needs at least 8 characters; nothing was changed")

    async def work(session: AsyncSession) -> int:
        user = await auth.user_by_email(session, email)
        if user is None:  # deleted between the two transactions
            raise NotFound(f"no user with e-mail {email}; nothing was changed")
        password_hash = await _passwords(settings).hash(secret)
        return await auth.set_password(session, user=user, password_hash=password_hash)

    ended = _in_transaction(work)
    console.print(
        f"set the password of [bold]{escape(auth.normalise_email(email))}[/bold]; ended {ended} "
        f"browser session{'' if ended == 1 else 's'} (API tokens are kept)"
    )


@token_app.command("create")
def token_create(
    email: str = typer.Argument(..., help="The account the token acts as."),
    name: str = typer.Option("cli", help="A label to recognise the token by."),
    days: int | None = typer.Option(None, help="Expire after this many days (default: never)."),
) -> None:
    """Mint a personal API token and print it once."""
    _require_database(get_settings())

    async def work(session: AsyncSession) -> str:
        user = await auth.user_by_email(session, email)
        if user is None:
            raise ThreadlineError(f"no user with e-mail {email}")
        _row, secret = await auth.create_token(session, user=user, name=name, expires_in_days=days)
        return secret

    console.print(_in_transaction(work), soft_wrap=True)


def _read_with_progress(path: Path) -> bytes:
    """The file's bytes, with a progress bar while they are read."""
    size = path.stat().st_size
    chunks = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console
    ) as progress:
        task = progress.add_task(f"reading {escape(path.name)}", total=size)
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                chunks.append(chunk)
                progress.update(task, advance=len(chunk))
    return b"".join(chunks)


async def _acting_user(session: AsyncSession, email: str | None) -> User:
    user = await (auth.user_by_email(session, email) if email else bootstrap.first_admin(session))
    if user is None:
        raise ThreadlineError(f"no user {email or '(administrator)'}; pass --as EMAIL")
    return user


def _print_report(report: ImportReport) -> None:
    for problem in report.errors:
        column, message = escape(problem.column or ""), escape(problem.message)
        console.print(f"[red]row {problem.row}[/red] {column}: {message}")
    for problem in report.warnings[:50]:
        column, message = escape(problem.column or ""), escape(problem.message)
        console.print(f"[yellow]row {problem.row}[/yellow] {column}: {message}")
    mode = "checked (dry run)" if report.dry_run else "imported"
    console.print(
        f"{report.rows} rows {mode}: {report.valid} valid, {len(report.errors)} errors, "
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.parts_created} new parts"
    )


def _run_import(work: Callable[[AsyncSession], Awaitable[ImportReport]]) -> None:
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as progress:
        progress.add_task("checking and writing in one transaction", total=None)
        report = _in_transaction(work)
    _print_report(report)
    if report.errors:
        raise typer.Exit(1)


@import_app.command("parts")
def import_parts_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file."),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace name."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; write nothing."),
    acting: str | None = typer.Option(None, "--as", help="Acting user (default: the admin)."),
) -> None:
    """Create or update parts from a spreadsheet (columns as in docs/catalog-and-boms.md)."""
    _require_database(get_settings())
    data = _read_with_progress(file)

    async def work(session: AsyncSession) -> ImportReport:
        user = await _acting_user(session, acting)
        access = await auth.require_role(
            session, user=user, workspace=workspace, minimum="engineer"
        )
        return await parts_importer.import_parts(session, access=access, data=data, dry_run=dry_run)

    _run_import(work)


@import_app.command("bom")
def import_bom_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV or XLSX file."),
    bom_id: uuid.UUID = typer.Option(..., "--bom", help="Id of the draft BOM to fill."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; write nothing."),
    append: bool = typer.Option(False, "--append", help="Keep the BOM's existing lines."),
    acting: str | None = typer.Option(None, "--as", help="Acting user (default: the admin)."),
) -> None:
    """Fill a draft BOM from a KiCad/Excel BOM export (columns as in docs/catalog-and-boms.md)."""
    _require_database(get_settings())
    data = _read_with_progress(file)

    async def work(session: AsyncSession) -> ImportReport:
        user = await _acting_user(session, acting)
        workspace_id = await bom_service.workspace_of_bom(session, bom_id)
        if workspace_id is None:
            raise ThreadlineError(f"no BOM {bom_id}")
        access = await auth.require_role(
            session, user=user, workspace=workspace_id, minimum="engineer"
        )
        bom = await bom_service.get_bom(session, workspace_id=workspace_id, bom_id=bom_id)
        return await bom_importer.import_bom(
            session, access=access, bom=bom, data=data, dry_run=dry_run, replace=not append
        )

    _run_import(work)


@app.command()
def fsck(
    repair: bool = typer.Option(
        False, "--repair", help="Delete orphaned blobs and abandoned temporary files."
    ),
) -> None:
    """Verify every stored version's blob (present, hash matches); report orphans."""
    settings = get_settings()
    _require_database(settings, older_ok=True)
    migrate.upgrade(settings.effective_database_url)  # a database from an older release
    report = asyncio.run(vault_fsck.check(settings, repair=repair))
    for sha in report.missing:
        console.print(f"[red]missing[/red] {sha} (used by {report.users[sha]})")
    for sha in report.corrupt:
        console.print(f"[red]corrupt[/red] {sha} (used by {report.users[sha]})")
    for sha in report.orphans:
        console.print(f"[yellow]orphan[/yellow] {sha}{' (deleted)' if repair else ''}")
    console.print(
        f"{report.checked} blobs checked: {len(report.missing)} missing, {len(report.corrupt)} "
        f"corrupt, {len(report.orphans)} orphaned, {report.temporary} abandoned temporary files"
        + (" removed" if repair else "")
    )
    if not report.clean:
        raise typer.Exit(1)


def main() -> None:
    app()
