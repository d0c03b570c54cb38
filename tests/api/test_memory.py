"""The served app's memory settings (infra/memory.py): the young generation is collected every
IMAGEDESIGNER_GC_YOUNG_THRESHOLD net allocations (Python's 700 made full collections of the heap
take about 40 % of the CPU with 1,000 requests in flight: docs/benchmarks.md) and the middle one
every IMAGEDESIGNER_GC_MIDDLE_THRESHOLD young collections, with the process's own setting given
back; freed heap memory is handed back every IMAGEDESIGNER_MEMORY_TRIM_INTERVAL, and up to
IMAGEDESIGNER_MEMORY_HEAP_KEEP bytes of it are kept for reuse in between (glibc handing back
every large block at once made each megabyte body a page fault per 4 KiB)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from imagedesigner.app import create_app
from imagedesigner.config import Settings
from imagedesigner.infra import memory
from imagedesigner.infra.memory import gc_thresholds


def test_the_thresholds_hold_inside_and_are_restored_after():
    before = gc.get_threshold()
    with gc_thresholds(12_345, 77):
        assert gc.get_threshold() == (12_345, 77, before[2])
    assert gc.get_threshold() == before


def test_zero_keeps_pythons_own_setting():
    before = gc.get_threshold()
    with gc_thresholds(0, 0):
        assert gc.get_threshold() == before
    with gc_thresholds(5_000):
        assert gc.get_threshold() == (5_000, *before[1:])


def test_restored_when_the_body_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_thresholds(9_999, 99):
        raise RuntimeError
    assert gc.get_threshold() == before


async def test_the_served_app_uses_the_setting_for_its_lifetime(settings, monkeypatch):
    before = gc.get_threshold()
    trims = []
    real = memory.trimming
    monkeypatch.setattr(memory, "trimming", lambda interval: _recorded(real, trims, interval))
    kept = []
    monkeypatch.setattr(memory, "heap_keeping", kept.append)
    app = create_app(settings, run_sweeper=False)
    async with app.router.lifespan_context(app):
        assert kept == [64 * 2**20]  # IMAGEDESIGNER_MEMORY_HEAP_KEEP's default
        assert gc.get_threshold()[:2] == (10_000, 100)
        assert (settings.gc_young_threshold, settings.gc_middle_threshold) == (10_000, 100)
        assert trims == [5.0]  # IMAGEDESIGNER_MEMORY_TRIM_INTERVAL's default
    assert gc.get_threshold() == before


def _recorded(real, calls: list, interval: float):
    calls.append(interval)
    return real(0)


class Ticks:
    """A sleep that returns at once and counts, so the loop's rounds are driven, not waited."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


async def _until(condition, rounds: int = 1000) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


async def test_trimming_calls_trim_every_interval_and_stops_on_exit():
    calls, ticks = [], Ticks()
    async with memory.trimming(5.0, lambda: calls.append(1), sleep=ticks):
        await _until(lambda: len(calls) >= 3)
    done = len(calls)
    await asyncio.sleep(0.01)
    assert len(calls) == done  # nothing after the block
    assert set(ticks.slept) == {5.0}


async def test_a_failing_trim_is_logged_and_trimming_goes_on(caplog):
    calls, ticks = [], Ticks()

    def trim():
        calls.append(1)
        raise OSError("no")

    async with memory.trimming(1.0, trim, sleep=ticks):
        await _until(lambda: len(calls) >= 2)
    assert "malloc_trim failed: OSError" in caplog.text


async def test_interval_zero_runs_nothing():
    calls, ticks = [], Ticks()
    async with memory.trimming(0, lambda: calls.append(1), sleep=ticks):
        await asyncio.sleep(0.01)
    assert calls == [] and ticks.slept == []


def test_glibc_trim_is_callable_here():
    trim = memory.glibc_trim()  # this machine runs glibc
    assert trim is not None
    assert trim() in (0, 1)


def test_the_setting_comes_from_the_environment_and_refuses_a_negative(monkeypatch, tmp_path):
    monkeypatch.setenv("IMAGEDESIGNER_GC_YOUNG_THRESHOLD", "25000")
    monkeypatch.setenv("IMAGEDESIGNER_GC_MIDDLE_THRESHOLD", "20")
    read = Settings(data_dir=tmp_path)
    assert (read.gc_young_threshold, read.gc_middle_threshold) == (25_000, 20)
    monkeypatch.setenv("IMAGEDESIGNER_MEMORY_TRIM_INTERVAL", "0s")
    assert Settings(data_dir=tmp_path).memory_trim_interval == timedelta(0)
    monkeypatch.setenv("IMAGEDESIGNER_MEMORY_HEAP_KEEP", "0")
    assert Settings(data_dir=tmp_path).memory_heap_keep == 0
    monkeypatch.setenv("IMAGEDESIGNER_GC_YOUNG_THRESHOLD", "-1")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path)


def test_heap_keeping_sets_the_trim_and_mmap_thresholds():
    calls = []
    assert memory.heap_keeping(64 * 2**20, lambda option, value: calls.append((option, value)) or 1)
    assert calls == [(-3, memory.MAPPED_FROM), (-1, 64 * 2**20)]  # M_MMAP_, M_TRIM_THRESHOLD
    calls.clear()
    assert memory.heap_keeping(2**20, lambda option, value: calls.append((option, value)) or 1)
    assert calls == [(-3, 2**20), (-1, 2**20)]  # never mapped from above what is kept


def test_heap_keeping_zero_changes_nothing_and_a_refusal_is_logged(caplog):
    calls = []
    assert not memory.heap_keeping(0, lambda option, value: calls.append(option) or 1)
    assert calls == []
    assert not memory.heap_keeping(2**20, lambda option, value: 0)
    assert "mallopt refused the heap settings" in caplog.text


_FAULTS = """
import os, resource, sys
from imagedesigner.infra import memory
if sys.argv[1] == "keep":
    assert memory.heap_keeping(64 * 2**20)
body = os.urandom(1_500_000)
for _ in range(3):
    bytes(bytearray(body))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    bytes(bytearray(body))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_50_copies(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, check=True)
    return int(out.stdout)


def test_with_the_heap_kept_a_megabyte_copy_reuses_memory_instead_of_faulting_it_in():
    assert memory.glibc_mallopt() is not None  # this machine runs glibc
    # glibc's own settings: each 1.5 MB block is mapped and unmapped, about 370 faults per copy
    assert _faults_of_50_copies("default") > 50 * 100
    assert _faults_of_50_copies("keep") < 50
