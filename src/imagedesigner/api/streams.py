"""Server-Sent Events: a job's own event stream, and OpenAI's image streaming format.

``job_event_stream`` replays a job's events after ``Last-Event-ID`` and follows it live: each
event carries ``id: <seq>``, ``event: <type>`` (``queued``, ``progress``, ``partial_image``,
``completed``, ``failed``, ``cancelled``) and JSON data; ``completed`` carries the job with its
result. Comments keep idle connections open. Any instance can serve it: events are read from
the database, wake-ups come through the notifier.

``openai_stream`` answers ``stream: true``: ``image_generation.partial_image`` /
``image_edit.partial_image`` for each partial image, one ``…completed`` per image, or an
``error`` event in OpenAI's shape; nothing else, so the official SDKs iterate it unchanged.
A client that leaves cancels the job.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator

import pybase64
from fastapi import Request
from fastapi.responses import StreamingResponse

from imagedesigner import errors
from imagedesigner.container import Container
from imagedesigner.db.models import Generation
from imagedesigner.generation import jobs
from imagedesigner.generation.runner import Finished

KEEPALIVE = 15.0
_open: dict[str, int] = defaultdict(int)  # open event streams per account, this process


def sse(data: dict, event: str | None = None, id_: int | None = None) -> bytes:
    lines = []
    if id_ is not None:
        lines.append(f"id: {id_}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def take_slot(c: Container, user_id: str) -> None:
    """One more open event stream for the account, or 429 (before the response starts)."""
    limit = c.settings.max_event_streams
    if limit and _open[user_id] >= limit:
        raise errors.RateLimited(
            f"At most {limit} event streams can be open at once for one account.",
            retry_after=5,
            code="too_many_event_streams",
        )
    _open[user_id] += 1


def _free_slot(user_id: str) -> None:
    _open[user_id] -= 1
    if _open[user_id] <= 0:
        _open.pop(user_id, None)


async def _news_or(news: asyncio.Event, task: asyncio.Future | None, quiet: float) -> bool:
    """Wait for news (or the task's end); False on a quiet timeout."""
    waiter = asyncio.ensure_future(news.wait())
    try:
        pending = {waiter} if task is None else {waiter, task}
        done, _ = await asyncio.wait(pending, timeout=quiet, return_when="FIRST_COMPLETED")
        return bool(done)
    finally:
        waiter.cancel()


async def _read(c: Container, job_id: str, after: int):
    async with c.sessions() as session:
        events = await jobs.events_after(session, job_id, after)
        job = await session.get(Generation, job_id)
        if job is not None and not events and after == 0:
            events = jobs.implied_events(job)  # a row written behind: its completed event
        return job, events


async def job_event_stream(
    request: Request, c: Container, job_id: str, user_id: str, after: int
) -> AsyncIterator[bytes]:
    """The caller took a slot (``take_slot``); it is freed when the stream ends."""
    from imagedesigner.api.jobs import job_json

    try:
        async with c.notifier.subscribe(job_id) as news:
            yield b": following " + job_id.encode() + b"\n\n"
            while True:
                news.clear()
                job, events = await _read(c, job_id, after)
                if job is None:
                    yield sse({"id": job_id, "status": "deleted"}, "cancelled")
                    return
                for event in events:
                    after = event.seq
                    data = dict(event.data or {})
                    if event.type == "completed":
                        async with c.sessions() as session:
                            fresh = await session.get(Generation, job_id)
                            data = await job_json(request, c, session, fresh)
                    yield sse(data, event.type, event.seq)
                if job.status in jobs.FINAL and not events:
                    return
                if events:
                    continue
                if not await _news_or(news, None, KEEPALIVE):
                    yield b": keep-alive\n\n"
    finally:
        _free_slot(user_id)


def _event_base(job: Generation) -> dict:
    params = job.params or {}
    result = job.result or {}
    return {
        "created_at": result.get("created") or int(job.created_at.timestamp()),
        "size": result.get("size") or params.get("size") or "auto",
        "quality": params.get("quality") or "auto",
        "background": params.get("background") or "auto",
        "output_format": result.get("output_format") or params.get("output_format") or "png",
    }


async def _openai_events(
    c: Container,
    job_id: str,
    prefix: str,
    task: asyncio.Future[Finished],
    partial_images: int,
) -> AsyncIterator[bytes]:
    after, sent_partials = 0, 0
    try:
        async with c.notifier.subscribe(job_id) as news:
            while True:
                news.clear()
                job, events = await _read(c, job_id, after)
                for event in events:
                    after = event.seq
                    if event.type == "partial_image" and sent_partials < partial_images:
                        data = event.data or {}
                        yield sse(
                            {
                                "type": f"{prefix}.partial_image",
                                **_event_base(job),
                                "b64_json": data.get("b64_json", ""),
                                "partial_image_index": sent_partials,
                            },
                            f"{prefix}.partial_image",
                        )
                        sent_partials += 1
                if task.done() and not events:
                    break
                if events:
                    continue
                if not await _news_or(news, task, KEEPALIVE):
                    yield b": keep-alive\n\n"
        finished = task.result() if not task.cancelled() else Finished("cancelled")
        if finished.status == "succeeded" and finished.outcome is not None:
            async with c.sessions() as session:
                job = await session.get(Generation, job_id)
            base = _event_base(job) if job is not None else {}
            for out in finished.outcome.outputs:
                yield sse(
                    {
                        "type": f"{prefix}.completed",
                        **base,
                        "b64_json": pybase64.b64encode_as_string(out.image.data),
                        "usage": finished.outcome.usage or _no_usage(),
                    },
                    f"{prefix}.completed",
                )
            return
        err = finished.error
        body = (
            {"message": err.message, "type": err.type, "param": err.param, "code": err.code}
            if err is not None
            else {
                "message": "The generation was cancelled.",
                "type": "invalid_request_error",
                "param": None,
                "code": "cancelled",
            }
        )
        yield sse({"type": "error", "error": body}, "error")
    finally:
        if not task.done():
            task.cancel()  # the client left: the job stops, nothing is kept


def _no_usage() -> dict:
    return {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
    }


def openai_stream(
    request: Request,
    c: Container,
    job_id: str,
    user_id: str,
    kind: str,
    task: asyncio.Future[Finished],
    partial_images: int,
) -> StreamingResponse:
    prefix = "image_edit" if kind == "edit" else "image_generation"
    return StreamingResponse(
        _openai_events(c, job_id, prefix, task, partial_images),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
