"""The ``threadline`` command: serve, migrate, user, token, demo."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
import uvicorn
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from threadline import bootstrap, migrate
from threadline.auth import service as auth
from threadline.auth.security import Passwords
from threadline.config import Settings, get_settings
from threadline.db import create_engine, create_sessionmaker
from threadline.errors import ThreadlineError

app = typer.Typer(help="Threadline: a self-hosted digital-thread server.", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
console = Console()

T = TypeVar("T")


def _passwords(settings: Settings) -> Passwords:
    return Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)


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
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from exc


@app.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    migrate.upgrade(get_settings().effective_database_url)
    console.print("database is up to date")


def _first_start(settings: Settings) -> None:
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
            if settings.demo:
                await bootstrap.seed_demo(session, owner=created.user)
                console.print("created the [bold]demo[/bold] workspace")

    _in_transaction(work)


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
    _first_start(settings)

    async def work(session: AsyncSession) -> str:
        owner = await bootstrap.first_admin(session)
        if owner is None:
            return "no administrator exists; run `threadline user create --admin` first"
        created = await bootstrap.seed_demo(session, owner=owner)
        return "created the demo workspace" if created else "the demo workspace already exists"

    console.print(_in_transaction(work))


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


@token_app.command("create")
def token_create(
    email: str = typer.Argument(..., help="The account the token acts as."),
    name: str = typer.Option("cli", help="A label to recognise the token by."),
    days: int | None = typer.Option(None, help="Expire after this many days (default: never)."),
) -> None:
    """Mint a personal API token and print it once."""

    async def work(session: AsyncSession) -> str:
        user = await auth.user_by_email(session, email)
        if user is None:
            raise ThreadlineError(f"no user with e-mail {email}")
        _row, secret = await auth.create_token(session, user=user, name=name, expires_in_days=days)
        return secret

    console.print(_in_transaction(work), soft_wrap=True)


def main() -> None:
    app()
