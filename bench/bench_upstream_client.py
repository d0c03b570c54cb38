"""The provider HTTP path's client cost: httpx's own transport (httpcore's pool) against the aiohttp
transport under the same httpx API.

N requests in flight at once, a few thousand in all, through ``_http.send`` on a client from
``_http.make_client`` (what every adapter sends through: streamed, capped body, error mapping) to a
fast upstream answering ``POST /v1/images/generations``. Each configuration runs in a fresh child
process (after a warm-up round that opens the connections); it prints requests per second and the
client process's CPU time per request (user + system, all threads). On a shared machine the CPU
per request is the figure to compare; pin the client and the upstream to different cores.

The upstream: the gateway harness's mock (``mock_upstream.py``, which also takes
``POST /__mock/config?image_bytes=N``, used here to switch the body size between rounds):

    taskset -c 1 python mock_upstream.py --port 9700 --image-bytes 2048 &
    taskset -c 0 python bench/bench_upstream_client.py --url http://127.0.0.1:9700 \\
        --inflight 64,1000 --image-bytes 2048,1100000

``--image-bytes 1100000`` makes a ~1.5 MB JSON body (the PNG in base64).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time

import httpx

from imagedesigner.providers import _http, _status

PATH = "/v1/images/generations"
BODY = {"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "n": 1, "size": "1024x1024"}


def no_info(status: int, body: bytes) -> _status.ErrorInfo:
    return _status.ErrorInfo()


def httpx_transport(size: int) -> httpx.AsyncBaseTransport:
    """What make_client built before: httpx's default transport with its limits."""
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=min(size, 100))
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def one_run(url: str, transport: str, inflight: int, total: int) -> dict:
    size = _http.DEFAULT_MAX_CONNECTIONS
    client = _http.make_client(
        timeout=60.0, transport=httpx_transport(size) if transport == "httpx" else None
    )
    headers = {"Authorization": "Bearer sk-bench"}
    sizes: list[int] = []

    async def worker(n: int) -> None:
        for _ in range(n):
            reply = await _http.send(
                client,
                "POST",
                url + PATH,
                label="upstream",
                limit=64 * 1024 * 1024,
                parse_error=no_info,
                json=BODY,
                headers=headers,
            )
            sizes.append(len(reply.body))

    async def round_of(n: int) -> None:
        per, extra = divmod(n, inflight)
        await asyncio.gather(*(worker(per + (i < extra)) for i in range(inflight)))

    try:
        await round_of(inflight)  # warm-up: the connections opened
        sizes.clear()
        c0, t0 = cpu(), time.perf_counter()
        await round_of(total)
        wall, used = time.perf_counter() - t0, cpu() - c0
    finally:
        await client.aclose()
    assert len(sizes) == total
    return {"rps": total / wall, "cpu_ms": 1000 * used / total, "body": sizes[0], "wall": wall}


def child(args: argparse.Namespace) -> None:
    import uvloop  # the gateway's loop

    result = uvloop.run(one_run(args.url, args.transport, args.inflight_one, args.total))
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:9700")
    ap.add_argument("--inflight", default="64,1000", help="requests in flight, comma-separated")
    ap.add_argument("--image-bytes", default="2048,1100000", help="PNG sizes, comma-separated")
    ap.add_argument("--total", type=int, default=4000, help="requests per run (small bodies)")
    ap.add_argument("--total-large", type=int, default=1500, help="requests per run (> 64 kB)")
    ap.add_argument("--transports", default="httpx,aiohttp")
    ap.add_argument("--transport", help=argparse.SUPPRESS)
    ap.add_argument("--inflight-one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.transport:
        return child(args)

    print(f"{'body':>10} {'in flight':>9} {'transport':>9} {'req/s':>8} {'CPU ms/req':>10}")
    for image_bytes in (int(x) for x in args.image_bytes.split(",")):
        r = httpx.post(f"{args.url}/__mock/config", params={"image_bytes": image_bytes})
        r.raise_for_status()
        total = args.total if image_bytes <= 65536 else args.total_large
        for inflight in (int(x) for x in args.inflight.split(",")):
            rows = {}
            for transport in args.transports.split(","):
                cmd = [sys.executable, __file__, "--url", args.url, "--transport", transport]
                cmd += ["--inflight-one", str(inflight), "--total", str(total)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                res = rows[transport] = json.loads(out.strip().splitlines()[-1])
                print(
                    f"{res['body']:>10} {inflight:>9} {transport:>9} "
                    f"{res['rps']:>8.0f} {res['cpu_ms']:>10.3f}",
                    flush=True,
                )
            if "httpx" in rows and "aiohttp" in rows:
                ratio = rows["httpx"]["cpu_ms"] / rows["aiohttp"]["cpu_ms"]
                print(f"{'':>10} {'':>9} {'':>9} CPU per request, httpx / aiohttp: {ratio:.2f}x")


if __name__ == "__main__":
    main()
