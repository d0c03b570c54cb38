"""The API-key cache: a known key needs no look-up, and every change to an account or a key
(revocation, restriction, erasure) takes effect on the very next request."""

from __future__ import annotations

import asyncio

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


async def test_a_known_key_is_looked_up_again_once_its_entry_expires(
    client, auth, container, clock
):
    """The entry lives ``IMAGEDESIGNER_KEY_CACHE_TTL`` by the injected clock (what bounds a
    lost announcement from another instance): just before, no look-up; just after, one."""
    ttl = container.settings.key_cache_ttl.total_seconds()
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    lookups = count_key_lookups(container)
    clock.advance(ttl - 1)
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    assert lookups == []
    clock.advance(1)
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    assert len(lookups) == 1


async def test_a_key_missed_by_many_requests_at_once_is_looked_up_once(client, auth, container):
    """An expired entry or a cleared cache under a stream of the key's requests: one look-up,
    the others wait for it (all going to the database together was scenario b's p99)."""
    assert (await client.get("/v1/me", headers=auth)).status_code == 200
    lookups = count_key_lookups(container)
    for wave in (1, 2):  # twice: the first wave's look-up left nothing behind that blocks
        container.key_cache.clear()
        answers = await asyncio.gather(*(client.get("/v1/me", headers=auth) for _ in range(20)))
        assert [r.status_code for r in answers] == [200] * 20
        assert len(lookups) == wave


async def test_a_wrong_key_sent_by_many_requests_at_once_fails_for_each(client, auth):
    bad = {"Authorization": "Bearer idk_" + "x" * 40}
    answers = await asyncio.gather(*(client.get("/v1/me", headers=bad) for _ in range(5)))
    assert [r.status_code for r in answers] == [401] * 5
    assert all(r.json()["error"]["code"] == "invalid_api_key" for r in answers)
    assert (await client.get("/v1/me", headers=auth)).status_code == 200


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


def count_request_sessions(container, monkeypatch) -> list[object]:
    """Every session the web layer makes from the container (the request's own, made by
    api/deps.get_session, among them); the job runner holds its own session factory."""
    made: list[object] = []
    original = container.sessions

    def counted():
        session = original()
        made.append(session)
        return session

    monkeypatch.setattr(container, "sessions", counted)
    return made


async def test_a_cached_key_makes_a_sync_generation_without_a_request_session(
    client, auth, container, monkeypatch
):
    body = {"prompt": "a cat", "size": "256x256"}
    assert (await client.post("/v1/images/generations", json=body, headers=auth)).status_code == 200
    made = count_request_sessions(container, monkeypatch)
    for _ in range(2):
        r = await client.post("/v1/images/generations", json=body, headers=auth)
        assert r.status_code == 200 and r.json()["data"][0]["b64_json"]
    assert made == []  # the generation row is the runner's own write, not the request's

    # a job is written in the request's unit of work: that one is opened when it is needed
    queued = await client.post(
        "/v1/images/generations", json=body, headers={**auth, "Prefer": "respond-async"}
    )
    assert queued.status_code == 202, queued.text
    assert len(made) == 1


async def test_a_cached_key_still_records_its_last_use_once_a_minute(
    client, auth, container, clock, monkeypatch
):
    assert (await client.get("/v1/me/keys", headers=auth)).status_code == 200
    first = (await client.get("/v1/me/keys", headers=auth)).json()["data"][0]["last_used_at"]
    clock.advance(61)
    made = count_request_sessions(container, monkeypatch)
    body = {"prompt": "a cat", "size": "256x256"}
    assert (await client.post("/v1/images/generations", json=body, headers=auth)).status_code == 200
    assert len(made) == 1  # opened for the stamp alone, and committed
    later = (await client.get("/v1/me/keys", headers=auth)).json()["data"][0]["last_used_at"]
    assert later > first
