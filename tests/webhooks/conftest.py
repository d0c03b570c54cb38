"""Webhook tests: the clock starts at the real time (receivers, and the ``standardwebhooks``
verifier, refuse timestamps more than five minutes off), loopback receivers are allowed, and
backoff is short so the tests move the clock by seconds."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from imagedesigner.db import uow
from imagedesigner.generation import jobs
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.generation.runner import Work
from imagedesigner.kit.clock import FrozenClock
from imagedesigner.webhooks import check_url

PROMPT = "a lighthouse painted by a webhook canary 7f3c"
BACKOFF = timedelta(seconds=2)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "webhook_allow_loopback": True,
        "webhook_backoff_base": BACKOFF,
        "webhook_timeout": timedelta(seconds=3),
    }


def after_backoff(attempt: int) -> timedelta:
    """Past the longest wait after failed attempt ``attempt`` (10 % jitter at most)."""
    return BACKOFF * 2 ** (attempt - 1) * 1.1 + timedelta(seconds=1)


async def create_secret(client, auth) -> str:
    r = await client.post("/v1/me/webhook-secret", headers=auth)
    assert r.status_code == 201, r.text
    return r.json()["secret"]


async def start_job(container, user, url: str | None, *, resolved=None, prompt: str = PROMPT):
    """A job created through generation/jobs and started on the runner, as ``submit`` does."""
    resolved = resolved or container.registry.resolve("local/sketch")
    inp = GenerationInput(prompt=prompt, n=1, size="256x256")
    async with container.sessions() as session:
        job = await jobs.create(
            session,
            container.clock.now(),
            container.settings.content_ttl,
            user,
            resolved.model,
            inp,
            kind="generation",
            response_format="url",
            runner=container.runner.instance_id,
            max_active=container.settings.max_active_jobs,
            webhook_url=check_url(url, container.settings) if url else None,
        )
        await uow.commit(session)
    task = container.runner.start(Work(job.id, user.id, resolved, inp, store_outputs=True))
    return job.id, task


async def run_job(container, user, url: str | None, **kw):
    job_id, task = await start_job(container, user, url, **kw)
    return job_id, await asyncio.wait_for(task, 30)


def verify_from_spec(secret: str, headers: dict, body: bytes, *, now: int, tolerance: int = 300):
    """A verifier written from the Standard Webhooks spec, independent of the service's code:
    HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the base64-decoded ``whsec_`` secret,
    any one of the space-separated ``v1,<base64>`` signatures, timestamp within tolerance."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    expected = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for entry in headers["webhook-signature"].split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(signature), expected):
            return True
    return False
