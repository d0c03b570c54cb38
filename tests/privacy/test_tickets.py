"""Policy, Retention ("Support tickets: kept for [12 months] unless you request earlier
deletion (subject to legal holds)")."""

from __future__ import annotations

from datetime import timedelta

from imagedesigner.privacy import holds
from imagedesigner.retention.sweeper import sweep
from tests.conftest import find_in_files

BODY = "canary-ticket-body-ochre-badger-12"


async def _ticket(client, auth, body=BODY) -> dict:
    r = await client.post(
        "/v1/support/tickets", json={"subject": "cannot log in", "body": body}, headers=auth
    )
    assert r.status_code == 201
    return r.json()


async def test_ticket_deleted_after_retention_unless_held(
    client, auth, user_and_key, other, container, clock, data_dir
):
    mine = await _ticket(client, auth)
    theirs = await _ticket(client, other[1], "held-ticket-body")
    assert mine["expires_at"] - mine["created_at"] == 365 * 86400
    async with container.sessions() as s, s.begin():
        hold = await holds.add(
            s,
            container.settings,
            container.clock.now(),
            other[0].id,
            "regulator inquiry",
            "cli:test",
        )

    clock.advance(container.settings.ticket_retention - timedelta(seconds=1))
    await sweep(container)
    assert len((await client.get("/v1/support/tickets", headers=auth)).json()["data"]) == 1

    clock.advance(timedelta(seconds=1))
    report = await sweep(container)
    assert report["expired_support_tickets"] == 1
    assert (await client.get("/v1/support/tickets", headers=auth)).json()["data"] == []
    assert find_in_files(data_dir, BODY.encode()) == []
    assert find_in_files(data_dir, b"held-ticket-body"), "held ticket survives"

    async with container.sessions() as s, s.begin():
        await holds.release(s, container.settings, container.clock.now(), hold.id, "cli:test")
    await sweep(container)
    assert find_in_files(data_dir, b"held-ticket-body") == []
    assert theirs["id"]


async def test_ticket_deleted_earlier_on_request(client, auth, other, container, data_dir):
    t = await _ticket(client, auth)
    assert (
        await client.delete(f"/v1/support/tickets/{t['id']}", headers=other[1])
    ).status_code == 404
    assert (await client.delete(f"/v1/support/tickets/{t['id']}", headers=auth)).status_code == 204
    assert (await client.get("/v1/support/tickets", headers=auth)).json()["data"] == []
    assert find_in_files(data_dir, BODY.encode()) == [], "gone at once, not at the next sweep"


async def test_ticket_validation(client, auth):
    r = await client.post("/v1/support/tickets", json={"subject": "", "body": "x"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "subject"
