"""The retention sweep over N expired generations: items/s, and what it does to requests.

Builds the data directly with bulk INSERTs (SQLAlchemy core, executemany in chunks), spread
over ``--users`` accounts, 1% of them under a legal hold. Per expired generation: 1 image row
(10% have 2), job events for the 20% that ran as jobs (3 each), a webhook delivery with 1-2
attempts for a quarter of those jobs, and a blob file for ``--blob-fraction`` of the images
(the other image rows point at keys with no file: the sweep still asks the store to delete
them, the same call, minus the unlink). 5% more generations are saved (never expire).

Then serves the app in this process with uvicorn, as ``serve`` does (uvloop, httptools; the
sweeper of ``serve`` runs in the same event loop), and a client subprocess sends a steady
stream of requests at ``--rate`` per second: GET /v1/me, GET /v1/generations?limit=10 and
POST /v1/images/generations (local/sketch, 256x256, b64_json) in the ratio 2:2:1. After a
warm-up and ``--baseline`` seconds, the sweep runs (``scheduler.sweep_once_locked``, the entry
point ``serve`` calls), then ``--baseline`` seconds more. Latency of the requests sent before
and after the sweep (baseline) and while it ran is compared; the sweep's own rate is reported.
Finally the remaining rows are checked: held users keep everything, everything else expired is
gone, rows and blobs.

Run: python bench/bench_sweep.py [--rows 100000] [--database-url postgresql+asyncpg://...]
(a PostgreSQL database is emptied first: pass --reset to allow that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil
import uvloop
from _serve import offline_settings

PROMPTS = [
    "a red house under a starry night sky with a moon, oil painting, warm light",
    "sunset over the sea with mountains in the distance and a small boat",
    "a forest at dawn with birds and clouds, watercolour, soft pastel colours",
    "a city skyline at night in the fog, neon signs reflecting on wet streets",
]
CHUNK = 5000


# --------------------------------------------------------------------------- the client
async def client(url: str, key: str, rate: float) -> None:
    """Open loop: request i is sent at start + i/rate whatever the earlier ones do. Prints
    ``ready``, runs until stdin closes, then prints the samples as JSON."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    samples: list[tuple[float, float, int, str]] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def one(i: int) -> None:
            kind = ("me", "me", "list", "list", "generate")[i % 5]
            sent = time.time()
            t0 = time.perf_counter()
            try:
                if kind == "me":
                    r = await http.get("/v1/me", headers=headers)
                elif kind == "list":
                    r = await http.get("/v1/generations", params={"limit": 10}, headers=headers)
                else:
                    body = {
                        "model": "local/sketch",
                        "prompt": f"{PROMPTS[i % 4]} #{i}",
                        "size": "256x256",
                        "response_format": "b64_json",
                    }
                    r = await http.post("/v1/images/generations", json=body, headers=headers)
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            samples.append((sent, time.perf_counter() - t0, status, kind))

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), stop.set)
        print("ready", flush=True)
        tasks = set()
        start = time.perf_counter()
        i = 0
        while not stop.is_set():
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)
    print(json.dumps(samples), flush=True)


# --------------------------------------------------------------------------- the data
def _png() -> bytes:
    from imagedesigner.imaging import sketch
    from imagedesigner.providers.local import encode

    return encode(sketch.render(PROMPTS[0], 1, 256, 256), "png")


def _write_blob(root: Path, key: str, data: bytes) -> None:
    path = root / key[-2:] / key  # LocalBlobStore's layout; no fsync: this is set-up
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


async def build(c, rows: int, users: int, blob_fraction: float) -> dict:
    from imagedesigner.db.models import ApiKey, Generation, StoredImage, User
    from imagedesigner.db.models_jobs import JobEvent
    from imagedesigner.db.models_privacy import LegalHold
    from imagedesigner.db.models_webhooks import WebhookAttempt, WebhookDelivery
    from imagedesigner.kit.ids import new_id
    from imagedesigner.storage.base import new_key

    rnd = random.Random(7)
    total = rows + rows // 20  # 5% more are saved to the gallery
    now = c.clock.now()
    ttl = c.settings.content_ttl
    png = _png()
    root = c.settings.resolved_blob_dir()
    user_ids = [new_id("user") for _ in range(users)]
    held = set(user_ids[::100])  # 1% of the accounts are under a legal hold
    async with c.engine.begin() as conn:
        await conn.execute(
            User.__table__.insert(),
            [
                dict(id=u, email=f"{u}@example.com", password_hash=None, age_confirmed_at=now,
                     role="user", restricted_at=None, created_at=now - timedelta(days=90))
                for u in user_ids
            ],
        )  # fmt: skip
        await conn.execute(
            ApiKey.__table__.insert(),
            [
                dict(id=new_id("key"), user_id=u, name="", prefix="idk_" + u[-8:],
                     key_hash=new_id("h")[:64], created_at=now)
                for u in user_ids
            ],
        )  # fmt: skip
        await conn.execute(
            LegalHold.__table__.insert(),
            [
                dict(id=new_id("hold"), user_id=u, reason="bench", created_at=now,
                     released_at=None, created_by="bench")
                for u in held
            ],
        )  # fmt: skip
    counts = dict(expired=0, saved=0, held_expired=0, blobs=0, held_blobs=0)
    for start in range(0, total, CHUNK):
        gens, imgs, events, deliveries, attempts = [], [], [], [], []
        for i in range(start, min(total, start + CHUNK)):
            user = user_ids[i % users]
            saved = i >= rows
            # written over the two days before their expiry, in order (as a service writes them)
            created = now - ttl - timedelta(seconds=2 * 86400 * (1 - i / total) + 1)
            job = i % 5 == 0
            gid = new_id("gen")
            gens.append(
                dict(id=gid, user_id=user, model="local/sketch", provider="local",
                     prompt=f"{PROMPTS[i % 4]} #{i}",
                     params={"n": 1, "size": "512x512", "seed": i, "quality": "auto"},
                     warnings=[], created_at=created,
                     expires_at=None if saved else created + ttl,
                     saved_at=created if saved else None,
                     kind="job" if job else "generation", status="succeeded", progress={},
                     error=None, result={"created": int(created.timestamp())} if job else None,
                     response_format="url" if job else "b64_json",
                     webhook_url="https://hooks.example.com/x" if job and i % 20 == 0 else None,
                     started_at=created, finished_at=created + timedelta(seconds=2),
                     cancel_requested=False, runner=None, heartbeat_at=None)
            )  # fmt: skip
            counts["saved" if saved else "expired"] += 1
            held_gen = user in held and not saved
            counts["held_expired"] += held_gen
            for _ in range(2 if i % 10 == 3 else 1):
                key = new_key(created)
                imgs.append(
                    dict(id=new_id("img"), generation_id=gid, user_id=user, blob_key=key,
                         media_type="image/png", width=512, height=512, size_bytes=len(png),
                         created_at=created)
                )  # fmt: skip
                if rnd.random() < blob_fraction:
                    _write_blob(root, key, png)
                    counts["blobs"] += 1
                    counts["held_blobs"] += held_gen
            if job:
                for seq, kind in enumerate(("progress", "partial_image", "completed"), 1):
                    events.append(
                        dict(generation_id=gid, user_id=user, seq=seq, type=kind,
                             data={"seq": seq, "progress": seq / 3}, created_at=created,
                             expires_at=created + ttl)
                    )  # fmt: skip
            if job and i % 20 == 0:
                did = new_id("whd")
                deliveries.append(
                    dict(id=did, generation_id=gid, user_id=user, event_type="image.completed",
                         status="delivered", attempts=1 + i // 20 % 2, next_attempt_at=None,
                         created_at=created, finished_at=created, expires_at=created + ttl)
                )  # fmt: skip
                for n in range(1 + i // 20 % 2):
                    attempts.append(
                        dict(delivery_id=did, user_id=user, number=n + 1, attempted_at=created,
                             status_code=200 if n else 503, error=None, duration_ms=40,
                             expires_at=created + ttl)
                    )  # fmt: skip
        async with c.engine.begin() as conn:
            for table, batch in (
                (Generation.__table__, gens),
                (StoredImage.__table__, imgs),
                (JobEvent.__table__, events),
                (WebhookDelivery.__table__, deliveries),
                (WebhookAttempt.__table__, attempts),
            ):
                if batch:
                    await conn.execute(table.insert(), batch)
                    counts[table.name] = counts.get(table.name, 0) + len(batch)
    if c.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        async with c.engine.connect() as conn:  # what autovacuum does after a bulk load
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    counts["held_users"] = len(held)
    counts["_held"] = held  # type: ignore[assignment]
    return counts


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def remaining(c, held: set[str]) -> dict[str, int]:
    from sqlalchemy import func, select

    from imagedesigner.db.models import Generation, StoredImage

    out = {}
    async with c.engine.connect() as conn:
        g = Generation.__table__
        expired = g.c.expires_at.is_not(None) & (g.c.expires_at <= c.clock.now())
        q = select(func.count()).where(expired)
        out["expired_left"] = (await conn.execute(q)).scalar_one()
        out["expired_left_unheld"] = (
            await conn.execute(q.where(g.c.user_id.not_in(held)))
        ).scalar_one()
        out["saved_left"] = (
            await conn.execute(select(func.count()).where(g.c.saved_at.is_not(None)))
        ).scalar_one()
        out["images_left"] = (
            await conn.execute(select(func.count()).select_from(StoredImage.__table__))
        ).scalar_one()
    root = c.settings.resolved_blob_dir()
    out["blob_files_left"] = sum(
        1 for shard in root.iterdir() if shard.name != ".tmp" for _ in shard.iterdir()
    )
    return out


# --------------------------------------------------------------------------- measuring
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeakRSS(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self.halt = psutil.Process(), 0, threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def phase_row(name: str, samples: list) -> tuple[str, float]:
    lat = [s[1] * 1000 for s in samples]
    errors = sum(1 for s in samples if s[2] != 200)
    p99 = pct(lat, 0.99)
    return (
        f"{name:<10} {len(samples):>8} {errors:>6} {pct(lat, 0.5):>8.1f} {p99:>8.1f} "
        f"{max(lat, default=float('nan')):>8.1f}",
        p99,
    )


async def main(args) -> None:
    import uvicorn

    from imagedesigner.accounts import service as accounts
    from imagedesigner.app import create_app
    from imagedesigner.container import Container
    from imagedesigner.retention.scheduler import sweep_once_locked

    if args.database_url and args.database_url.startswith("postgresql"):
        if not args.reset:
            sys.exit("--database-url PostgreSQL: the database is emptied first; pass --reset")
        await reset_postgres(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        settings = offline_settings(Path(tmp) / "data", database_url=args.database_url)
        c = await Container.build(settings)
        t0 = time.perf_counter()
        built = await build(c, args.rows, args.users, args.blob_fraction)
        held = built.pop("_held")
        setup = time.perf_counter() - t0
        async with c.sessions() as s, s.begin():
            user = await accounts.create_user(
                s, c.clock.now(), email="bench@example.com", password=None, age_confirmed=True
            )
            token = (await accounts.create_key(s, c.clock.now(), user)).token
        port = free_port()
        app = create_app(container=c, run_sweeper=False)  # the sweep is started below
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, loop="none", http="httptools",
            access_log=False, log_level="warning", lifespan="on",
        )  # fmt: skip
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client", f"http://127.0.0.1:{port}", token,
            str(args.rate), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert (await proc.stdout.readline()).strip() == b"ready"
        await asyncio.sleep(args.warmup)
        base_start = time.time()
        await asyncio.sleep(args.baseline)
        rss = PeakRSS()
        rss_before = rss.proc.memory_info().rss
        rss.start()
        load_start = os.getloadavg()
        sweep_start = time.time()
        t0 = time.perf_counter()
        report = await sweep_once_locked(c)
        sweep_s = time.perf_counter() - t0
        sweep_end = time.time()
        rss.halt.set()
        load_end = os.getloadavg()
        await asyncio.sleep(args.baseline)  # a baseline after too: the machine's load drifts
        after_end = time.time()
        proc.stdin.close()
        out, _ = await proc.communicate()
        samples = json.loads(out.decode().strip().splitlines()[-1])
        left = await remaining(c, held)
        server.should_exit = True
        await serving
        await c.aclose()
    before = [s for s in samples if base_start <= s[0] < sweep_start]
    during = [s for s in samples if sweep_start <= s[0] < sweep_end]
    after = [s for s in samples if sweep_end <= s[0] < after_end]
    baseline = before + after
    backend = "PostgreSQL" if c.engine.dialect.name == "postgresql" else "SQLite"
    removed = report.get("expired_generations", 0)
    rows_removed = sum(v for k, v in report.items() if k.startswith("expired_"))
    mib = 1024 * 1024
    print(f"backend: {backend}; data set up in {setup:.0f} s: {json.dumps(built)}")
    print(f"sweep report: {json.dumps(report, sort_keys=True)}")
    print(f"load average (1, 5, 15 min) at sweep start {load_start}, at its end {load_end}")
    print()
    print(f"{'backend':<11} {'expired gens':>12} {'sweep s':>8} {'gens/s':>8} {'rows/s':>8} "
          f"{'blobs/s':>8} {'RSS +MiB':>8}")  # fmt: skip
    print(
        f"{backend:<11} {removed:>12} {sweep_s:>8.1f} {removed / sweep_s:>8.0f} "
        f"{rows_removed / sweep_s:>8.0f} {report.get('expired_blobs', 0) / sweep_s:>8.0f} "
        f"{(rss.peak - rss_before) / mib:>8.1f}"
    )
    print()
    print(f"requests at {args.rate:g}/s (GET /v1/me, GET /v1/generations, POST sketch 2:2:1)")
    print(f"{'phase':<10} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(phase_row("before", before)[0])
    print(phase_row("after", after)[0])
    line, p99_base = phase_row("baseline", baseline)
    print(line + "   (before + after)")
    line, p99_during = phase_row("sweep", during)
    print(line)
    for kind in ("me", "list", "generate"):
        b = [s for s in baseline if s[3] == kind]
        d = [s for s in during if s[3] == kind]
        print(
            f"  {kind:<8} p99 baseline {phase_row('', b)[1]:.1f} ms, sweep {phase_row('', d)[1]:.1f} ms"
        )
    ratio = p99_during / p99_base
    print(f"p99 during sweep / baseline: {ratio:.2f} (target <= 2.00)")
    ok = (
        left["expired_left_unheld"] == 0
        and left["expired_left"] == built["held_expired"]
        and left["saved_left"] >= built["saved"]
        and left["blob_files_left"] >= built["held_blobs"]
    )
    print(f"after: {json.dumps(left)}; held users' data kept, the rest gone: {ok}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        uvloop.run(client(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000, help="expired generations")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--blob-fraction", type=float, default=0.1)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    ap.add_argument("--reset", action="store_true", help="allow emptying the PostgreSQL database")
    ap.add_argument("--rate", type=float, default=40.0, help="requests per second")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument(
        "--baseline", type=float, default=30.0, help="seconds measured before and after the sweep"
    )
    uvloop.run(main(ap.parse_args()))
