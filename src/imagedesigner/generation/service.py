"""Generate or edit: plan against the model, call its provider (the only one: no fallback),
store the outputs transiently, return them.

Order of writes: blobs first, then rows in the caller's transaction (the caller commits). A
crash in between leaves orphan blobs, which the sweeper removes once older than the content
TTL. A failure (here, or when the commit fails) removes whatever blobs this request wrote, so
nothing of a failed request is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, StoredImage, User
from imagedesigner.generation.normalize import GenerationInput, Plan, plan
from imagedesigner.infra import metrics
from imagedesigner.kit.ids import new_id
from imagedesigner.providers.base import (
    MEDIA_TYPES,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    ParamWarning,
    ProgressCallback,
    ProviderBadResponse,
    ProviderError,
    ProviderResult,
)
from imagedesigner.providers.registry import Resolved
from imagedesigner.storage.base import BlobStore, new_key

MAX_PARALLEL_CALLS = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0

Sleep = Callable[[float], Awaitable[None]]
_sleep: Sleep = asyncio.sleep  # tests replace this to observe backoff without waiting


@dataclass
class OutputImage:
    image: GeneratedImage
    image_id: str | None  # None when not stored (b64_json without STORE_B64_OUTPUTS)


@dataclass
class Outcome:
    generation_id: str
    created: datetime
    expires_at: datetime | None
    model: ModelInfo
    outputs: list[OutputImage]
    warnings: list[ParamWarning] = field(default_factory=list)
    usage: dict | None = None
    echo: dict[str, str] = field(default_factory=dict)


def safety_identifier(secret: bytes, user_id: str) -> str:
    """An HMAC of the account id: stable per user for abuse monitoring, never the raw id."""
    return hmac.new(secret, user_id.encode(), hashlib.sha256).hexdigest()[:32]


def ensure_not_restricted(user: User) -> None:
    if user.restricted_at is not None:
        raise errors.PermissionDenied(
            "Processing of this account's content is restricted at your request. Lift the "
            "restriction (DELETE /v1/me/restriction) to generate images again.",
            code="processing_restricted",
        )


async def call_with_retries(
    resolved: Resolved,
    request: ImageRequest,
    *,
    max_retries: int,
    progress: ProgressCallback | None,
    sleep: Sleep | None = None,
) -> ProviderResult:
    """Retries only retryable errors (connect errors, 429, 503) on the *same* provider."""
    attempt = 0
    while True:
        try:
            return await resolved.provider.generate(resolved.model, request, progress=progress)
        except ProviderError as exc:
            if not exc.retryable or attempt >= max_retries:
                raise
            attempt += 1
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * random.uniform(0.5, 1.0)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                if retry_after > BACKOFF_CAP:
                    raise
                delay = max(delay, retry_after)
            await (sleep or _sleep)(delay)


def _transcode(
    images: list[GeneratedImage], fmt: str, compression: int | None = None
) -> list[GeneratedImage]:
    """Every image in ``fmt``; with ``compression`` every one is (re-)encoded at it."""
    from imagedesigner.imaging.hygiene import transcode

    quality = {} if compression is None else {"quality": compression}
    return [
        img
        if img.media_type == MEDIA_TYPES[fmt] and compression is None
        else replace(
            img,
            data=transcode(img.data, fmt, **quality),
            media_type=MEDIA_TYPES[fmt],
        )
        for img in images
    ]


@dataclass
class Produced:
    images: list[GeneratedImage]
    warnings: list[ParamWarning]
    usage: dict | None
    # what OpenAI's response echoes: the quality and background made, when known
    echo: dict[str, str] = field(default_factory=dict)


async def _all(one, calls: list[ImageRequest]) -> list[ProviderResult]:
    """Several calls at once (one needs no task of its own)."""
    tasks = [asyncio.ensure_future(one(r)) for r in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        # one call failed (or the client left): stop the others, so no provider keeps working
        # (and billing) on a request whose answer nobody will get
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def produce(
    settings: Settings,
    resolved: Resolved,
    inp: GenerationInput,
    *,
    safety_id: str | None = None,
    progress: ProgressCallback | None = None,
    sleep: Sleep | None = None,
    planned: Plan | None = None,
) -> Produced:
    """Plan the request against the model, make every planned call (a larger ``n`` than the
    model takes per call is split, each with its own seed), and return the images in the
    format asked for. Stores nothing: the API and the CLI both start here."""
    the_plan = planned or plan(  # planned: what the caller already made of this input
        inp,
        resolved.model,
        strict=settings.strict_parameters,
        max_prompt=settings.max_prompt_chars,
    )
    calls = [replace(call, safety_identifier=safety_id) for call in the_plan.calls]
    gate = asyncio.Semaphore(MAX_PARALLEL_CALLS)

    async def one(req: ImageRequest) -> ProviderResult:
        async with gate:
            outcome = "cancelled"  # unless it returns or raises an error of ours
            started = time.perf_counter()
            try:
                result = await call_with_retries(
                    resolved,
                    req,
                    max_retries=settings.provider_max_retries,
                    progress=progress,
                    sleep=sleep,
                )
                if len(result.images) > req.n:  # every adapter: never store what nobody asked for
                    raise ProviderBadResponse(
                        f"{resolved.model.provider} returned {len(result.images)} images for a "
                        f"request of {req.n}."
                    )
                outcome = "ok"
                return result
            except errors.DomainError as exc:
                outcome = exc.code or "error"
                raise
            except Exception:
                outcome = "internal_error"
                raise
            finally:
                metrics.observe_generation(
                    resolved.model.provider,
                    resolved.model.id,
                    outcome,
                    time.perf_counter() - started,
                )

    results = [await one(calls[0])] if len(calls) == 1 else await _all(one, calls)
    images = [img for r in results for img in r.images]
    if not images:
        raise errors.UpstreamError(
            f"{resolved.model.provider} returned no images.", code="no_images_generated"
        )
    warnings = list(the_plan.warnings)
    for r in results:
        warnings.extend(w for w in r.warnings if w not in warnings)
    wanted = MEDIA_TYPES[inp.output_format]
    if any(img.media_type != wanted for img in images):
        # planned (the model can't make the format) or a surprise from the provider: either way
        # the caller gets what they asked for, and is told
        if not the_plan.transcode_to:
            warnings.append(
                ParamWarning(
                    "output_format",
                    "emulated",
                    f"{resolved.model.id} returned another format; transcoded to "
                    f"{inp.output_format} by this service.",
                )
            )
        images = await asyncio.to_thread(_transcode, images, inp.output_format, the_plan.recompress)
    elif the_plan.recompress is not None:
        images = await asyncio.to_thread(_transcode, images, inp.output_format, the_plan.recompress)
    echo = _echo(the_plan.calls[0], [r.echo for r in results])
    return Produced(images, warnings, merge_usage([r.usage for r in results]), echo)


def _echo(call: ImageRequest, reported: list[dict[str, str]]) -> dict[str, str]:
    """The provider's own word on quality and background, else what was asked and sent."""
    echo: dict[str, str] = {}
    if call.quality and call.quality != "auto":
        echo["quality"] = call.quality
    if call.background and call.background != "auto":
        echo["background"] = call.background
    for r in reported:
        echo.update(r)
    return echo


def merge_usage(usages: list[dict | None]) -> dict | None:
    """The sum of several calls' usage: numbers added, ``*_details`` added key by key."""
    known = [u for u in usages if u]
    if not known:
        return None
    merged: dict = {}
    for u in known:
        for k, v in u.items():
            if isinstance(v, dict):
                merged[k] = merge_usage([merged.get(k), v]) if k in merged else dict(v)
            elif isinstance(v, int | float) and not isinstance(v, bool):
                merged[k] = merged.get(k, 0) + v
    return merged or None


def record_result(job: Generation, produced: Produced, now: datetime, *, store_outputs: bool):
    """The job marked succeeded with its result (no I/O)."""
    first = produced.images[0]
    job.warnings = [w.as_dict() for w in produced.warnings]
    job.result = {
        "created": int(now.timestamp()),
        "usage": produced.usage,
        "output_format": first.media_type.split("/")[-1],
        "size": f"{first.width}x{first.height}",
        **produced.echo,
        "stored": store_outputs,
        "revised_prompts": [img.revised_prompt for img in produced.images],
    }
    job.status = "succeeded"
    job.finished_at = now
    job.heartbeat_at = None
    job.progress = {**(job.progress or {}), "percent": 100}


def unstored_outcome(job: Generation, model: ModelInfo, produced: Produced, now: datetime):
    """A succeeded job whose images are not kept (sync ``b64_json``): its row filled in, no
    I/O; the caller writes the row."""
    record_result(job, produced, now, store_outputs=False)
    return _outcome(job, model, [OutputImage(img, None) for img in produced.images], produced)


async def store_result(
    session: AsyncSession,
    blobs: BlobStore,
    now: datetime,
    job: Generation,
    model: ModelInfo,
    produced: Produced,
    *,
    store_outputs: bool,
) -> Outcome:
    """The job's outputs: blobs first, then rows, in the caller's transaction; the job is
    marked succeeded. Blobs written here are removed if the transaction fails."""
    outputs: list[OutputImage] = []
    rows: list[StoredImage] = []
    written: list[str] = []

    async def remove_written() -> None:
        for key in written:
            await asyncio.shield(blobs.delete(key))

    try:
        for img in produced.images:
            if not store_outputs:
                outputs.append(OutputImage(img, None))
                continue
            key = new_key(now)
            await blobs.put(key, img.data)
            written.append(key)
            row = StoredImage(
                id=new_id("img"),
                generation_id=job.id,
                user_id=job.user_id,
                blob_key=key,
                media_type=img.media_type,
                width=img.width,
                height=img.height,
                size_bytes=len(img.data),
                created_at=now,
            )
            rows.append(row)
            outputs.append(OutputImage(img, row.id))
        session.add_all(rows)
        record_result(job, produced, now, store_outputs=store_outputs)
        await session.flush()
    except BaseException:
        await remove_written()
        raise
    uow.on_failure(session, remove_written)  # the commit may still fail
    return _outcome(job, model, outputs, produced)


def _outcome(job: Generation, model: ModelInfo, outputs: list, produced: Produced) -> Outcome:
    return Outcome(
        generation_id=job.id,
        created=job.created_at,
        expires_at=job.expires_at,
        model=model,
        outputs=outputs,
        warnings=produced.warnings,
        usage=produced.usage,
        echo=produced.echo,
    )
