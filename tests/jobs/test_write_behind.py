"""A sync b64_json generation whose images are not kept answers first and has its history row
written behind, in one transaction with the others of its interval, as that row alone (its one
event, completed, is implied by it and still followed over SSE); an account erased meanwhile
gets no row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from imagedesigner.db.models import Generation
from imagedesigner.db.models_jobs import JobEvent
from tests.jobs.test_jobs_api import parse_sse

BODY = {"prompt": "a written-behind lighthouse", "size": "256x256"}


async def count(container, model) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


@pytest.mark.parametrize("settings_overrides", [{"history_write_batch": "1h"}])
async def test_rows_are_written_behind_in_one_group(client, auth, container):
    ids = []
    for _ in range(3):
        r = await client.post("/v1/images/generations", json=BODY, headers=auth)
        assert r.status_code == 200 and r.json()["data"][0]["b64_json"]
        ids.append(r.json()["id"])
    assert await count(container, Generation) == 0, "answered before anything was written"
    await container.runner.history.flush()
    assert await count(container, Generation) == 3
    assert await count(container, JobEvent) == 0, "the row alone: no event row"
    listed = await client.get("/v1/generations", headers=auth)
    assert {g["id"] for g in listed.json()["data"]} == set(ids)


async def test_its_event_stream_still_ends_with_completed(client, auth, container):
    r = await client.post("/v1/images/generations", json=BODY, headers=auth)
    assert r.status_code == 200
    job_id = r.json()["id"]
    await container.runner.history.flush()
    stream = await client.get(f"/v1/jobs/{job_id}/events", headers=auth)
    assert stream.status_code == 200
    events = parse_sse(stream.text)
    assert [(e["event"], e["id"]) for e in events] == [("completed", "1")]
    done = events[0]["data"]
    assert done["id"] == job_id and done["status"] == "succeeded"
    resumed = await client.get(f"/v1/jobs/{job_id}/events", headers={**auth, "Last-Event-ID": "1"})
    assert resumed.status_code == 200 and parse_sse(resumed.text) == []


@pytest.mark.parametrize("settings_overrides", [{"history_write_batch": "1h"}])
async def test_an_account_erased_before_the_write_gets_no_row(client, auth, container):
    assert (await client.post("/v1/images/generations", json=BODY, headers=auth)).status_code == 200
    assert (await client.delete("/v1/me", headers=auth)).status_code == 200
    await container.runner.history.flush()
    assert await count(container, Generation) == 0
    assert container.runner.history.dropped == 1


def test_only_a_row_written_behind_implies_its_event():
    """Any other job's events were stored; once swept (a saved job's expire too) it has none."""
    from imagedesigner.generation.jobs import implied_events

    behind = Generation(id="gen_a", user_id="usr_a", status="succeeded", result={"stored": False})
    assert [(e.type, e.seq) for e in implied_events(behind)] == [("completed", 1)]
    kept = Generation(id="gen_b", user_id="usr_a", status="succeeded", result={"stored": True})
    assert implied_events(kept) == []
    failed = Generation(id="gen_c", user_id="usr_a", status="failed", result=None)
    assert implied_events(failed) == []
