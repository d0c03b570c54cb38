"""Policy, Your Rights ("Delete your data") and Retention ("subject to legal holds"):
erasure removes every row and blob tied to the user and leaves the canaries (email, prompt) in
no file; a held user's data survives erasure and sweeps and goes at the first sweep after
release. Another user's data is the negative control."""

from __future__ import annotations

from sqlalchemy import select

from imagedesigner.db.models_privacy import RightsRequest
from imagedesigner.privacy import holds, rights
from imagedesigner.retention.sweeper import sweep
from tests.conftest import files_under, find_in_files, make_user
from tests.privacy.conftest import bearer, generate, rows_mentioning

EMAIL = "canary.erasure.9f2@example.com"
PROMPT = "canary-erasure-prompt-violet-narwhal-51"
OTHER_PROMPT = "canary-control-prompt-amber-fox-77"


async def _full_account(client, container, email=EMAIL):
    user, token = await make_user(container, email=email)
    h = bearer(token)
    await client.post("/v1/me/consents/gallery", headers=h)
    saved = await generate(client, h, PROMPT + "-saved", n=2)
    assert (await client.post(f"/v1/generations/{saved['id']}/save", headers=h)).is_success
    await generate(client, h, PROMPT)
    r = await client.post(
        "/v1/support/tickets", json={"subject": "help", "body": PROMPT + " ticket"}, headers=h
    )
    assert r.status_code == 201
    await client.post("/v1/me/restriction", headers=h)  # a few more rows
    await client.delete("/v1/me/restriction", headers=h)
    return user, h


def _blobs(container):
    return [p for p in files_under(container.settings.resolved_blob_dir()) if ".tmp" not in p.parts]


async def test_erasure_leaves_no_row_blob_or_canary(client, container, data_dir, other):
    user, h = await _full_account(client, container)
    control = await generate(client, other[1], OTHER_PROMPT)
    control_blobs = _blobs(container)
    assert find_in_files(data_dir, EMAIL.encode()) and find_in_files(data_dir, PROMPT.encode())

    r = await client.delete("/v1/me", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "erased"
    assert body["deleted"]["generations"] == 2 and body["deleted"]["blobs"] == 3

    assert (await client.get("/v1/me", headers=h)).status_code == 401  # the key died at once
    assert await rows_mentioning(container, user.id) == []
    assert await rows_mentioning(container, EMAIL) == []
    assert find_in_files(data_dir, EMAIL.encode()) == []
    assert find_in_files(data_dir, PROMPT.encode()) == []
    # the control user's blob and prompt are untouched
    left = _blobs(container)
    assert len(left) == 1 and left[0] in control_blobs
    r = await client.get(control["data"][0]["url"], headers=other[1])
    assert r.status_code == 200
    assert find_in_files(data_dir, OTHER_PROMPT.encode())
    # what is kept: a pseudonymous record with counts, no id, no email
    async with container.sessions() as s:
        record = (
            await s.execute(select(RightsRequest).where(RightsRequest.type == "erasure"))
        ).scalar_one()
    assert record.completed_at is not None and record.details["counts"]["users"] == 1
    assert user.id not in str(record.details) and record.subject_ref.startswith("subj_")


async def test_legal_hold_survives_erasure_and_sweep_until_release(
    client, container, clock, data_dir
):
    user, h = await _full_account(client, container)
    async with container.sessions() as s, s.begin():
        hold = await holds.add(
            s, container.settings, container.clock.now(), user.id, "litigation ref 42", "cli:test"
        )

    r = await client.delete("/v1/me", headers=h)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert (await client.get("/v1/me", headers=h)).status_code == 401  # keys die anyway

    clock.advance(container.settings.ticket_retention * 2)  # past every TTL
    await sweep(container)
    assert find_in_files(data_dir, PROMPT.encode()), "held content survives the sweep"
    assert find_in_files(data_dir, EMAIL.encode())
    assert len(_blobs(container)) == 3

    async with container.sessions() as s, s.begin():
        await holds.release(s, container.settings, container.clock.now(), hold.id, "cli:test")
    report = await sweep(container)
    assert report["erasures_completed"] == 1
    assert await rows_mentioning(container, user.id) == []
    assert _blobs(container) == []
    assert find_in_files(data_dir, EMAIL.encode()) == []
    assert find_in_files(data_dir, PROMPT.encode()) == []
    async with container.sessions() as s:
        record = (
            await s.execute(select(RightsRequest).where(RightsRequest.type == "erasure"))
        ).scalar_one()
    assert record.completed_at is not None
    assert rights.status(record, clock.now()).startswith("met after legal hold")
    assert (await sweep(container))["erasures_completed"] == 0  # idempotent
