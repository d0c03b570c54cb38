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
* :func:`heap_keeping`. Between trims, glibc would hand memory back on its own whenever more
  than its trim threshold lies free at the top of the heap, and maps every allocation above its
  mmap threshold on its own and unmaps it when freed; both start at 128 KiB and adapt only up
  to the size of the last large block freed. A 1.5 MB image answer then lands in memory that
  was just given back: every 4 KiB page of it is a page fault, and a copy of 1.5 MB took 2.5 ms
  instead of 0.12 (``bench/bench_heap.py``). Kept for the trim instead: up to ``keep`` bytes
  stay free at the top, and blocks under ``MAPPED_FROM`` come from the heap.
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


MAPPED_FROM = 8 * 2**20  # blocks from 8 MiB are mapped on their own and unmapped when freed
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library has none."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def heap_keeping(keep: int, mallopt: Callable[[int, int], int] | None = None) -> bool:
    """Up to ``keep`` bytes of freed memory stay at the top of the heap for reuse (handed back
    by the trim, not by each free), and blocks under ``MAPPED_FROM`` come from the heap. For
    the rest of the process: glibc has no way to read its settings back. ``keep`` 0, or no
    glibc: nothing is changed. True when both were set."""
    mallopt = mallopt or (glibc_mallopt() if keep > 0 else None)
    if keep <= 0 or mallopt is None:
        return False
    mapped = mallopt(_M_MMAP_THRESHOLD, min(MAPPED_FROM, keep))
    trimmed = mallopt(_M_TRIM_THRESHOLD, keep)
    if not (mapped and trimmed):
        log.warning("mallopt refused the heap settings")
        return False
    return True


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
    """All three, as the settings say, for a process that serves (the app's lifespan, a
    worker)."""
    heap_keeping(settings.memory_heap_keep)
    with gc_thresholds(settings.gc_young_threshold, settings.gc_middle_threshold):
        async with trimming(settings.memory_trim_interval.total_seconds()):
            yield
