"""Policy, Legal bases (consent) and Retention: saving to the gallery needs `gallery`
consent; saved items no longer expire; withdrawing consent (as easy as granting) deletes the
saved items, and the API says so before it happens."""

from __future__ import annotations

from sqlalchemy import select

from imagedesigner.db.models import Generation
from imagedesigner.retention.sweeper import sweep
from tests.conftest import find_in_files
from tests.privacy.conftest import generate

SAVED = "canary-saved-teal-otter-7c1"
UNSAVED = "canary-unsaved-grey-heron-4b2"


async def test_gallery_needs_consent(client, auth):
    gen = await generate(client, auth, SAVED)
    r = await client.post(f"/v1/generations/{gen['id']}/save", headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
    assert (await client.post("/v1/me/consents/gallery", headers=auth)).status_code == 200
    r = await client.post(f"/v1/generations/{gen['id']}/save", headers=auth)
    assert r.status_code == 200 and r.json()["expires_at"] is None
    items = (await client.get("/v1/gallery", headers=auth)).json()["data"]
    assert [i["id"] for i in items] == [gen["id"]] and items[0]["prompt"] == SAVED


async def test_cannot_save_someone_elses_generation(client, auth, other):
    gen = await generate(client, auth, SAVED)
    await client.post("/v1/me/consents/gallery", headers=other[1])
    r = await client.post(f"/v1/generations/{gen['id']}/save", headers=other[1])
    assert r.status_code == 404


async def test_saved_image_survives_sweep_unsaved_does_not(
    client, auth, container, clock, data_dir
):
    saved = await generate(client, auth, SAVED)
    await generate(client, auth, UNSAVED)
    await client.post("/v1/me/consents/gallery", headers=auth)
    assert (await client.post(f"/v1/generations/{saved['id']}/save", headers=auth)).is_success

    clock.advance(container.settings.content_ttl * 3)
    await sweep(container)
    assert (await client.get(saved["data"][0]["url"], headers=auth)).status_code == 200
    assert find_in_files(data_dir, SAVED.encode())
    assert find_in_files(data_dir, UNSAVED.encode()) == []

    # deleting a saved item removes rows and blobs at once
    r = await client.delete(f"/v1/gallery/{saved['id']}", headers=auth)
    assert r.status_code == 200
    assert (await client.get(saved["data"][0]["url"], headers=auth)).status_code == 404
    await sweep(container)  # scrubs the WAL
    assert find_in_files(data_dir, SAVED.encode()) == []


async def test_withdraw_gallery_consent_warns_then_deletes_saved(client, auth, container):
    await client.post("/v1/me/consents/gallery", headers=auth)
    ids = []
    for i in range(2):
        gen = await generate(client, auth, f"{SAVED}-{i}")
        await client.post(f"/v1/generations/{gen['id']}/save", headers=auth)
        ids.append(gen["id"])

    r = await client.delete("/v1/me/consents/gallery", headers=auth)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "confirmation_required" and "2 saved item" in err["message"]
    assert len((await client.get("/v1/gallery", headers=auth)).json()["data"]) == 2
    state = (await client.get("/v1/me/consents", headers=auth)).json()
    assert state["purposes"]["gallery"]["granted"] is True  # nothing happened yet

    r = await client.delete("/v1/me/consents/gallery?confirm=true", headers=auth)
    assert r.status_code == 200 and r.json()["deleted_items"] == 2
    assert r.json()["purposes"]["gallery"]["granted"] is False
    assert (await client.get("/v1/gallery", headers=auth)).json()["data"] == []
    async with container.sessions() as s:
        left = (await s.execute(select(Generation).where(Generation.id.in_(ids)))).all()
    assert left == []
    assert [p.name for p in container.settings.resolved_blob_dir().rglob("*") if p.is_file()] == []
    assert find_in_files(container.settings.data_dir, SAVED.encode()) == []


async def test_withdrawing_is_as_easy_as_granting(client, auth):
    for purpose in ("email_updates", "gallery"):
        assert (await client.post(f"/v1/me/consents/{purpose}", headers=auth)).status_code == 200
        # nothing saved: one call, no confirmation
        assert (await client.delete(f"/v1/me/consents/{purpose}", headers=auth)).status_code == 200
    body = (await client.get("/v1/me/consents", headers=auth)).json()
    assert [(h["purpose"], h["granted"]) for h in body["history"]] == [
        ("email_updates", True),
        ("email_updates", False),
        ("gallery", True),
        ("gallery", False),
    ]
    assert all(h["policy_version"] for h in body["history"])
    r = await client.post("/v1/me/consents/marketing", headers=auth)
    assert r.status_code == 404
