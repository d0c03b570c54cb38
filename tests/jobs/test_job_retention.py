"""A job is content: its prompt, its events and its images are in no file once its TTL has
passed (and the sweep ran), or once the account is erased; an edit's upload is never written to
disk, during or after the job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from imagedesigner.retention.sweeper import sweep
from tests.api.test_edits import CANARY as UPLOAD_CANARY
from tests.api.test_edits import jpeg_with_gps_and_comment
from tests.conftest import find_in_files
from tests.jobs.test_jobs_api import ASYNC, wait_final

PROMPT = "canary-job-prompt-teal-heron-83"


async def _job(client, auth, prompt: str = PROMPT) -> dict:
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": prompt, "size": "256x256", "response_format": "url"},
        headers={**auth, **ASYNC},
    )
    assert r.status_code == 202, r.text
    return await wait_final(client, auth, r.json()["id"])


async def test_job_prompt_and_events_in_no_file_after_the_ttl(client, auth, container, clock):
    job = await _job(client, auth)
    assert job["status"] == "succeeded"
    events = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth)
    assert events.status_code == 200
    assert find_in_files(container.settings.data_dir, PROMPT.encode()), "kept while it lives"
    clock.advance(container.settings.content_ttl + timedelta(seconds=1))
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).status_code == 404
    report = await sweep(container)
    assert report["expired_generations"] == 1 and report["expired_job_events"] >= 3
    assert find_in_files(container.settings.data_dir, PROMPT.encode()) == []
    blobs = container.settings.resolved_blob_dir()
    assert [p for p in blobs.rglob("*") if p.is_file() and ".tmp" not in p.parts] == []


async def test_job_in_no_file_after_erasure(client, auth, container):
    await _job(client, auth)
    assert (await client.delete("/v1/me", headers=auth)).status_code == 200
    assert find_in_files(container.settings.data_dir, PROMPT.encode()) == []


async def test_an_edit_upload_is_in_no_file_during_or_after_its_job(client, auth, container):
    seen_during: list[list] = []
    from imagedesigner.providers.local import LocalProvider

    real = LocalProvider.generate

    async def looking(self, model, request, *, progress=None):
        seen_during.append(find_in_files(container.settings.data_dir, UPLOAD_CANARY))
        await asyncio.sleep(0)
        return await real(self, model, request, progress=progress)

    LocalProvider.generate = looking
    try:
        r = await client.post(
            "/v1/images/edits",
            data={"prompt": "add a moon", "model": "local/sketch", "size": "256x256"},
            files={"image": ("in.jpg", jpeg_with_gps_and_comment(), "image/jpeg")},
            headers={**auth, **ASYNC},
        )
        assert r.status_code == 202, r.text
        job = await wait_final(client, auth, r.json()["id"])
    finally:
        LocalProvider.generate = real
    assert job["status"] == "succeeded" and job["kind"] == "edit"
    assert seen_during == [[]], "while the job ran, the upload was in memory only"
    assert find_in_files(container.settings.data_dir, UPLOAD_CANARY) == []
