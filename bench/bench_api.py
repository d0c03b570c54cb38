"""API throughput for local/sketch with b64_json: requests/s and p50/p99 latency at concurrency 16.

Starts `imagedesigner serve` in a subprocess on loopback with a fresh data folder, creates a user
and key, then drives it with httpx. Usage: python bench/bench_api.py [--requests 400] [--size 512x512]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from _serve import served


async def drive(url: str, key: str, total: int, concurrency: int, size: str) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                r = await client.post(
                    "/v1/images/generations",
                    headers={"Authorization": f"Bearer {key}"},
                    json={
                        "prompt": f"a red house at sunset number {i}",
                        "size": size,
                        "response_format": "b64_json",
                    },
                )
                r.raise_for_status()
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--size", default="1024x1024")
    args = ap.parse_args()
    with served() as server:
        asyncio.run(drive(server.url, server.key, 32, args.concurrency, args.size))  # warm-up
        t0 = time.perf_counter()
        lat = asyncio.run(drive(server.url, server.key, args.requests, args.concurrency, args.size))
        elapsed = time.perf_counter() - t0
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(f"local/sketch {args.size} b64_json, concurrency {args.concurrency}, {len(lat)} requests")
    print(f"  throughput: {len(lat) / elapsed:.1f} req/s")
    print(
        f"  latency p50: {p(0.50):.1f} ms  p99: {p(0.99):.1f} ms  mean: {statistics.mean(lat) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
