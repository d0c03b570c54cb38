"""/v1/generations: your history while it exists, and deleting one now."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import find_in_files, make_user

CANARY = "canary-history-delete-me-now"


async def gen(client, auth, prompt: str, **kw) -> dict:
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": prompt, "size": "256x256", "response_format": "url", **kw},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_history_lists_live_generations_newest_first_with_pages(client, auth, clock):
    ids = []
    for i in range(5):
        ids.append((await gen(client, auth, f"prompt {i}"))["id"])
        clock.advance(timedelta(seconds=1))
    r = await client.get("/v1/generations?limit=2", headers=auth)
    page = r.json()
    assert [g["id"] for g in page["data"]] == ids[::-1][:2]
    assert page["has_more"] is True and r.headers["cache-control"] == "no-store"
    item = page["data"][0]
    assert item["prompt"] == "prompt 4" and item["provider"] == "local"
    assert item["images"][0].startswith("/v1/images/img_") and item["expires_at"]
    rest = (
        await client.get(f"/v1/generations?limit=10&before={page['next']}", headers=auth)
    ).json()
    assert [g["id"] for g in rest["data"]] == ids[::-1][2:] and rest["has_more"] is False


async def test_expired_and_foreign_generations_are_not_listed(client, auth, container, clock):
    mine = await gen(client, auth, "mine")
    _, other_key = await make_user(container, "eve@example.com")
    other = {"Authorization": f"Bearer {other_key}"}
    assert (await client.get("/v1/generations", headers=other)).json()["data"] == []
    assert (await client.get(f"/v1/generations/{mine['id']}", headers=other)).status_code == 404
    assert (await client.delete(f"/v1/generations/{mine['id']}", headers=other)).status_code == 404
    clock.advance(container.settings.content_ttl)
    assert (await client.get("/v1/generations", headers=auth)).json()["data"] == []
    assert (await client.get(f"/v1/generations/{mine['id']}", headers=auth)).status_code == 404


async def test_delete_now_removes_prompt_and_images_from_every_file(
    client, auth, container, data_dir
):
    g = await gen(client, auth, CANARY, n=2)
    image_url = g["data"][0]["url"]
    assert (await client.get(f"/v1/generations/{g['id']}", headers=auth)).status_code == 200
    r = await client.delete(f"/v1/generations/{g['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert (await client.get(image_url, headers=auth)).status_code == 404
    assert (await client.get(f"/v1/generations/{g['id']}", headers=auth)).status_code == 404
    assert find_in_files(data_dir, CANARY.encode()) == [], "gone at once, not at the next sweep"
    blobs = [p for p in container.settings.resolved_blob_dir().rglob("*") if p.is_file()]
    assert [p for p in blobs if not p.name.startswith(".")] == []


async def test_bad_paging_parameters(client, auth):
    r = await client.get("/v1/generations?limit=0", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
    r = await client.get("/v1/generations?before=gen_nope", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "before"
    r = await client.get("/v1/generations?limit=lots", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
