"""Staff commands: ``rights`` (report, export, erase), ``holds`` (add, release, list),
``audit``, ``records`` and ``users flag-underage``. Every hold and every rights fulfilment run
here is written to the audit log with the operator's OS account as the actor."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from imagedesigner.accounts.service import find_user_by_email
from imagedesigner.audit import log as audit
from imagedesigner.cli.runtime import run, settings
from imagedesigner.errors import DomainError
from imagedesigner.kit.clock import as_utc

rights_app = typer.Typer(no_args_is_help=True, help="Data-subject requests run by staff.")
holds_app = typer.Typer(no_args_is_help=True, help="Legal holds.")
EmailOpt = Annotated[str, typer.Option("--email", help="The user's email address")]


def actor() -> str:
    try:
        return audit.cli_ref(getpass.getuser())
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return audit.cli_ref("unknown")


async def _user_id(session, email: str) -> str:
    user = await find_user_by_email(session, email)
    if user is None:
        raise DomainError("no user with this email")
    return user.id


# --- rights -----------------------------------------------------------------------------
@rights_app.command("report")
def rights_report(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every recorded request with its one-month deadline and whether it was met."""
    from imagedesigner.privacy import rights

    async def go(c, session):
        return await rights.report(session, c.clock.now())

    rows = run(go)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'received':<26} {'type':<19} {'channel':<12} {'due':<26} status")
    for r in rows:
        typer.echo(
            f"{r['received_at']:<26} {r['type']:<19} {r['channel']:<12} {r['due_at']:<26} "
            f"{r['status']}"
        )
    late = [r for r in rows if r["status"] in ("LATE", "OVERDUE")]
    typer.echo(f"{len(rows)} request(s), {len(late)} late or overdue")


@rights_app.command("export")
def rights_export(
    email: EmailOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="ZIP file to write")],
) -> None:
    """Access/portability for a user who asked support: writes their export ZIP."""
    from imagedesigner.db import uow
    from imagedesigner.privacy import rights
    from imagedesigner.privacy.export import stream_export
    from imagedesigner.privacy.sweep_steps import expire_user_rows

    async def go(c, session):
        uid = await _user_id(session, email)
        received = c.clock.now()
        await expire_user_rows(session, c.blobs, received, uid)  # nothing past its TTL
        await uow.commit(session)
        total = 0
        with output.open("wb") as fh:
            async for chunk in stream_export(c.sessions, c.blobs, received, uid):
                fh.write(chunk)
                total += len(chunk)
        output.chmod(0o600)
        await rights.record(
            session,
            c.settings,
            user_id=uid,
            type="access",
            channel="staff",
            received_at=received,
            completed_at=c.clock.now(),
        )
        await audit.record(
            session,
            c.clock.now(),
            actor=actor(),
            action="rights-export",
            target=audit.subject_ref(c.settings, uid),
        )
        return total

    total = run(go)
    typer.echo(f"wrote {output} ({total} bytes)")


def _erase(email: str, action: str) -> dict:
    from imagedesigner.privacy.erasure import erase_user

    async def go(c, session):
        uid = await _user_id(session, email)
        return await erase_user(
            session,
            c.blobs,
            c.settings,
            c.clock.now(),
            uid,
            channel="staff",
            actor=actor(),
            action=action,
        )

    return run(go)


@rights_app.command("erase")
def rights_erase(email: EmailOpt) -> None:
    """Erasure for a user who asked support (kept only under a legal hold)."""
    result = _erase(email, "rights-erasure")
    typer.echo(json.dumps(result, sort_keys=True))


def flag_underage(email: EmailOpt) -> None:
    """The user is under the minimum age: erase the account now (unless under a legal hold)."""
    result = _erase(email, "underage-erasure")
    typer.echo(json.dumps(result, sort_keys=True))


# --- holds ------------------------------------------------------------------------------
@holds_app.command("add")
def holds_add(
    email: EmailOpt, reason: Annotated[str, typer.Option("--reason", help="Why (case ref)")]
) -> None:
    from imagedesigner.privacy import holds

    async def go(c, session):
        uid = await _user_id(session, email)
        return (await holds.add(session, c.settings, c.clock.now(), uid, reason, actor())).id

    typer.echo(f"hold {run(go)} added")


@holds_app.command("release")
def holds_release(hold_id: str) -> None:
    from imagedesigner.privacy import holds

    async def go(c, session):
        await holds.release(session, c.settings, c.clock.now(), hold_id, actor())

    run(go)
    typer.echo(f"hold {hold_id} released; the user's data follows normal retention again")


@holds_app.command("list")
def holds_list(
    active: Annotated[bool, typer.Option("--active", help="Only unreleased holds")] = False,
) -> None:
    from imagedesigner.privacy import holds

    async def go(c, session):
        return await holds.listing(session)

    for h in run(go):
        if active and h.released_at is not None:
            continue
        state = f"released {as_utc(h.released_at).isoformat()}" if h.released_at else "ACTIVE"
        typer.echo(
            f"{h.id}  user={h.user_id}  since={as_utc(h.created_at).isoformat()}  {state}  "
            f"by={h.created_by}  reason={h.reason}"
        )


# --- audit and records ------------------------------------------------------------------
def audit_cmd(
    email: Annotated[
        str | None, typer.Option("--email", help="Only entries about this user")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the audit log (references and actions only; it holds no content)."""

    async def go(c, session):
        target = audit.subject_ref(c.settings, await _user_id(session, email)) if email else None
        return await audit.entries(session, target=target)

    rows = [
        {
            "id": e.id,
            "at": as_utc(e.at).isoformat(),
            "actor": e.actor_ref,
            "action": e.action,
            "target": e.target_ref,
        }
        for e in run(go)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['id']:>6}  {r['at']}  {r['actor']:<28} {r['action']:<26} {r['target']}")


def records_cmd() -> None:
    """Records of processing (GDPR Art. 30) built from the data map, as JSON."""
    from imagedesigner.privacy.records import records_of_processing
    from imagedesigner.providers.registry import ProviderRegistry

    registry = ProviderRegistry.from_settings(settings())
    typer.echo(json.dumps(records_of_processing(settings(), registry), indent=2, default=str))


def register(app: typer.Typer, users: typer.Typer) -> None:
    app.add_typer(rights_app, name="rights")
    app.add_typer(holds_app, name="holds")
    app.command("audit")(audit_cmd)
    app.command("records")(records_cmd)
    users.command("flag-underage")(flag_underage)
