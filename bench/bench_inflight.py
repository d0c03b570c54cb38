"""Generations in flight: many concurrent requests to a slow provider through the gateway.

A fake OpenAI Images API (loopback, answers after --delay seconds with a small PNG) stands in
for the provider; `imagedesigner serve` (one process, one core's worth of event loop) sits in
front; N clients fire at once. Prints throughput, latency over the provider's own delay, and the
server's RSS, and the same load sent straight to the fake (the direct path) for comparison.

The load generator shares this 2-core machine, so wall-clock throughput is bounded by the client
(see the direct line); the gateway's own CPU time per generation is the figure that scales.

Usage: python bench/bench_inflight.py [--inflight 2000] [--delay 2.0]   (PROFILE=out.json: py-spy)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil
from _serve import free_port, served, wait_up

FAKE = textwrap.dedent(
    """
    import asyncio, base64, io, sys, time
    import uvicorn
    from PIL import Image
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    buf = io.BytesIO(); Image.new("RGB", (64, 64), (200, 40, 90)).save(buf, "PNG")
    B64 = base64.b64encode(buf.getvalue()).decode()
    DELAY = float(sys.argv[2])

    async def generate(request):
        await request.body()
        await asyncio.sleep(DELAY)
        return JSONResponse({"created": int(time.time()), "data": [{"b64_json": B64}],
                             "output_format": "png", "size": "1024x1024"})

    app = Starlette(routes=[Route("/v1/images/generations", generate, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                backlog=8192, limit_concurrency=100000)
    """
)


async def fire(url: str, n: int, headers: dict, body: dict) -> tuple[list[float], int, float]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one() -> tuple[float, int]:
            t0 = time.perf_counter()
            r = await client.post(url, json=body, headers=headers)
            return time.perf_counter() - t0, r.status_code

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - t0
    ok = sum(1 for _, status in results if status == 200)
    return sorted(t for t, _ in results), ok, elapsed


def report(label: str, lat: list[float], ok: int, elapsed: float, n: int) -> None:
    def p(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    print(
        f"{label}: {ok}/{n} ok in {elapsed:.2f} s = {ok / elapsed:.0f} generations/s; "
        f"latency p50 {p(0.5):.2f} s, p99 {p(0.99):.2f} s, max {lat[-1]:.2f} s"
    )


def measure_gateway(server, n: int):
    """Fire ``n`` at once through the gateway; its CPU seconds and RSS are read from outside."""
    proc = psutil.Process(server.pid)
    if os.environ.get("PROFILE"):  # optional: pip install py-spy
        profiler = [Path(sys.executable).with_name("py-spy"), "record", "-o"]
        profiler += [os.environ["PROFILE"], "-f", "speedscope", "-d", "12", "-p", str(server.pid)]
        subprocess.Popen(profiler, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"{server.url}/v1/images/generations"
    headers = {"Authorization": f"Bearer {server.key}"}
    asyncio.run(fire(url, 50, headers, {"model": "openai/gpt-image-1.5", "prompt": "warm-up"}))
    rss0 = proc.memory_info().rss
    peak = [rss0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            await asyncio.sleep(0.05)

    async def gateway():
        sampler = asyncio.ensure_future(sample())
        try:
            return await fire(url, n, headers, {"model": "openai/gpt-image-1.5", "prompt": "x"})
        finally:
            sampler.cancel()

    cpu0 = sum(proc.cpu_times()[:2])
    lat, ok, elapsed = asyncio.run(gateway())
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    return lat, ok, elapsed, cpu, rss0, peak[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inflight", type=int, default=2000)
    ap.add_argument("--delay", type=float, default=2.0)
    args = ap.parse_args()
    fake_port = free_port()
    fake = subprocess.Popen([sys.executable, "-c", FAKE, str(fake_port), str(args.delay)])
    extra = {
        "OPENAI_API_KEY": "sk-bench-not-a-real-key",
        "IMAGEDESIGNER_OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "IMAGEDESIGNER_PROVIDER_MAX_CONNECTIONS": str(args.inflight + 100),
    }
    try:
        with served(extra) as server:
            wait_up(f"http://127.0.0.1:{fake_port}/")
            lat, ok, elapsed, cpu, rss0, peak = measure_gateway(server, args.inflight)
        direct = asyncio.run(
            fire(
                f"http://127.0.0.1:{fake_port}/v1/images/generations",
                args.inflight,
                {"Authorization": "Bearer sk-bench"},
                {"model": "gpt-image-1.5", "prompt": "x"},
            )
        )
    finally:
        fake.terminate()
        fake.wait(10)
    print(f"{args.inflight} generations in flight at once, provider answers after {args.delay} s")
    report("gateway", lat, ok, elapsed, args.inflight)
    report("direct ", *direct, args.inflight)
    print(
        f"gateway CPU: {cpu:.2f} s for {ok} generations = {cpu / max(ok, 1) * 1000:.2f} ms "
        f"per generation, i.e. ~{ok / max(cpu, 1e-9):.0f} generations/s per core"
    )
    print(
        f"gateway RSS: {rss0 / 2**20:.0f} MiB idle, {peak / 2**20:.0f} MiB peak "
        f"({(peak - rss0) / 2**10 / args.inflight:.0f} KiB per generation in flight)"
    )


if __name__ == "__main__":
    main()
