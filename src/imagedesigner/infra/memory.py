"""The serving process's memory: the garbage collector's young-generation threshold, and freed
heap memory handed back to the system.

* :func:`gc_thresholds`. CPython collects its youngest generation every 700 net allocations of
  tracked objects, and the middle one every 10 of those. A request in flight holds a few hundred
  objects (its scope, tasks, futures, models, rows) for as long as it runs, so at 700 nearly all
  of them survive a young collection, are promoted, and soon trigger full collections of the
  whole heap: with 1,000 requests in flight that was about 40 % of the gateway's CPU (a full
  collection every 0.4 s, 0.2 s each), at 64 about a fifth. At 10,000 most of a request's objects
  are gone before a collection looks at them. The middle generation then held mostly requests
  still in flight (0.1 s per collection at 1,000 in flight): every 100 young collections instead
  of 10 took another 14 % off that scenario's CPU. Peak memory measured the same
  (``docs/benchmarks.md``).
* :func:`trimming`. glibc keeps memory that was freed in the middle of its heaps: after
  megabyte-sized images have passed through, 40 MiB or more stays resident that nothing uses.
  ``malloc_trim(0)`` every few seconds gives it back: about 1 ms, in a thread so the event
  loop keeps running Python (an allocation that needs the arena being trimmed waits for it).
  Elsewhere than glibc there is nothing to call and nothing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from imagedesigner.config import Settings

log = logging.getLogger("imagedesigner.memory")


@contextlib.contextmanager
def gc_thresholds(young: int, middle: int = 0) -> Iterator[None]:
    """While inside, the young generation is collected every ``young`` net allocations and the
    middle one every ``middle`` young collections (0: that one is left as it is); the previous
    thresholds are back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(young or before[0], middle or before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def glibc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


@contextlib.asynccontextmanager
async def trimming(
    interval: float,
    trim: Callable[[], object] | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """While inside, ``trim`` (default: glibc's) every ``interval`` seconds, in a thread so the
    event loop does not wait for it. ``interval`` 0, or no ``trim`` to call: nothing runs."""
    trim = trim or (glibc_trim() if interval > 0 else None)
    if interval <= 0 or trim is None:
        yield
        return

    async def loop() -> None:
        while True:
            await sleep(interval)
            try:
                await asyncio.to_thread(trim)
            except Exception as exc:  # noqa: BLE001 - memory hygiene never stops serving
                log.warning("malloc_trim failed: %s", type(exc).__name__)

    task = asyncio.create_task(loop(), name="imagedesigner-malloc-trim")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[None]:
    """Both, as the settings say, for a process that serves (the app's lifespan, a worker)."""
    with gc_thresholds(settings.gc_young_threshold, settings.gc_middle_threshold):
        async with trimming(settings.memory_trim_interval.total_seconds()):
            yield
