"""The API-key cache: a known key needs no look-up, and every change to an account or a key
(revocation, restriction, erasure) takes effect on the very next request."""

from __future__ import annotations

from sqlalchemy import event


def count_key_lookups(container):
    seen = []

    def before(conn, cursor, statement, *args):
        if "FROM api_keys" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(container.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_a_known_key_is_not_looked_up_again(client, auth, container):
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    lookups = count_key_lookups(container)
    for _ in range(3):
        assert (await client.get("/v1/me", headers=auth)).status_code == 200
    assert lookups == []


async def test_a_revoked_key_fails_on_the_next_request(client, auth):
    made = await client.post("/v1/me/keys", json={"name": "second"}, headers=auth)
    second = {"Authorization": f"Bearer {made.json()['key']}"}
    assert (await client.get("/v1/me", headers=second)).status_code == 200  # now cached
    revoked = await client.delete(f"/v1/me/keys/{made.json()['id']}", headers=auth)
    assert revoked.status_code == 200
    r = await client.get("/v1/me", headers=second)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


async def test_a_restriction_and_an_erasure_apply_at_once(client, auth):
    body = {"prompt": "a cat", "size": "256x256"}
    assert (await client.post("/v1/images/generations", json=body, headers=auth)).status_code == 200
    assert (await client.post("/v1/me/restriction", headers=auth)).status_code == 200
    r = await client.post("/v1/images/generations", json=body, headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "processing_restricted"
    assert (await client.delete("/v1/me/restriction", headers=auth)).status_code == 200
    assert (await client.post("/v1/images/generations", json=body, headers=auth)).status_code == 200
    assert (await client.delete("/v1/me", headers=auth)).status_code == 200
    assert (await client.get("/v1/me", headers=auth)).status_code == 401
