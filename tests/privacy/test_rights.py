"""Policy, Your Rights: restriction/objection stops processing of the account's content until
lifted; rectification changes the email; every fulfilled request is recorded with its
one-month deadline (GDPR Art. 12(3)) and the staff report shows each was met."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from imagedesigner.db.models_privacy import RightsRequest
from imagedesigner.privacy import rights
from tests.conftest import find_in_files
from tests.privacy.conftest import generate

BODY = {"prompt": "a lighthouse", "size": "256x256"}


async def test_restriction_blocks_generation_until_lifted(client, auth):
    assert (await client.post("/v1/me/restriction", headers=auth)).json()["restricted"] is True
    assert (await client.get("/v1/me", headers=auth)).json()["restricted"] is True
    r = await client.post("/v1/images/generations", json=BODY, headers=auth)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "processing_restricted"
    # access and export stay available while restricted
    assert (await client.get("/v1/me/export", headers=auth)).status_code == 200
    assert (await client.delete("/v1/me/restriction", headers=auth)).status_code == 200
    assert (await client.post("/v1/images/generations", json=BODY, headers=auth)).status_code == 200


async def test_rectification_changes_email(client, auth, other, data_dir):
    r = await client.patch("/v1/me", json={"email": "ada.new@Example.COM"}, headers=auth)
    assert r.status_code == 200 and r.json()["email"] == "ada.new@example.com"
    assert (await client.get("/v1/me", headers=auth)).json()["email"] == "ada.new@example.com"
    # the old address is corrected everywhere, not kept in the database file or its WAL
    assert find_in_files(data_dir, b"ada@example.com") == []
    # an address another account uses: the same answer as a change (it tells nothing), and
    # neither account is touched
    taken = await client.patch("/v1/me", json={"email": "grace@example.com"}, headers=auth)
    assert taken.status_code == 200 and taken.json() == {**r.json(), "email": "grace@example.com"}
    assert (await client.get("/v1/me", headers=auth)).json()["email"] == "ada.new@example.com"
    assert (await client.get("/v1/me", headers=other[1])).json()["email"] == "grace@example.com"
    r = await client.patch("/v1/me", json={"email": "not-an-email"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "email"


def test_deadline_is_one_calendar_month():
    assert rights.add_month(datetime(2027, 1, 31, 9, tzinfo=UTC)) == datetime(
        2027, 2, 28, 9, tzinfo=UTC
    )
    assert rights.add_month(datetime(2028, 1, 31, tzinfo=UTC)).day == 29
    assert rights.add_month(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 15, tzinfo=UTC)


async def test_rights_requests_recorded_within_deadline(
    client, auth, user_and_key, container, tmp_path, monkeypatch
):
    await generate(client, auth, "x")
    await client.patch("/v1/me", json={"email": "ada2@example.com"}, headers=auth)
    await client.post("/v1/me/restriction", headers=auth)
    await client.delete("/v1/me/restriction", headers=auth)
    await client.post("/v1/me/consents/email_updates", headers=auth)
    await client.delete("/v1/me/consents/email_updates", headers=auth)
    assert (await client.get("/v1/me/export", headers=auth)).status_code == 200

    async with container.sessions() as s:
        rows = list((await s.execute(select(RightsRequest))).scalars())
    types = sorted(r.type for r in rows)
    assert types == sorted(
        ["rectification", "restriction", "restriction-lifted", "consent-withdrawal", "access"]
    )
    for r in rows:
        assert r.channel == "self-service" and r.completed_at is not None
        assert r.completed_at <= r.due_at and r.subject_ref.startswith("subj_")
        assert user_and_key[0].id not in r.subject_ref
    async with container.sessions() as s:
        report = await rights.report(s, container.clock.now())
    assert {r["status"] for r in report} == {"met"}

    # the staff CLI prints the same report from the same database
    from imagedesigner.cli.main import app as cli

    monkeypatch.setenv("IMAGEDESIGNER_DATA_DIR", str(container.settings.data_dir))
    monkeypatch.setenv("IMAGEDESIGNER_SECRET_KEY", "test-secret")
    monkeypatch.chdir(tmp_path)
    out = await asyncio.to_thread(CliRunner().invoke, cli, ["rights", "report"])
    assert out.exit_code == 0, out.output
    assert "5 request(s), 0 late or overdue" in out.output
    assert out.output.count(" met") == 5
