"""Export of a 1,000-image account: seconds, peak RSS and ZIP size.

Builds an account in a temporary data folder (1,000 saved generations, one 512x512 PNG each,
drawn by local/sketch), then streams ``GET /v1/me/export`` through the ASGI app to a file on
disk, sampling the process RSS every 10 ms. The ASGI call is made directly (not through
httpx's ASGI transport, which would join the whole body in memory).

Run: python bench/bench_export.py [--images 1000] [--distinct 50] [--noise]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil
from _serve import offline_settings

from imagedesigner.accounts import service as accounts
from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.imaging import sketch
from imagedesigner.kit.ids import new_id
from imagedesigner.providers.local import encode
from imagedesigner.storage.base import new_key

PROMPTS = [
    "a red house under a starry night sky with a moon",
    "sunset over the sea with mountains",
    "a forest at dawn with birds and clouds",
    "a city skyline at night in the fog",
]


def noise_png(seed: int) -> bytes:
    """Random pixels: an incompressible ~770 KB PNG, the worst case for the ZIP."""
    from PIL import Image

    return encode(
        Image.frombytes("RGB", (512, 512), random.Random(seed).randbytes(512 * 512 * 3)), "png"
    )


async def build_account(c: Container, images: int, distinct: int, noise: bool) -> str:
    if noise:
        pngs = [noise_png(i) for i in range(distinct)]
    else:
        pngs = [encode(sketch.render(PROMPTS[i % 4], i, 512, 512), "png") for i in range(distinct)]
    async with c.sessions() as s, s.begin():
        user = await accounts.create_user(
            s, c.clock.now(), email="bench@example.com", password=None, age_confirmed=True
        )
        token = (await accounts.create_key(s, c.clock.now(), user)).token
    now = c.clock.now()
    for start in range(0, images, 100):
        gens, rows = [], []
        for i in range(start, min(images, start + 100)):
            data = pngs[i % distinct]
            key = new_key(now)
            await c.blobs.put(key, data)
            gen = Generation(
                id=new_id("gen"),
                user_id=user.id,
                model="local/sketch",
                provider="local",
                prompt=f"{PROMPTS[i % 4]} #{i}",
                params={"n": 1, "size": "512x512", "seed": i},
                warnings=[],
                created_at=now,
                expires_at=None,
                saved_at=now,
            )
            gens.append(gen)
            rows.append(
                StoredImage(
                    id=new_id("img"),
                    generation_id=gen.id,
                    user_id=user.id,
                    blob_key=key,
                    media_type="image/png",
                    width=512,
                    height=512,
                    size_bytes=len(data),
                    created_at=now,
                )
            )
        async with c.sessions() as s, s.begin():
            s.add_all(gens)
            await s.flush()
            s.add_all(rows)
    return token


async def stream_to_file(app, token: str, out: Path) -> tuple[int, int]:
    done = asyncio.Event()
    first = True
    status = 0
    chunks = 0

    async def receive():
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    with out.open("wb") as fh:

        async def send(message):
            nonlocal status, chunks
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    fh.write(message["body"])
                    chunks += 1
                if not message.get("more_body"):
                    done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/v1/me/export",
            "raw_path": b"/v1/me/export",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 5000),
            "server": ("bench", 80),
            "app": app,
        }
        await app(scope, receive, send)
    return status, chunks


class PeakRSS:
    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self):
        self.peak = self.proc.memory_info().rss
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


async def main(images: int, distinct: int, noise: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = offline_settings(Path(tmp) / "data")
        c = await Container.build(settings)
        try:
            t0 = time.perf_counter()
            token = await build_account(c, images, distinct, noise)
            setup = time.perf_counter() - t0
            blob_bytes = sum(
                p.stat().st_size for p in settings.resolved_blob_dir().rglob("*") if p.is_file()
            )
            app = create_app(container=c, run_sweeper=False)
            out = Path(tmp) / "export.zip"
            baseline = psutil.Process().memory_info().rss
            with PeakRSS() as rss:
                t0 = time.perf_counter()
                status, chunks = await stream_to_file(app, token, out)
                seconds = time.perf_counter() - t0
            assert status == 200, status
            with zipfile.ZipFile(out) as zf:
                files = len([n for n in zf.namelist() if n.startswith("images/")])
                assert zf.testzip() is None
            size = out.stat().st_size
        finally:
            await c.aclose()
    mib = 1024 * 1024
    kind = "random-pixel" if noise else "local/sketch"
    print(
        f"account: {images} images ({distinct} distinct 512x512 {kind} PNGs), "
        f"{blob_bytes / mib:.1f} MiB of blobs, set up in {setup:.1f} s"
    )
    print(
        f"export: {seconds:.2f} s, ZIP {size / mib:.1f} MiB, {files} image files, {chunks} chunks"
    )
    print(
        f"RSS: before export {baseline / mib:.1f} MiB, peak during export {rss.peak / mib:.1f} MiB "
        f"(+{(rss.peak - baseline) / mib:.1f} MiB)"
    )
    print(
        f"ru_maxrss (whole process, incl. setup): "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=50)
    parser.add_argument("--noise", action="store_true", help="random-pixel PNGs (~770 KB each)")
    args = parser.parse_args()
    asyncio.run(main(args.images, args.distinct, args.noise))
