"""Jobs in flight on one instance: N async jobs (``Prefer: respond-async``) against a fake
provider that answers after --delay seconds, F of them followed over SSE until ``completed``,
the rest polled. Prints completed/s, the server's RSS and its CPU time per job.

Usage: python bench/bench_jobs.py [--jobs 2000] [--followers 1000] [--delay 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time

import httpx
import psutil
from _serve import free_port, served, wait_up
from bench_inflight import FAKE


async def run(url: str, key: str, jobs: int, followers: int, proc: psutil.Process) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=jobs + followers, max_keepalive_connections=jobs)
    body = {"model": "openai/gpt-image-1.5", "prompt": "a bench", "response_format": "url"}
    peak = [proc.memory_info().rss]
    errors: list[str] = []

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as c:

        async def submit() -> str:
            r = await c.post(
                "/v1/images/generations", json=body, headers={"Prefer": "respond-async"}
            )
            assert r.status_code == 202, r.text
            return r.json()["id"]

        async def follow(job_id: str) -> float:
            failed = False
            async with c.stream("GET", f"/v1/jobs/{job_id}/events") as r:
                async for line in r.aiter_lines():
                    if line == "event: completed":
                        return time.perf_counter()
                    if line in ("event: failed", "event: cancelled"):
                        failed = True
                    elif failed and line.startswith("data: "):
                        errors.append(json.loads(line[6:]).get("code") or "?")
                        return time.perf_counter()
            errors.append("stream ended early")
            return time.perf_counter()

        async def poll(job_id: str) -> float:
            while True:
                job = (await c.get(f"/v1/jobs/{job_id}")).json()
                if job["status"] == "succeeded":
                    return time.perf_counter()
                if job["status"] in ("failed", "cancelled"):
                    errors.append((job["error"] or {}).get("code") or "?")
                    return time.perf_counter()
                await asyncio.sleep(2)

        sampler = asyncio.ensure_future(sample())
        cpu0 = sum(proc.cpu_times()[:2])
        t0 = time.perf_counter()
        ids = await asyncio.gather(*(submit() for _ in range(jobs)))
        submitted = time.perf_counter() - t0
        done = await asyncio.gather(
            *(follow(j) for j in ids[:followers]), *(poll(j) for j in ids[followers:])
        )
        elapsed = max(done) - t0
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        sampler.cancel()
    return {
        "submitted_s": submitted,
        "elapsed": elapsed,
        "cpu": cpu,
        "peak": peak[0],
        "errors": dict(collections.Counter(errors)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--followers", type=int, default=1000)
    ap.add_argument("--delay", type=float, default=2.0)
    args = ap.parse_args()
    fake_port = free_port()
    fake = subprocess.Popen([sys.executable, "-c", FAKE, str(fake_port), str(args.delay)])
    extra = {
        "OPENAI_API_KEY": "sk-bench-not-a-real-key",
        "IMAGEDESIGNER_OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "IMAGEDESIGNER_PROVIDER_MAX_CONNECTIONS": str(args.jobs + 100),
        "IMAGEDESIGNER_JOB_CONCURRENCY": json.dumps({"default": args.jobs}),
        "IMAGEDESIGNER_MAX_ACTIVE_JOBS": "0",
        "IMAGEDESIGNER_MAX_EVENT_STREAMS": "0",
    }
    try:
        with served(extra) as server:
            wait_up(f"http://127.0.0.1:{fake_port}/")
            proc = psutil.Process(server.pid)
            rss0 = proc.memory_info().rss
            r = asyncio.run(run(server.url, server.key, args.jobs, args.followers, proc))
    finally:
        fake.terminate()
        fake.wait(10)
    print(
        f"{args.jobs} async jobs at once, {args.followers} followed over SSE, the rest polled; "
        f"provider answers after {args.delay} s"
    )
    print(
        f"all submitted in {r['submitted_s']:.2f} s; all completed in {r['elapsed']:.2f} s = "
        f"{args.jobs / r['elapsed']:.0f} jobs/s"
    )
    print(
        f"server CPU: {r['cpu']:.2f} s = {r['cpu'] / args.jobs * 1000:.2f} ms per job "
        f"(submit, run, events, followers' reads)"
    )
    print(f"jobs not succeeded: {sum(r['errors'].values())} {r['errors']}")
    print(f"server RSS: {rss0 / 2**20:.0f} MiB idle, {r['peak'] / 2**20:.0f} MiB peak")


if __name__ == "__main__":
    main()
