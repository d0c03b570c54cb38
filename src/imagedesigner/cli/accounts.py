"""``imagedesigner users ...`` and ``imagedesigner keys ...``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from imagedesigner.accounts import service
from imagedesigner.cli.runtime import run
from imagedesigner.errors import DomainError

users = typer.Typer(no_args_is_help=True, help="Manage users.")
keys = typer.Typer(no_args_is_help=True, help="Manage API keys.")


@users.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="Email address")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    role: Annotated[str, typer.Option(help="user, support or admin")] = "user",
    confirm_age: Annotated[
        bool, typer.Option("--confirm-age/--no-confirm-age", help="The person is 16 or older")
    ] = True,
) -> None:
    """Create a user. The password is read from stdin, never from the command line."""
    if role not in ("user", "support", "admin"):
        typer.echo("error: role must be user, support or admin", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        typer.echo("error: no password on standard input", err=True)
        raise typer.Exit(2)

    async def go(c, session):
        return await service.create_user(
            session,
            c.clock.now(),
            email=email,
            password=password,
            age_confirmed=confirm_age,
            role=role,
        )

    user = run(go)
    typer.echo(f"created user {user.id} <{user.email}> role={user.role}")


@keys.command("create")
def create_key(
    email: Annotated[str, typer.Option(help="Owner's email")],
    name: Annotated[str, typer.Option(help="A label for the key")] = "",
) -> None:
    """Create an API key. It is printed once and stored only as a hash."""

    async def go(c, session):
        user = await service.find_user_by_email(session, email)
        if user is None:
            raise DomainError(f"no user with email {email}")
        return await service.create_key(session, c.clock.now(), user, name)

    new = run(go)
    typer.echo(new.token)
    typer.echo(f"(key {new.key.id}, prefix {new.key.prefix}; shown once, keep it safe)", err=True)


@keys.command("list")
def list_keys(email: Annotated[str, typer.Option(help="Owner's email")]) -> None:
    """List a user's keys (prefix, created, last used, revoked); never the keys themselves."""

    async def go(c, session):
        user = await service.find_user_by_email(session, email)
        if user is None:
            raise DomainError(f"no user with email {email}")
        return await service.list_keys(session, user)

    for key in run(go):
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        typer.echo(f"{key.id}  {key.prefix}…  {key.name or '-':<20} last used {used:<16} {state}")


@keys.command("revoke")
def revoke_key(
    key_id: str,
    email: Annotated[str, typer.Option(help="Owner's email")],
) -> None:
    """Revoke a key at once: requests with it get 401 from now on."""

    async def go(c, session):
        user = await service.find_user_by_email(session, email)
        if user is None:
            raise DomainError(f"no user with email {email}")
        return await service.revoke_key(session, c.clock.now(), user, key_id)

    key = run(go)
    typer.echo(f"revoked {key.id} ({key.prefix}…)")
