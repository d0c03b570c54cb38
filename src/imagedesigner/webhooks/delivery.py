"""Delivering a finished job's webhook: enqueued in the transaction that makes the job final,
sent by a small in-process loop (and by :meth:`Deliverer.deliver_due`, which tests call
directly), retried with exponential backoff on network errors, timeouts and non-2xx answers.

- One ``webhook_deliveries`` row per job; its id is the ``webhook-id`` header, the same on
  every retry. The body is rebuilt from the finished job at each attempt (the job no longer
  changes): the job's state and links, never the prompt or image bytes.
- An attempt is due when ``next_attempt_at`` (the injected clock's time) has come. Sending
  claims the row first by moving ``next_attempt_at`` past the attempt's deadline, so two loops
  (two instances) never send one attempt twice, and an instance that dies mid-send leaves it
  to be retried.
- Each attempt is recorded in ``webhook_attempts``: number, time, duration, and the answer's
  status code or the error's type. Nothing that was sent or received.
- Attempt ``n`` that fails waits ``backoff_base * 2**(n-1)`` (up to 10 % more, jitter) or the
  answer's ``Retry-After`` when longer (at most an hour); after ``webhook_max_attempts``, or on
  ``410 Gone``, the delivery is ``failed``. ``3xx`` is a failure: redirects are not followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.db.models_webhooks import WebhookAttempt, WebhookDelivery
from imagedesigner.kit.clock import Clock, as_utc
from imagedesigner.kit.ids import new_id
from imagedesigner.webhooks import secret, signing
from imagedesigner.webhooks.transport import BlockedAddress, Resolver, make_client
from imagedesigner.webhooks.urls import check_url

log = logging.getLogger("imagedesigner.webhooks")
FINAL = ("succeeded", "failed", "cancelled")
EVENT_TYPES = {status: f"image.job.{status}" for status in FINAL}
BATCH = 50
PARALLEL = 16
JITTER = 0.1
MAX_RETRY_AFTER = timedelta(hours=1)
LEASE_MARGIN = timedelta(seconds=30)


# --- enqueue (in the caller's transaction) -----------------------------------------------------
async def enqueue(
    session: AsyncSession, job: Generation, now: datetime, settings: Settings
) -> WebhookDelivery | None:
    """The delivery for a job that has just become final and asked for a webhook; None when it
    did not (or already has one). The caller commits."""
    if not job.webhook_url or job.status not in FINAL:
        return None
    existing = await session.execute(
        select(WebhookDelivery.id).where(WebhookDelivery.generation_id == job.id)
    )
    if existing.first() is not None:
        return None
    delivery = WebhookDelivery(
        id=new_id("msg"),
        generation_id=job.id,
        user_id=job.user_id,
        event_type=EVENT_TYPES[job.status],
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        expires_at=now + settings.content_ttl,
    )
    session.add(delivery)
    await session.flush()
    return delivery


# --- the message -------------------------------------------------------------------------------
def _ts(value: datetime | None) -> int | None:
    return int(as_utc(value).timestamp()) if value is not None else None


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def event(job: Generation, image_ids: list[str]) -> dict:
    """The payload: the job and where to find it, never its prompt or images."""
    base = f"/v1/jobs/{job.id}"
    links: dict = {"self": base, "events": f"{base}/events"}
    if job.status == "succeeded":
        links["images"] = [f"/v1/images/{image_id}" for image_id in image_ids]
    return {
        "type": EVENT_TYPES[job.status],
        "timestamp": _iso(job.finished_at or job.created_at),
        "data": {
            "id": job.id,
            "object": "job",
            "kind": job.kind,
            "status": job.status,
            "model": job.model,
            "provider": job.provider,
            "created_at": _ts(job.created_at),
            "finished_at": _ts(job.finished_at),
            "error": job.error,
            "links": links,
        },
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def _image_ids(session: AsyncSession, job: Generation) -> list[str]:
    if job.status != "succeeded":
        return []
    query = (
        select(StoredImage.id)
        .where(StoredImage.generation_id == job.id)
        .order_by(StoredImage.created_at, StoredImage.id)
    )
    return list((await session.execute(query)).scalars())


# --- reading the state (the API) ---------------------------------------------------------------
async def delivery_for(
    session: AsyncSession, user_id: str, job_id: str
) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    delivery = (
        await session.execute(
            select(WebhookDelivery).where(
                WebhookDelivery.generation_id == job_id, WebhookDelivery.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    if delivery is None:
        raise errors.NotFound(
            "This job has no webhook delivery (it asked for none, or has not finished yet).",
            param="job_id",
        )
    attempts = (
        await session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.number, WebhookAttempt.id)
        )
    ).scalars()
    return delivery, list(attempts)


# --- sending -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    duration_ms: int = 0
    status_code: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None
    final: bool = False  # no retry, whatever the attempts left

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(settings: Settings, number: int, retry_after: timedelta | None = None) -> timedelta:
    """How long after failed attempt ``number`` (1-based) the next one is due."""
    delay = settings.webhook_backoff_base * (2 ** (number - 1)) * (1 + random.random() * JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), as_utc(when) - as_utc(now))


def _error_name(exc: BaseException) -> str:
    """``ConnectError`` -> ``connect_error``: the type only, never a message."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()[:40]


class Deliverer:
    """Sends due deliveries. One per process (the job runner owns it); safe to run on several
    instances at once."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        settings: Settings,
        clock: Clock,
        resolve: Resolver | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self._resolve = resolve
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.Task | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(self.settings, resolve=self._resolve)
        return self._client

    def wake(self) -> None:
        """A delivery was enqueued here: send it now rather than at the next poll."""
        self._wake.set()

    async def deliver_due(self) -> dict[str, int]:
        """Make every attempt that is due now; returns counts by outcome."""
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        gate = asyncio.Semaphore(PARALLEL)

        async def one(delivery_id: str) -> None:
            async with gate:
                state = await self._attempt(delivery_id)
            if state in counts:
                counts[state] += 1

        while True:
            claimed = await self._claim(self.clock.now())
            await asyncio.gather(*(one(i) for i in claimed))
            if len(claimed) < BATCH:
                return counts

    async def _claim(self, now: datetime) -> list[str]:
        lease = now + self.settings.webhook_timeout + LEASE_MARGIN
        async with self.sessions() as session:
            due = (
                await session.execute(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(BATCH)
                )
            ).scalars()
            claimed = []
            for delivery_id in list(due):
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=lease)
                )
                if result.rowcount:
                    claimed.append(delivery_id)
            await uow.commit(session)
        return claimed

    async def _attempt(self, delivery_id: str) -> str:
        async with self.sessions() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return "gone"
            job = await session.get(Generation, delivery.generation_id)
            if job is None or job.status not in FINAL:
                return "gone"
            url, number = job.webhook_url, delivery.attempts + 1
            body = encode(event(job, await _image_ids(session, job)))
            key = await secret.load(session, self.settings, delivery.user_id)
        started = self.clock.now()
        outcome = await self._send(delivery_id, url, body, key, started)
        return await self._record(delivery_id, number, started, outcome)

    async def _send(
        self, msg_id: str, url: str | None, body: bytes, key: bytes | None, now: datetime
    ) -> Outcome:
        try:
            target = check_url(url or "", self.settings)  # the rules may have changed since
        except errors.InvalidRequest:
            return Outcome(error="invalid_url", final=True)
        if key is None:
            return Outcome(error="no_secret", final=True)
        headers = {
            "content-type": "application/json",
            **signing.headers(key, msg_id, int(now.timestamp()), body),
        }
        seconds = self.settings.webhook_timeout.total_seconds()
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with asyncio.timeout(seconds):
                async with self.client.stream("POST", target, content=body, headers=headers) as r:
                    code, wait = r.status_code, r.headers.get("retry-after")  # body never read
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(took(), error="timeout")
        except BlockedAddress:
            return Outcome(took(), error="blocked_address", final=True)
        except httpx.HTTPError as exc:
            return Outcome(took(), error=_error_name(exc))
        except Exception as exc:  # noqa: BLE001 - recorded as an attempt, retried
            log.warning("webhook attempt failed: %s", type(exc).__name__)
            return Outcome(took(), error=_error_name(exc))
        return Outcome(
            took(), status_code=code, retry_after=_retry_after(wait, now), final=code == 410
        )

    async def _record(self, delivery_id: str, number: int, started: datetime, out: Outcome) -> str:
        async with self.sessions() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None:  # the job or the account was deleted meanwhile
                return "gone"
            now = self.clock.now()
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    user_id=delivery.user_id,
                    number=number,
                    attempted_at=started,
                    status_code=out.status_code,
                    error=out.error,
                    duration_ms=out.duration_ms,
                    expires_at=delivery.expires_at,
                )
            )
            delivery.attempts = number
            state = "retrying"
            if out.ok:
                state = "delivered"
            elif out.final or number >= self.settings.webhook_max_attempts:
                state = "failed"
            else:
                due = now + backoff(self.settings, number, out.retry_after)
                if due >= as_utc(delivery.expires_at):
                    state = "failed"  # it would outlive its own record
                else:
                    delivery.next_attempt_at = due
            if state != "retrying":
                delivery.status, delivery.next_attempt_at, delivery.finished_at = state, None, now
            await uow.commit(session)
        return state

    # --- the loop --------------------------------------------------------------------------
    async def run_forever(self) -> None:
        interval = self.settings.job_heartbeat_interval.total_seconds()
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep delivering; never log content
                log.warning("webhook delivery step failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)

    def start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.create_task(self.run_forever(), name="imagedesigner-webhooks")

    async def aclose(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
