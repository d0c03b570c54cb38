"""The support desk and the staff API as their users meet them over HTTP: a person's ticket is
answered by support and the answer shows on the person's ticket; staff routes are role-gated
(a normal user gets 403, support gets only tickets); every staff call is in the audit log; the
answers are exported with the tickets and erased with them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import text

from imagedesigner.audit import log as audit
from imagedesigner.retention.sweeper import sweep
from tests.conftest import find_in_files

ANSWER = "canary-answer-body-teal-otter-41"


async def _audit_rows(container) -> list[tuple]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(text("SELECT actor_ref, action, target_ref FROM audit_log"))
        return [tuple(r) for r in rows]


async def _open(client, headers, subject="Where is my image?", body="It vanished.") -> dict:
    r = await client.post(
        "/v1/support/tickets", json={"subject": subject, "body": body}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_support_answers_and_the_owner_sees_it(
    client, auth, user_and_key, container, support, other
):
    ticket = await _open(client, auth)
    assert ticket["status"] == "open" and ticket["messages"] == []
    theirs = await _open(client, other[1], subject="other person's ticket")

    r = await client.get("/v1/admin/tickets", headers=support[1])
    assert r.status_code == 200
    listed = {t["id"]: t for t in r.json()["data"]}
    assert listed[ticket["id"]]["email"] == user_and_key[0].email
    assert set(listed) == {ticket["id"], theirs["id"]}

    r = await client.post(
        f"/v1/admin/tickets/{ticket['id']}/answers", json={"body": ANSWER}, headers=support[1]
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "answered"

    mine = (await client.get("/v1/support/tickets", headers=auth)).json()["data"]
    assert [m["body"] for m in mine[0]["messages"]] == [ANSWER]
    assert mine[0]["messages"][0]["author"] == "support" and mine[0]["status"] == "answered"
    others = (await client.get("/v1/support/tickets", headers=other[1])).json()["data"]
    assert ANSWER not in json.dumps(others), "an answer shows only to the ticket's owner"

    # answered tickets leave the "open" queue; a follow-up puts it back
    queue = (await client.get("/v1/admin/tickets?status=open", headers=support[1])).json()
    assert [t["id"] for t in queue["data"]] == [theirs["id"]]
    r = await client.post(
        f"/v1/support/tickets/{ticket['id']}/messages", json={"body": "Thanks!"}, headers=auth
    )
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert [m["author"] for m in r.json()["messages"]] == ["support", "person"]
    r = await client.post(
        f"/v1/support/tickets/{theirs['id']}/messages", json={"body": "x"}, headers=auth
    )
    assert r.status_code == 404, "nobody writes on someone else's ticket"

    r = await client.post(f"/v1/admin/tickets/{ticket['id']}/close", headers=support[1])
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_at"]
    r = await client.post(f"/v1/admin/tickets/{ticket['id']}/close", headers=support[1])
    assert r.status_code == 409
    r = await client.post(
        f"/v1/admin/tickets/{ticket['id']}/answers", json={"body": "late"}, headers=support[1]
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_closed"
    closed = (await client.get("/v1/admin/tickets?status=closed", headers=support[1])).json()
    assert [t["id"] for t in closed["data"]] == [ticket["id"]]
    r = await client.get("/v1/admin/tickets?status=bogus", headers=support[1])
    assert r.status_code == 400 and r.json()["error"]["param"] == "status"

    target = audit.subject_ref(container.settings, user_and_key[0].id)
    ref = audit.staff_ref(container.settings, support[0].id)
    rows = await _audit_rows(container)
    assert (ref, "ticket-answered", target) in rows
    assert (ref, "ticket-closed", target) in rows
    assert ANSWER not in json.dumps(rows), "the audit log holds no ticket text"


async def test_staff_routes_are_role_gated(client, auth, support, admin):
    ticket = await _open(client, auth)
    user_only = [
        ("GET", "/v1/admin/tickets", None),
        ("POST", f"/v1/admin/tickets/{ticket['id']}/answers", {"body": "hi"}),
        ("POST", f"/v1/admin/tickets/{ticket['id']}/close", None),
    ]
    admin_only = [
        ("GET", "/v1/admin/holds", None),
        ("POST", "/v1/admin/holds", {"email": "ada@example.com", "reason": "case 1"}),
        ("POST", "/v1/admin/holds/hold_x/release", None),
        ("GET", "/v1/admin/rights-requests", None),
        ("POST", "/v1/admin/rights-requests", {"email": "ada@example.com", "type": "access"}),
        ("POST", "/v1/admin/rights-requests/rr_x/complete", None),
        ("GET", "/v1/admin/audit", None),
        ("POST", "/v1/admin/underage", {"email": "ada@example.com"}),
    ]
    for method, path, body in user_only + admin_only:
        r = await client.request(method, path, json=body, headers=auth)
        assert r.status_code == 403, (path, r.status_code)
        assert r.json()["error"]["code"] == "insufficient_role"
    for method, path, body in admin_only:
        r = await client.request(method, path, json=body, headers=support[1])
        assert r.status_code == 403, (path, r.status_code)
    assert (await client.get("/v1/admin/holds", headers=admin[1])).status_code == 200
    assert (await client.get("/v1/support/tickets", headers=auth)).json()["data"], "untouched"


async def test_hold_place_release_and_the_audit_log_pages(client, admin, user_and_key, container):
    headers = admin[1]
    r = await client.post("/v1/admin/holds", json={"email": "nobody@example.com", "reason": "x"})
    assert r.status_code == 401
    r = await client.post(
        "/v1/admin/holds", json={"email": "nobody@example.com", "reason": "x"}, headers=headers
    )
    assert r.status_code == 404 and r.json()["error"]["param"] == "email"
    r = await client.post(
        "/v1/admin/holds", json={"email": "ada@example.com", "reason": ""}, headers=headers
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "reason"
    r = await client.post(
        "/v1/admin/holds",
        json={"email": "ADA@example.com", "reason": "regulator inquiry 7"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    hold = r.json()
    assert hold["active"] and hold["email"] == "ada@example.com"
    assert hold["created_by"] == audit.staff_ref(container.settings, admin[0].id)

    listed = (await client.get("/v1/admin/holds", headers=headers)).json()["data"]
    assert [h["id"] for h in listed] == [hold["id"]]
    r = await client.post(f"/v1/admin/holds/{hold['id']}/release", headers=headers)
    assert r.status_code == 200 and not r.json()["active"] and r.json()["released_at"]
    r = await client.post(f"/v1/admin/holds/{hold['id']}/release", headers=headers)
    assert r.status_code == 409

    page = (await client.get("/v1/admin/audit?limit=2", headers=headers)).json()
    assert page["has_more"] and len(page["data"]) == 2
    assert page["data"][0]["action"] == "audit-read", "reading the log is itself recorded"
    seen = [e["id"] for e in page["data"]]
    while page["has_more"]:
        url = f"/v1/admin/audit?limit=2&before={page['next_before']}"
        page = (await client.get(url, headers=headers)).json()
        seen += [e["id"] for e in page["data"]]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    target = audit.subject_ref(container.settings, user_and_key[0].id)
    about = (await client.get("/v1/admin/audit?email=ada@example.com", headers=headers)).json()
    assert [e["action"] for e in about["data"]] == ["hold-released", "hold-added"]
    assert {e["target"] for e in about["data"]} == {target}
    r = await client.get("/v1/admin/audit?limit=0", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
    actions = {a for _, a, _ in await _audit_rows(container)}
    assert {"holds-read", "hold-added", "hold-released", "audit-read"} <= actions


async def test_rights_requests_with_deadlines(client, admin, auth, container, clock):
    headers = admin[1]
    await client.post("/v1/me/restriction", headers=auth)  # self-service: fulfilled at once
    received = int(clock.now().timestamp()) - 10 * 86400
    r = await client.post(
        "/v1/admin/rights-requests",
        json={"email": "ada@example.com", "type": "access", "received_at": received},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    rr = r.json()
    assert rr["status"] == "open" and rr["channel"] == "staff" and rr["completed_at"] is None
    assert 19 <= rr["days_left"] <= 21, "one calendar month from receipt"
    future = int(clock.now().timestamp()) + 86400
    r = await client.post(
        "/v1/admin/rights-requests",
        json={"email": "ada@example.com", "type": "access", "received_at": future},
        headers=headers,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "received_at"

    listed = (await client.get("/v1/admin/rights-requests", headers=headers)).json()["data"]
    assert listed[0]["id"] == rr["id"], "open requests first"
    assert {x["type"] for x in listed} == {"access", "restriction"}

    clock.advance(timedelta(days=25))
    late = (await client.get("/v1/admin/rights-requests", headers=headers)).json()["data"][0]
    assert late["status"] == "OVERDUE" and late["days_left"] < 0
    r = await client.post(f"/v1/admin/rights-requests/{rr['id']}/complete", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "LATE"
    r = await client.post(f"/v1/admin/rights-requests/{rr['id']}/complete", headers=headers)
    assert r.status_code == 409
    actions = [a for _, a, _ in await _audit_rows(container)]
    assert "rights-request-recorded" in actions and "rights-request-completed" in actions


async def test_underage_flag_erases_the_account(client, admin, auth, user_and_key, container):
    await _open(client, auth, body="canary-child-ticket-99")
    r = await client.post("/v1/admin/underage", json={"email": "ada@example.com"}, headers=admin[1])
    assert r.status_code == 200 and r.json()["status"] == "erased"
    assert (await client.get("/v1/me", headers=auth)).status_code == 401
    target = audit.subject_ref(container.settings, user_and_key[0].id)
    ref = audit.staff_ref(container.settings, admin[0].id)
    assert (ref, "underage-erasure", target) in await _audit_rows(container)
    r = await client.post("/v1/admin/underage", json={"email": "ada@example.com"}, headers=admin[1])
    assert r.status_code == 404


async def test_answers_exported_erased_and_expire_with_the_ticket(
    app, client, auth, support, container, clock, data_dir
):
    ticket = await _open(client, auth)
    await client.post(
        f"/v1/admin/tickets/{ticket['id']}/answers", json={"body": ANSWER}, headers=support[1]
    )
    r = await client.get("/v1/me/export", headers=auth)
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    messages = json.loads(zf.read("ticket_messages.json"))
    assert [(m["ticket_id"], m["author"], m["body"]) for m in messages] == [
        (ticket["id"], "support", ANSWER)
    ]

    clock.advance(container.settings.ticket_retention)
    report = await sweep(container)
    assert report["expired_support_tickets"] == 1 and report["expired_ticket_messages"] == 1
    assert find_in_files(data_dir, ANSWER.encode()) == [], "the answer goes with its ticket"

    ticket = await _open(client, auth)
    await client.post(
        f"/v1/admin/tickets/{ticket['id']}/answers", json={"body": ANSWER}, headers=support[1]
    )
    assert (await client.delete("/v1/me", headers=auth)).status_code == 200
    assert find_in_files(data_dir, ANSWER.encode()) == [], "erasure removes the answers"
