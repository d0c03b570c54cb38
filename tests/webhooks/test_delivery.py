"""Delivery of a finished job's webhook to a receiver on 127.0.0.1: signed as Standard Webhooks
says (checked with the ``standardwebhooks`` package and with a verifier written from the spec),
retried after a failure when the clock has moved past the backoff, every attempt recorded with
its status code and no body."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from imagedesigner import errors
from imagedesigner.db.models_webhooks import WebhookAttempt, WebhookDelivery
from imagedesigner.providers.registry import Resolved
from tests.conftest import make_user
from tests.webhooks.conftest import (
    PROMPT,
    after_backoff,
    create_secret,
    run_job,
    start_job,
    verify_from_spec,
)
from tests.webhooks.receiver import Receiver


async def deliver(container) -> dict[str, int]:
    return await container.runner.deliverer.deliver_due()


async def attempts(container) -> list[WebhookAttempt]:
    async with container.sessions() as s:
        rows = await s.execute(select(WebhookAttempt).order_by(WebhookAttempt.id))
        return list(rows.scalars())


async def test_signed_delivery_is_retried_after_a_500_and_then_succeeds(
    container, client, auth, user_and_key, clock
):
    user = user_and_key[0]
    secret = await create_secret(client, auth)
    async with Receiver(statuses=[500, 204]) as receiver:
        job_id, finished = await run_job(container, user, receiver.url)
        assert finished.status == "succeeded"
        image_ids = [o.image_id for o in finished.outcome.outputs]

        assert await deliver(container) == {"delivered": 0, "retrying": 1, "failed": 0}
        assert len(receiver.received) == 1
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 0}, (
            "not due before the backoff has passed"
        )
        clock.advance(after_backoff(1))
        assert await deliver(container) == {"delivered": 1, "retrying": 0, "failed": 0}
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 0}

    first, second = receiver.received
    assert first.method == second.method == "POST"
    assert first.path == "/hooks/imagedesigner?src=test"
    assert first.headers["content-type"] == "application/json"
    # one message: the same id on every retry, a fresh timestamp and signature per attempt
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-id"].startswith("msg_")
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 3
    assert first.body == second.body

    for got in (first, second):
        now = int(got.headers["webhook-timestamp"])
        assert verify_from_spec(secret, got.headers, got.body, now=now)
        assert Webhook(secret).verify(got.body, got.headers) == json.loads(got.body)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(got.body.replace(b"succeeded", b"failed"), got.headers)
        assert not verify_from_spec(secret, got.headers, got.body + b" ", now=now)

    payload = json.loads(second.body)
    assert payload["type"] == "image.job.succeeded"
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    assert data["id"] == job_id and data["object"] == "job" and data["status"] == "succeeded"
    assert data["model"] == "local/sketch" and data["provider"] == "local"
    assert data["created_at"] and data["finished_at"] and data["error"] is None
    assert data["links"] == {
        "self": f"/v1/jobs/{job_id}",
        "events": f"/v1/jobs/{job_id}/events",
        "images": [f"/v1/images/{i}" for i in image_ids],
    }
    # the field name, not "b64": a random hex id holds those three characters now and then
    assert PROMPT not in second.body.decode() and b"b64_json" not in second.body
    assert len(second.body) < 1000, "links only, never image bytes"

    rows = await attempts(container)
    assert [(a.number, a.status_code, a.error) for a in rows] == [(1, 500, None), (2, 204, None)]
    assert all(a.duration_ms >= 0 for a in rows)
    async with container.sessions() as s:
        delivery = (await s.execute(select(WebhookDelivery))).scalar_one()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert delivery.next_attempt_at is None and delivery.finished_at is not None
    # recorded without bodies: no column holds the payload, the URL or the answer
    assert set(WebhookAttempt.__table__.c.keys()) == {
        "id", "delivery_id", "user_id", "number", "attempted_at", "status_code", "error",
        "duration_ms", "expires_at",
    }  # fmt: skip

    r = await client.get(f"/v1/jobs/{job_id}/webhook", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "webhook_delivery" and body["status"] == "delivered"
    assert body["id"] == first.headers["webhook-id"] and body["type"] == "image.job.succeeded"
    assert [(a["number"], a["status_code"]) for a in body["attempts"]] == [(1, 500), (2, 204)]
    assert "nope" not in r.text and PROMPT not in r.text


class _Blocking:
    """The local provider, except that it waits until cancelled (or fails when told to)."""

    def __init__(self, inner, *, fail: bool = False) -> None:
        self.inner, self.fail = inner, fail
        self.name, self.subprocessor = inner.name, inner.subprocessor
        self.entered = asyncio.Event()

    @property
    def available(self) -> bool:
        return True

    def models(self):
        return self.inner.models()

    async def generate(self, model, request, *, progress=None):
        self.entered.set()
        if self.fail:
            raise errors.UpstreamError("The provider fell over.", code="bad_upstream_response")
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        pass


async def test_failed_cancelled_and_interrupted_jobs_send_their_event(
    container, client, auth, user_and_key, clock
):
    user = user_and_key[0]
    secret = await create_secret(client, auth)
    local = container.registry.resolve("local/sketch")
    async with Receiver() as receiver:
        failing = Resolved(local.model, _Blocking(local.provider, fail=True))
        failed_id, finished = await run_job(container, user, receiver.url, resolved=failing)
        assert finished.status == "failed"

        blocking = _Blocking(local.provider)
        cancelled_id, task = await start_job(
            container, user, receiver.url, resolved=Resolved(local.model, blocking)
        )
        await asyncio.wait_for(blocking.entered.wait(), 10)
        assert container.runner.cancel_local(cancelled_id)
        with pytest.raises(asyncio.CancelledError):
            await task

        # a job whose runner died: queued here but never started, the reaper fails it
        from imagedesigner.generation.runner import JobRunner

        ghost = JobRunner(
            sessions=container.sessions,
            blobs=container.blobs,
            settings=container.settings,
            clock=clock,
            notifier=container.notifier,
        )
        async with container.sessions() as s:
            from imagedesigner.db import uow
            from imagedesigner.generation import jobs
            from imagedesigner.generation.normalize import GenerationInput

            job = await jobs.create(
                s, clock.now(), container.settings.content_ttl, user, local.model,
                GenerationInput(prompt=PROMPT), kind="generation", response_format="url",
                runner=ghost.instance_id, max_active=0, webhook_url=receiver.url,
            )  # fmt: skip
            interrupted_id = job.id
            await uow.commit(s)
        clock.advance(container.settings.job_stale_after + timedelta(seconds=1))
        assert await container.runner.reap() == 1

        assert await deliver(container) == {"delivered": 3, "retrying": 0, "failed": 0}
        await ghost.aclose()

    by_job = {}
    for got in receiver.received:
        assert verify_from_spec(secret, got.headers, got.body, now=int(clock.now().timestamp()))
        payload = json.loads(got.body)
        by_job[payload["data"]["id"]] = payload
    assert by_job[failed_id]["type"] == "image.job.failed"
    assert by_job[failed_id]["data"]["error"]["code"] == "bad_upstream_response"
    assert "images" not in by_job[failed_id]["data"]["links"]
    assert by_job[cancelled_id]["type"] == "image.job.cancelled"
    assert by_job[cancelled_id]["data"]["status"] == "cancelled"
    assert by_job[interrupted_id]["type"] == "image.job.failed"
    assert by_job[interrupted_id]["data"]["error"]["code"] == "interrupted"
    assert len({got.headers["webhook-id"] for got in receiver.received}) == 3


async def test_a_job_without_webhook_url_sends_nothing(container, client, auth, user_and_key):
    await create_secret(client, auth)
    async with Receiver() as receiver:
        job_id, finished = await run_job(container, user_and_key[0], None)
        assert finished.status == "succeeded"
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 0}
    assert receiver.received == []
    r = await client.get(f"/v1/jobs/{job_id}/webhook", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["param"] == "job_id"


async def test_gives_up_after_the_last_attempt(container, client, auth, user_and_key, clock):
    container.settings.webhook_max_attempts = 3
    await create_secret(client, auth)
    async with Receiver(statuses=[500, 502, 503, 204]) as receiver:
        job_id, _ = await run_job(container, user_and_key[0], receiver.url)
        for attempt in (1, 2):
            assert (await deliver(container))["retrying"] == 1
            clock.advance(after_backoff(attempt))
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 1}
        clock.advance(timedelta(hours=1))
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 0}
    assert len(receiver.received) == 3
    assert [a.status_code for a in await attempts(container)] == [500, 502, 503]
    r = await client.get(f"/v1/jobs/{job_id}/webhook", headers=auth)
    assert r.json()["status"] == "failed" and r.json()["next_attempt_at"] is None


async def test_gone_stops_and_redirects_are_not_followed(
    container, client, auth, user_and_key, clock
):
    await create_secret(client, auth)
    async with Receiver(
        statuses=[307, 410], extra_headers={307: {"location": "http://127.0.0.1:9/elsewhere"}}
    ) as receiver:
        await run_job(container, user_and_key[0], receiver.url)
        assert (await deliver(container))["retrying"] == 1  # 3xx is a failure, not followed
        clock.advance(after_backoff(1))
        assert (await deliver(container))["failed"] == 1  # 410 Gone: no more attempts
        clock.advance(timedelta(hours=1))
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 0}
    assert [g.path for g in receiver.received] == ["/hooks/imagedesigner?src=test"] * 2
    assert [(a.status_code, a.error) for a in await attempts(container)] == [
        (307, None),
        (410, None),
    ]


async def test_retry_after_is_honoured(container, client, auth, user_and_key, clock):
    await create_secret(client, auth)
    async with Receiver(statuses=[429, 204], extra_headers={429: {"retry-after": "120"}}) as rcv:
        await run_job(container, user_and_key[0], rcv.url)
        assert (await deliver(container))["retrying"] == 1
        clock.advance(after_backoff(1))
        assert (await deliver(container))["retrying"] == 0, "Retry-After asked for two minutes"
        clock.advance(timedelta(seconds=120))
        assert (await deliver(container))["delivered"] == 1


async def test_timeouts_and_refused_connections_are_retried(
    container, client, auth, user_and_key, clock
):
    container.settings.webhook_timeout = timedelta(seconds=0.5)
    await create_secret(client, auth)
    async with Receiver(delay=2) as receiver:
        await run_job(container, user_and_key[0], receiver.url)
        assert (await deliver(container))["retrying"] == 1
        port = receiver.port
    clock.advance(after_backoff(1))
    assert (await deliver(container))["retrying"] == 1  # nobody listens on the port any more
    rows = await attempts(container)
    assert [(a.status_code, a.error) for a in rows] == [(None, "timeout"), (None, "connect_error")]
    assert port and rows[0].duration_ms >= 400


async def test_without_a_secret_at_delivery_time_the_delivery_fails(
    container, client, auth, user_and_key
):
    await create_secret(client, auth)
    async with Receiver() as receiver:
        await run_job(container, user_and_key[0], receiver.url)
        assert (await client.delete("/v1/me/webhook-secret", headers=auth)).json()["deleted"]
        assert await deliver(container) == {"delivered": 0, "retrying": 0, "failed": 1}
    assert receiver.received == []  # never sent unsigned
    assert [(a.status_code, a.error) for a in await attempts(container)] == [(None, "no_secret")]


async def test_the_runner_loop_delivers_without_being_asked(container, client, auth, clock):
    user, token = await make_user(container, "loop@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    secret = await create_secret(client, headers)
    await container.runner.start_background()
    async with Receiver() as receiver:
        await run_job(container, user, receiver.url)
        await asyncio.wait_for(receiver.arrived.wait(), 10)
    got = receiver.received[0]
    assert verify_from_spec(secret, got.headers, got.body, now=int(clock.now().timestamp()))


async def test_a_receivers_cookie_never_comes_back(container, client, auth, user_and_key, clock):
    """A receiver's Set-Cookie is not stored: the next delivery (another job, maybe another
    user's) carries no cookie (kit/httpclient.py)."""
    user = user_and_key[0]
    await create_secret(client, auth)
    cookie = {"set-cookie": "seen=job-1; Path=/"}
    async with Receiver(statuses=[500, 204], extra_headers={500: cookie, 204: cookie}) as receiver:
        await run_job(container, user, receiver.url)
        await deliver(container)
        clock.advance(after_backoff(1))
        await deliver(container)
    assert len(receiver.received) == 2
    assert all("cookie" not in r.headers for r in receiver.received)
