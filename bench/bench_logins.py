"""Login burst: 40 concurrent POST /v1/auth/login (argon2 verify each) and what it does to the
event loop, seen as /healthz latency sampled throughout.

Starts `imagedesigner serve` in a subprocess on loopback with a fresh data folder and one user
(login throttling off), warms up with one login, then fires the burst while a second client
polls /healthz. With argon2 on the event loop /healthz waits for every hash in the queue; with
argon2 in a thread pool it stays near its idle latency.
Usage: python bench/bench_logins.py [--logins 40] [--interval 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from _serve import served

EMAIL, PASSWORD = "bench@example.com", "benchmark password"  # made by _serve.served()


async def login(client: httpx.AsyncClient) -> float:
    t0 = time.perf_counter()
    r = await client.post("/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    r.raise_for_status()
    return time.perf_counter() - t0


async def sample_health(client: httpx.AsyncClient, stop: asyncio.Event, interval: float):
    latencies: list[float] = []
    while not stop.is_set():
        t0 = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(interval)
    return latencies


async def drive(url: str, logins: int, interval: float) -> tuple[float, list[float], list, list]:
    limits = httpx.Limits(max_connections=logins)
    async with (
        httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as burst,
        httpx.AsyncClient(base_url=url, timeout=120) as probe,
    ):
        await login(burst)  # warm-up: first connection, first session row
        idle_stop = asyncio.Event()
        idle = asyncio.create_task(sample_health(probe, idle_stop, interval))
        await asyncio.sleep(1.0)
        idle_stop.set()
        idle_lat = await idle

        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_health(probe, stop, interval))
        await asyncio.sleep(interval)  # the sampler is running before the burst starts
        t0 = time.perf_counter()
        login_lat = await asyncio.gather(*(login(burst) for _ in range(logins)))
        total = time.perf_counter() - t0
        stop.set()
        health_lat = await sampler
    return total, list(login_lat), health_lat, idle_lat


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.01, help="seconds between /healthz")
    args = ap.parse_args()
    with served({"IMAGEDESIGNER_LOGIN_RATE_LIMIT": ""}) as server:
        total, logins, health, idle = asyncio.run(drive(server.url, args.logins, args.interval))
    print(f"{args.logins} concurrent logins (argon2id verify each)")
    print(
        f"  total: {total:.2f} s  login p50: {pct(logins, 0.5):.0f} ms  p99: {pct(logins, 0.99):.0f} ms"
    )
    print(
        f"  /healthz during the burst ({len(health)} samples): p50 {pct(health, 0.5):.1f} ms"
        f"  p99 {pct(health, 0.99):.1f} ms  max {max(health) * 1000:.1f} ms"
    )
    print(
        f"  /healthz idle ({len(idle)} samples): p50 {pct(idle, 0.5):.1f} ms  p99 {pct(idle, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
