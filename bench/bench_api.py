"""API throughput for local/sketch with b64_json: requests/s and p50/p99 latency at concurrency 16.

Starts `imagedesigner serve` in a subprocess on loopback with a fresh data folder, creates a user
and key, then drives it with httpx. Usage: python bench/bench_api.py [--requests 400] [--size 512x512]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).with_name("imagedesigner")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IMAGEDESIGNER_DATA_DIR": tmp, "IMAGEDESIGNER_RATE_LIMIT": ""}
        subprocess.run(
            [BIN, "users", "create", "--email", "bench@example.com", "--password-stdin"],
            input=b"benchmark password\n",
            env=env,
            check=True,
            capture_output=True,
        )
        key = subprocess.run(
            [BIN, "keys", "create", "--email", "bench@example.com"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        port = free_port()
        server = subprocess.Popen(
            [BIN, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            asyncio.run(drive(url, key, 32, args.concurrency, args.size))  # warm-up
            t0 = time.perf_counter()
            lat = asyncio.run(drive(url, key, args.requests, args.concurrency, args.size))
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(10)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(f"local/sketch {args.size} b64_json, concurrency {args.concurrency}, {len(lat)} requests")
    print(f"  throughput: {len(lat) / elapsed:.1f} req/s")
    print(
        f"  latency p50: {p(0.50):.1f} ms  p99: {p(0.99):.1f} ms  mean: {statistics.mean(lat) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
