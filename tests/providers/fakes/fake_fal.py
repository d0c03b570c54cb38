"""A fake of fal.ai's queue API (submit / status / result / cancel) and its media CDN.

Written from research/providers.md §3 (queue flow, status values, output JSON §3.8, error bodies
§3.9). Every request is recorded in ``state.requests``; ``state.mode`` switches error behaviour;
``state.extra["steps"]`` scripts the statuses a job goes through: ``(status, queue_position)`` or
``(status, queue_position, new log lines)``. Mode ``progress`` runs :data:`PROGRESS_STEPS`:
IN_QUEUE with decreasing positions, IN_PROGRESS with log lines (some progress, some not, one
echoing the prompt), then COMPLETED. Logs are cumulative, as fal returns them, and only sent
when the status is asked for with ``logs=1``.
"""

from __future__ import annotations

import base64
import itertools

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._common import MEDIA, FakeState, endless, hang, image_bytes, record

DEFAULT_STEPS = [("IN_QUEUE", 2), ("IN_QUEUE", 1), ("IN_PROGRESS", None), ("COMPLETED", None)]
TQDM_LINE = " 50%|█████     | 14/28 [00:01<00:01,  9.80it/s]"
PROGRESS_STEPS = [
    ("IN_QUEUE", 2),
    ("IN_QUEUE", 1),
    ("IN_QUEUE", 0),
    ("IN_PROGRESS", None, ["Loading weights", "Prompt: {prompt}"]),
    ("IN_PROGRESS", None, ["step 7/28"]),
    ("IN_PROGRESS", None, []),  # nothing new: the same figures, no new event
    ("IN_PROGRESS", None, [TQDM_LINE]),
    ("IN_PROGRESS", None, ["Denoising '{prompt}', step 20/28 (71%)"]),
    ("IN_PROGRESS", None, ["Prompt: {prompt}, seed 42", "Decoding latents"]),
    ("COMPLETED", None, ["Done"]),
]
PRESETS = {"square_hd": (1024, 1024), "landscape_4_3": (1024, 768)}
_ids = itertools.count(1)


def _detail(status: int, detail, headers=None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def submit_error(state: FakeState, key: str) -> Response | None:
    mode = state.mode
    if mode == "401":
        return _detail(401, f"Invalid key: Key {key}")
    if mode == "402":
        return _detail(402, "Payment required: exhausted balance")
    if mode == "403":
        return _detail(403, "Forbidden")
    if mode == "locked":
        return _detail(403, "User is locked. Reason: Exhausted balance. Top up your balance.")
    if mode == "429":
        return _detail(429, "Too many requests", headers={"Retry-After": "7"})
    if mode == "503":
        return _detail(503, "Service unavailable", headers={"Retry-After": "2"})
    if mode == "500":
        return _detail(500, "Internal server error")
    if mode == "invalid":
        return _detail(
            422,
            [
                {
                    "loc": ["body", "image_size"],
                    "msg": f"bad size (key {key})",
                    "type": "value_error",
                }
            ],
        )
    return None


def _dims(args: dict) -> tuple[int, int]:
    size = args.get("image_size")
    if isinstance(size, dict):
        return int(size["width"]), int(size["height"])
    if isinstance(size, str):
        return PRESETS.get(size, (1024, 768))
    ratio = args.get("aspect_ratio")
    if ratio:
        a, b = (int(x) for x in ratio.split(":"))
        return (1024, round(1024 * b / a)) if a >= b else (round(1024 * a / b), 1024)
    return 1024, 768


def make_app(state: FakeState, key: str) -> Starlette:

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Key {key}"

    async def submit(request: Request) -> Response:
        rec = await record(state, request)
        if state.mode == "hang":
            await hang(state)
        if (err := submit_error(state, key)) is not None:
            return err
        if not authorized(request):
            return _detail(401, "Unauthorized")
        rid = f"req-{next(_ids):04d}"
        jobs = state.extra.setdefault("jobs", {})
        jobs[rid] = {"endpoint": request.path_params["path"], "input": rec.json, "polls": 0}
        root = "/".join(request.path_params["path"].split("/")[:2])
        base = f"{str(request.base_url).rstrip('/')}/{root}/requests/{rid}"
        return JSONResponse(
            {
                "request_id": rid,
                "gateway_request_id": rid,
                "status": "IN_QUEUE",
                "queue_position": 3,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
            },
            status_code=202,
        )

    async def status(request: Request) -> Response:
        await record(state, request)
        job = state.extra["jobs"][request.path_params["rid"]]
        default = PROGRESS_STEPS if state.mode == "progress" else DEFAULT_STEPS
        steps = state.extra.get("steps", default)
        if state.mode == "queue_forever":
            return JSONResponse({"status": "IN_QUEUE", "queue_position": 5}, status_code=202)
        step = steps[min(job["polls"], len(steps) - 1)]
        name, pos = step[0], step[1]
        if job["polls"] < len(steps):
            prompt = str((job["input"] or {}).get("prompt", ""))
            for line in step[2] if len(step) > 2 else []:
                job.setdefault("logs", []).append(
                    {
                        "message": line.format(prompt=prompt),
                        "level": "INFO",
                        "source": "user",
                        "timestamp": "2026-12-01T12:00:00.000000",
                    }
                )
        job["polls"] += 1
        with_logs = request.query_params.get("logs") == "1"
        body: dict = {"status": name, "request_id": request.path_params["rid"]}
        if name == "IN_QUEUE":
            body["queue_position"] = pos
        if name == "IN_PROGRESS":
            body["logs"] = list(job.get("logs", [])) if with_logs else None
        if name == "COMPLETED":
            body.update(
                logs=list(job.get("logs", [])) if with_logs else None,
                metrics={"inference_time": 0.4},
            )
            if state.mode in ("completed_error", "completed_error_ok_result"):
                body.update(error="Invalid status code: 500", error_type="runner_error")
        return JSONResponse(body, status_code=200 if name == "COMPLETED" else 202)

    async def result(request: Request) -> Response:
        await record(state, request)
        rid = request.path_params["rid"]
        job = state.extra["jobs"][rid]
        args = job["input"] or {}
        mode = state.mode
        if mode == "refuse":
            return _detail(
                422,
                [
                    {
                        "loc": ["body", "prompt"],
                        "type": "content_policy_violation",
                        "msg": "The content could not be processed because it "
                        "contained material flagged by a content checker.",
                        "ctx": {"categories": ["sexual"]},
                    }
                ],
            )
        if mode == "completed_error":
            return _detail(500, "Invalid status code: 500")
        if mode == "huge":
            return endless(state, request)
        if mode == "malformed":
            return Response(b'{"images": [{"url": ', media_type="application/json")
        if mode == "completed_no_images":
            return JSONResponse({"images": [], "seed": 1, "has_nsfw_concepts": [], "prompt": ""})
        fmt = args.get("output_format", "png")
        w, h = _dims(args)
        n = int(args.get("num_images", 1))
        images = []
        for i in range(n):
            data = b"plain text, not an image" if mode == "not_image" else image_bytes(w, h, fmt)
            if args.get("sync_mode"):
                url = f"data:{MEDIA[fmt]};base64," + base64.b64encode(data).decode()
            else:
                url = f"{str(request.base_url).rstrip('/')}/cdn/files/{rid}-{i}.{fmt}"
                state.extra.setdefault("cdn", {})[f"{rid}-{i}.{fmt}"] = data
            images.append(
                {
                    "url": url,
                    "content_type": MEDIA[fmt],
                    "width": w,
                    "height": h,
                    "file_name": f"{rid}-{i}.{fmt}",
                }
            )
        flags = state.extra.get("nsfw", [False] * n)
        return JSONResponse(
            {
                "images": images,
                "seed": args.get("seed", 1234567),
                "has_nsfw_concepts": flags,
                "prompt": args.get("prompt"),
                "timings": {"inference": 0.4},
            }
        )

    async def cancel(request: Request) -> Response:
        await record(state, request)
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    async def cdn(request: Request) -> Response:
        await record(state, request)
        name = request.path_params["name"]
        data = state.extra.get("cdn", {}).get(name)
        if data is None:
            return Response(b"not found", status_code=404)
        ext = name.rsplit(".", 1)[-1]
        return Response(data, media_type=MEDIA.get(ext, "application/octet-stream"))

    return Starlette(
        routes=[
            Route("/cdn/files/{name}", cdn, methods=["GET"]),
            Route("/{owner}/{alias}/requests/{rid}/status", status, methods=["GET"]),
            Route("/{owner}/{alias}/requests/{rid}/cancel", cancel, methods=["PUT"]),
            Route("/{owner}/{alias}/requests/{rid}", result, methods=["GET"]),
            Route("/{path:path}", submit, methods=["POST"]),
        ]
    )
