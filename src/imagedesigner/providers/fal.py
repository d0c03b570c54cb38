"""fal.ai adapter (FLUX schnell/dev/pro, FLUX Kontext edits, nano-banana) over fal's queue API.

Flow: submit ``POST {base_url}/{endpoint}`` (``base_url`` is the queue URL, ``fal_queue_url``)
→ poll ``GET …/{owner}/{alias}/requests/{id}/status?logs=1`` → ``GET …/requests/{id}`` for the
result. Progress goes to the ``progress`` callback, each change once: ``IN_QUEUE`` →
``{"stage": "queued", "position": queue_position}``, ``IN_PROGRESS`` → ``{"stage": "running", …}``
with ``percent`` / ``step`` / ``steps`` read from the newest log line that looks like progress
(``step 3/28``, ``30%``, a tqdm bar). Logs can echo anything (the prompt too), so a log line is
never passed on, except as ``message`` when it consists of nothing but such a figure. If the
call is cancelled (client disconnect) or hits the deadline, ``PUT …/requests/{id}/cancel`` is
sent before re-raising.
Status/result/cancel URLs are built from the configured queue URL, never taken
from the response, so the key is only ever sent to that host.

Privacy: every queue request carries ``X-Fal-Store-IO: 0`` (fal keeps no request/response payloads)
and ``X-Fal-Object-Lifecycle-Preference`` with the shortest expiry for any CDN file; inputs go as
``data:`` URIs (never uploaded to fal storage); ``sync_mode: true`` makes outputs come back inline.
An output that still comes as a CDN URL is downloaded at once (size-capped, without the key).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass, replace
from typing import Literal, Unpack

from imagedesigner.providers import _content, _http, _status
from imagedesigner.providers.base import (
    MEDIA_TYPES,
    Capabilities,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    ParamWarning,
    ProgressCallback,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderResult,
    SubprocessorInfo,
    running,
)

NAME = "fal"
LABEL = "fal.ai"
BASE_URL = "https://queue.fal.run"  # everything goes through the queue API
SUBPROCESSOR = SubprocessorInfo(
    name="fal.ai",
    models="Various image models",
    purpose="Image generation (various)",
    policy_url="https://fal.ai/privacy",
)
# Shortest CDN lifetime we ask for. fal-client's "immediate" preset is ≈60 s; the minimum fal
# accepts is not documented (research/providers.md §3.10), so 60 s it is.
CDN_EXPIRY_SECONDS = 60
POLL_INTERVAL = 0.5
CANCEL_TIMEOUT = 5.0
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

FLUX_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
BANANA_RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16")


@dataclass(frozen=True)
class FalModel:
    info: ModelInfo
    endpoint: str  # text-to-image endpoint
    edit_endpoint: str | None = None  # edits (field: edit_field)
    multi_edit_endpoint: str | None = None  # several input images
    size_mode: Literal["image_size", "aspect_ratio"] = "image_size"
    edit_field: Literal["image_url", "image_urls"] = "image_urls"
    sync_mode: bool = True


def _fal(
    key: str, endpoint: str, desc: str, caps: Capabilities, subprocessor: str, **kw
) -> FalModel:
    info = ModelInfo(
        id=f"{NAME}/{key}",
        provider=NAME,
        native_id=endpoint,
        subprocessor=subprocessor,
        description=desc,
        capabilities=caps,
    )
    return FalModel(info=info, endpoint=endpoint, **kw)


_FLUX_CAPS = Capabilities(
    sizes=None,
    min_side=256,
    max_side=2048,
    size_multiple=16,
    max_n=4,
    seeds=True,
    output_formats=("jpeg", "png"),
)
# aspect-ratio models: a W×H request (up to 4096 a side) is sent as the nearest ratio, with a warning
_KONTEXT_CAPS = replace(
    _FLUX_CAPS,
    size_multiple=1,
    max_side=4096,
    aspect_ratios=FLUX_RATIOS,
    edits=True,
    max_input_images=4,
)
_BFL = "fal.ai (model by Black Forest Labs)"
FAL_MODELS: tuple[FalModel, ...] = (
    _fal(
        "flux-schnell",
        "fal-ai/flux/schnell",
        "FLUX.1 [schnell] on fal.ai: fast drafts.",
        _FLUX_CAPS,
        _BFL,
    ),
    _fal("flux-dev", "fal-ai/flux/dev", "FLUX.1 [dev] on fal.ai.", _FLUX_CAPS, _BFL),
    _fal("flux-pro-v1.1", "fal-ai/flux-pro/v1.1", "FLUX1.1 [pro] on fal.ai.", _FLUX_CAPS, _BFL),
    _fal(
        "flux-pro-kontext",
        "fal-ai/flux-pro/kontext/text-to-image",
        "FLUX.1 Kontext [pro] on fal.ai: image editing from a prompt (and text-to-image).",
        _KONTEXT_CAPS,
        _BFL,
        edit_endpoint="fal-ai/flux-pro/kontext",
        multi_edit_endpoint="fal-ai/flux-pro/kontext/multi",
        size_mode="aspect_ratio",
        edit_field="image_url",
    ),
    _fal(
        "nano-banana",
        "fal-ai/nano-banana",
        'Gemini 2.5 Flash Image ("nano-banana") on fal.ai; edits via fal-ai/nano-banana/edit.',
        replace(
            _KONTEXT_CAPS,
            aspect_ratios=BANANA_RATIOS,
            max_input_images=3,
            output_formats=("png", "jpeg", "webp"),
        ),
        "fal.ai (model by Google)",
        edit_endpoint="fal-ai/nano-banana/edit",
        size_mode="aspect_ratio",
    ),
)
MODELS: tuple[ModelInfo, ...] = tuple(m.info for m in FAL_MODELS)


def _app_root(endpoint: str) -> str:
    """Status/result/cancel URLs use only {owner}/{alias}: ``fal-ai/flux/dev`` → ``fal-ai/flux``."""
    return "/".join(endpoint.split("/")[:2])


def _parse_error(status: int, body: bytes) -> _status.ErrorInfo:
    obj = _content.safe_json(body)
    if not isinstance(obj, dict):
        return _status.ErrorInfo()
    detail = obj.get("detail")
    types: list[str] = []
    if isinstance(detail, list):
        items = [d for d in detail if isinstance(d, dict)]
        message = "; ".join(str(d.get("msg")) for d in items if d.get("msg")) or None
        types = [str(d.get("type")) for d in items if d.get("type")]
    else:
        message = detail if isinstance(detail, str) else None
    if isinstance(obj.get("error_type"), str):
        types.append(obj["error_type"])
    refused = "content_policy_violation" in types
    return _status.ErrorInfo(
        message=message,
        code=types[0] if types else None,
        refusal=(message or "content policy violation") if refused else None,
        out_of_credits="exhausted balance" in (message or "").lower(),
    )


def _aspect(fm: FalModel, request: ImageRequest) -> tuple[str, list[ParamWarning]]:
    ratios = fm.info.capabilities.aspect_ratios
    if request.aspect_ratio in ratios:
        return request.aspect_ratio, []
    w, h = request.size or (1024, 1024)
    ratio = _content.nearest_ratio(w, h, ratios)
    asked = request.aspect_ratio or f"{w}x{h}"
    param = "aspect_ratio" if request.aspect_ratio else "size"
    if request.aspect_ratio or abs((w / h) / _content.ratio_value(ratio) - 1) > 0.01:
        return ratio, [
            ParamWarning(
                param,
                "approximated",
                f"{fm.info.id} takes aspect ratios only; {asked} was sent as {ratio}.",
            )
        ]
    return ratio, []


class FalProvider(_http.HttpProvider):
    """fal.ai's queue API (``base_url`` is the queue URL). ``poll_interval``: seconds between
    status polls; the other arguments are :class:`HttpProvider`'s."""

    name = NAME
    label = LABEL
    default_base_url = BASE_URL
    catalog = MODELS
    subprocessor = SUBPROCESSOR
    parse_error = staticmethod(_parse_error)

    def __init__(
        self, *, poll_interval: float = POLL_INTERVAL, **http: Unpack[_http.HttpArgs]
    ) -> None:
        super().__init__(**http)
        self.poll_interval = poll_interval
        self._models = {m.info.id: m for m in FAL_MODELS}

    def build_input(self, model: ModelInfo, request: ImageRequest) -> tuple[str, dict, list]:
        fm = self._models.get(model.id)
        if fm is None:
            raise ProviderInvalidRequest(f"{model.id} is not a fal.ai model of this service.")
        if request.mask is not None:
            raise ProviderInvalidRequest(f"{model.id} does not take a mask.", param="mask")
        warnings: list[ParamWarning] = []
        endpoint = fm.endpoint
        args: dict = {"prompt": request.prompt, "num_images": request.n}
        if fm.size_mode == "image_size" and request.size is not None:
            args["image_size"] = {"width": request.size[0], "height": request.size[1]}
        elif fm.size_mode == "aspect_ratio":
            args["aspect_ratio"], warnings = _aspect(fm, request)
        if request.seed is not None:
            args["seed"] = request.seed
        fmt = request.output_format
        if fmt not in model.capabilities.output_formats:
            raise ProviderInvalidRequest(f"{model.id} cannot return {fmt}.", param="output_format")
        args["output_format"] = fmt
        if request.images:
            if not (fm.edit_endpoint and model.capabilities.edits):
                raise ProviderInvalidRequest(f"{model.id} cannot edit images.", param="image")
            uris = [_content.data_uri(i.data, i.media_type) for i in request.images]
            if fm.edit_field == "image_url" and len(uris) == 1:
                endpoint, args["image_url"] = fm.edit_endpoint, uris[0]
            else:
                endpoint = fm.multi_edit_endpoint or fm.edit_endpoint
                args["image_urls"] = uris
        if fm.sync_mode:
            args["sync_mode"] = True
        return endpoint, args, warnings

    def _headers(self, key: str) -> dict[str, str]:
        return {
            "Authorization": f"Key {key}",
            "X-Fal-Store-IO": "0",
            "X-Fal-Object-Lifecycle-Preference": json.dumps(
                {"expiration_duration_seconds": CDN_EXPIRY_SECONDS}
            ),
        }

    async def _call(self, method: str, url: str, **kwargs) -> dict:
        reply = await self._send(method, url, **kwargs)
        return _content.json_object(reply.body, LABEL)

    async def generate(
        self,
        model: ModelInfo,
        request: ImageRequest,
        *,
        progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        key = self._require_key()
        endpoint, args, warnings = self.build_input(model, request)
        async with self._deadline():
            submitted = await self._call("POST", f"{self.base_url}/{endpoint}", json=args)
            request_id = submitted.get("request_id")
            if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
                raise ProviderBadResponse(f"{LABEL} returned no usable request id.")
            base = f"{self.base_url}/{_app_root(endpoint)}/requests/{request_id}"
            try:
                final = await self._wait(base, key, submitted, progress)
            except asyncio.CancelledError:
                await self._cancel(base, key)
                raise
            # a failed run answers the result fetch with its error status (mapped by _call)
            output = await self._call("GET", base)
            if final.get("error"):  # COMPLETED, but with an error: never a success
                raise _completed_error(final, key)
            images, more = await self._images(model, output, key)
        return ProviderResult(images=images, warnings=warnings + more)

    async def _wait(self, base: str, key: str, first: dict, progress) -> dict:
        last: dict | None = None
        status: dict = first
        while True:
            state = status.get("status")
            if state == "COMPLETED":
                return status
            if state == "IN_QUEUE" or (state is None and status is first):
                pos = status.get("queue_position")
                event = {"stage": "queued", "position": pos if isinstance(pos, int) else None}
            elif state == "IN_PROGRESS":
                event = progress_from_logs(status.get("logs"))
            else:
                raise ProviderError(f"{LABEL} reported the job as {str(state)[:40]}.")
            if progress is not None and event != last:
                await progress(event)
            last = event
            if status is not first:
                await asyncio.sleep(self.poll_interval)
            status = await self._call("GET", f"{base}/status", params={"logs": "1"})

    async def _cancel(self, base: str, key: str) -> None:
        """Best effort: tell fal to drop the queued job (client went away or deadline hit)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._call("PUT", f"{base}/cancel"), CANCEL_TIMEOUT)

    async def _images(
        self, model: ModelInfo, output: dict, key: str
    ) -> tuple[list[GeneratedImage], list[ParamWarning]]:
        entries = output.get("images")
        if not isinstance(entries, list) or not entries:
            info = _parse_error(200, json.dumps(output).encode())
            if info.refusal is not None:
                raise _status.error_for_status(LABEL, 422, {}, info, (key,))
            raise ProviderBadResponse(f"{LABEL} finished the job but returned no images.")
        flags = output.get("has_nsfw_concepts")
        flags = flags if isinstance(flags, list) else []
        seed = output.get("seed") if isinstance(output.get("seed"), int) else None
        images, withheld = [], 0
        for i, entry in enumerate(entries):
            if i < len(flags) and flags[i] is True:
                withheld += 1
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                raise ProviderBadResponse(f"{LABEL} returned an image entry without a URL.")
            data, declared = await self._fetch(entry["url"], entry.get("content_type"))
            media_type, w, h = self._check_image(data, declared)
            images.append(GeneratedImage(data, media_type, w, h, seed=seed))
        if not images:
            raise ProviderContentRefused(
                f"{LABEL} refused the request under its content policy: "
                "its safety checker flagged every output image."
            )
        warnings = []
        if withheld:
            warnings.append(
                ParamWarning(
                    "n",
                    "approximated",
                    f"{withheld} image(s) flagged by {LABEL}'s safety checker were withheld.",
                )
            )
        return images, warnings

    async def _fetch(self, url: str, content_type: object) -> tuple[bytes, str | None]:
        declared = content_type if isinstance(content_type, str) else None
        if url.startswith("data:"):
            media_type, data = _content.decode_data_uri(url, LABEL)
            return data, media_type or declared
        if not url.startswith(("https://", "http://")):
            raise ProviderBadResponse(f"{LABEL} returned an image URL this service cannot fetch.")
        reply = await self._send(  # public CDN: no key, no fal headers
            "GET",
            url,
            authorized=False,
            label=f"{LABEL} CDN",
            parse_error=lambda status, body: _status.ErrorInfo(),
        )
        ctype = reply.headers.get("content-type", "").split(";")[0].strip() or None
        return reply.body, declared or (ctype if ctype in MEDIA_TYPES.values() else None)


# --- progress from fal's logs -----------------------------------------------------------------

_LOG_LINES_READ = 50  # the newest log lines looked at per poll
_LOG_LINE_MAX = 200  # longer lines are not looked at (a progress line is short)
_STEP = re.compile(r"\bsteps?\s*:?\s*(\d{1,5})\s*(?:/|of)\s*(\d{1,5})\b", re.IGNORECASE)
_TQDM = re.compile(r"(\d{1,3})%\s*\|[^|]{0,80}\|\s*(\d{1,5})\s*/\s*(\d{1,5})\b")
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s?%")
# a line made of nothing but a progress figure may be shown as it is
_ONLY_PROGRESS = re.compile(
    r"(?:(?:step|steps|progress|denoising|sampling|inference)\s*:?\s*)?"
    r"(?:\d{1,5}\s*(?:/|of)\s*\d{1,5}(?:\s*steps?)?|\d{1,3}(?:\.\d{1,2})?\s?%)"
    r"(?:\s*\(\d{1,3}(?:\.\d{1,2})?\s?%\))?"
    r"|\d{1,3}%\s*\|[^|\w]{0,80}\|\s*\d{1,5}/\d{1,5}\s*(?:\[[\d:<>,.?\s]*(?:it/s|s/it)?\])?",
    re.IGNORECASE,
)


def _parse_progress(line: str) -> tuple[float | None, int | None, int | None] | None:
    """``(percent, step, steps)`` from one log line that looks like progress, else None."""
    if len(line) > _LOG_LINE_MAX:
        return None
    if match := _TQDM.search(line):
        percent, step, steps = float(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := _STEP.search(line):
        step, steps = int(match.group(1)), int(match.group(2))
        percent = None
    elif match := _PERCENT.search(line):
        percent, step, steps = float(match.group(1)), None, None
    else:
        return None
    if steps is not None and (steps <= 0 or step is None or step > steps):
        return None
    if percent is None and step is not None and steps:
        percent = round(100.0 * step / steps, 1)
    if percent is not None and not 0.0 <= percent <= 100.0:
        return None
    return percent, step, steps


def progress_from_logs(logs: object) -> dict:
    """The ``running`` event for an IN_PROGRESS status: figures from the newest progress line of
    ``logs`` (fal's ``[{"message": …, "level": …, "timestamp": …}]``), None where there are none.
    The raw line becomes ``message`` only when it is nothing but the figure."""
    if not isinstance(logs, list):
        return running()
    for entry in reversed(logs[-_LOG_LINES_READ:]):
        line = entry.get("message") if isinstance(entry, dict) else entry
        if not isinstance(line, str):
            continue
        parsed = _parse_progress(line)
        if parsed is None:
            continue
        percent, step, steps = parsed
        text = line.strip()
        message = text if _ONLY_PROGRESS.fullmatch(text) else None
        return running(percent=percent, step=step, steps=steps, message=message)
    return running()


def _completed_error(status: dict, key: str) -> ProviderError:
    error = status.get("error")
    text = _status.redact(str(error), (key,))
    if status.get("error_type") == "content_policy_violation":
        return ProviderContentRefused(
            f"{LABEL} refused the request under its content policy: {text}"
        )
    return ProviderError(f"{LABEL} reported the job as completed but it failed: {text}")
