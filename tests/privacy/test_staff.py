"""Policy, Security ("least-privilege access, and auditing"): support reads tickets but never
images or prompts; every staff read of a user's account or content is in the audit log, which
holds no content and refuses UPDATE and DELETE at the database level."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from imagedesigner.audit import log as audit
from tests.privacy.conftest import generate

PROMPT = "canary-staff-prompt-jade-heron-88"


async def _audit_rows(container) -> list[tuple]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(text("SELECT actor_ref, action, target_ref FROM audit_log"))
        return [tuple(r) for r in rows]


async def test_support_role_cannot_read_content_and_is_audited(
    client, auth, user_and_key, container, support, admin
):
    user = user_and_key[0]
    await generate(client, auth, PROMPT)
    await client.post(
        "/v1/support/tickets", json={"subject": "billing", "body": PROMPT}, headers=auth
    )
    target = audit.subject_ref(container.settings, user.id)
    support_ref = audit.staff_ref(container.settings, support[0].id)

    r = await client.get(f"/v1/admin/users/{user.id}/generations", headers=support[1])
    assert r.status_code == 403 and PROMPT not in r.text
    r = await client.get("/v1/admin/tickets", headers=support[1])
    assert r.status_code == 200 and r.json()["data"][0]["user_id"] == user.id
    r = await client.get(f"/v1/admin/users/{user.id}", headers=support[1])
    assert r.status_code == 200 and r.json()["email"] == user.email
    # ordinary users reach no staff route
    assert (await client.get("/v1/admin/tickets", headers=auth)).status_code == 403
    assert (await client.get(f"/v1/admin/users/{user.id}", headers=auth)).status_code == 403

    r = await client.get(f"/v1/admin/users/{user.id}/generations", headers=admin[1])
    assert r.status_code == 200 and r.json()["data"][0]["prompt"] == PROMPT
    admin_ref = audit.staff_ref(container.settings, admin[0].id)

    rows = await _audit_rows(container)
    assert (support_ref, "content-read-denied", target) in rows
    assert (support_ref, "tickets-read", target) in rows
    assert (support_ref, "account-read", target) in rows
    assert (admin_ref, "content-read", target) in rows
    flat = " ".join(" ".join(r) for r in rows)
    for secret in (PROMPT, user.email, user.id, support[0].id):
        assert secret not in flat, "the audit log holds references only"


async def test_audit_log_is_append_only(container):
    async with container.sessions() as s, s.begin():
        await audit.record(
            s, container.clock.now(), actor="cli:test", action="hold-added", target="subj_x"
        )
    for sql in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with container.engine.begin() as conn:
                await conn.execute(text(sql))
    assert await _audit_rows(container) == [("cli:test", "hold-added", "subj_x")]
    with pytest.raises(ValueError):
        async with container.sessions() as s, s.begin():
            await audit.record(s, container.clock.now(), actor="a", action="Bad Name", target="t")
