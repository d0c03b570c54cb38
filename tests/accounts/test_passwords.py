"""argon2 off the event loop: the async functions run in a small bounded pool, the loop keeps
ticking meanwhile, a missing account still costs one verify, and the parameters are set by
``configure()`` (the suite runs with the cheapest; see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from imagedesigner.accounts import passwords


class RecordingHasher:
    """Stands in for argon2's PasswordHasher: records where and how often it runs, can be
    slow (``delay``) or hold every call until ``release`` is set."""

    def __init__(self, delay: float = 0.0, hold: bool = False) -> None:
        self.delay = delay
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.lock = threading.Lock()
        self.threads: list[tuple[int, str]] = []
        self.verified: list[tuple[str, str]] = []
        self.active = 0
        self.peak = 0

    def _run(self) -> None:
        with self.lock:
            self.threads.append((threading.get_ident(), threading.current_thread().name))
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)  # sleeps like argon2 computes: without the GIL
            assert self.release.wait(timeout=10), "never released"
        finally:
            with self.lock:
                self.active -= 1

    def hash(self, password: str) -> str:
        self._run()
        return f"fake${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self._run()
        self.verified.append((password_hash, password))
        return password_hash == f"fake${password}"


@pytest.fixture
def hasher(monkeypatch):
    def install(**kw) -> RecordingHasher:
        fake = RecordingHasher(**kw)
        monkeypatch.setattr(passwords, "_hasher", fake)
        return fake

    return install


async def test_async_functions_hash_and_verify_with_argon2():
    h = await passwords.hash_password_async("correct horse battery")
    assert h.startswith("$argon2id$")
    assert await passwords.verify_password_async(h, "correct horse battery") is True
    assert await passwords.verify_password_async(h, "wrong horse battery") is False
    assert await passwords.verify_password_async("not a hash", "x") is False
    assert passwords.verify_password(h, "correct horse battery"), "sync kept for the CLI"


async def test_async_functions_run_off_the_event_loop_in_the_argon2_pool(hasher):
    fake = hasher()
    loop_thread = threading.get_ident()
    assert await passwords.hash_password_async("pw") == "fake$pw"
    assert await passwords.verify_password_async("fake$pw", "pw") is True
    assert len(fake.threads) == 2
    for ident, name in fake.threads:
        assert ident != loop_thread
        assert name.startswith("argon2")


async def test_event_loop_keeps_ticking_while_a_slow_hash_runs(hasher):
    hasher(delay=0.3)

    async def ticks_during(work) -> int:
        ticks = 0
        task = asyncio.ensure_future(work())
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await task
        return ticks

    async def blocking():  # control: the sync function called on the loop
        passwords.hash_password("pw")

    assert await ticks_during(blocking) <= 1, "the control blocks the loop"
    assert await ticks_during(lambda: passwords.hash_password_async("pw")) >= 10
    assert await ticks_during(lambda: passwords.verify_password_async(None, "pw")) >= 10


async def test_the_pool_is_bounded(hasher):
    fake = hasher(hold=True)
    assert 1 <= passwords.MAX_WORKERS <= 4
    burst = [
        asyncio.ensure_future(passwords.verify_password_async(None, f"guess {i}"))
        for i in range(3 * passwords.MAX_WORKERS)
    ]
    try:
        for _ in range(500):
            if fake.active >= passwords.MAX_WORKERS:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # give any extra thread the time to start
        assert fake.active == passwords.MAX_WORKERS, "the rest wait in the queue"
    finally:
        fake.release.set()
    assert await asyncio.gather(*burst) == [False] * len(burst)
    assert fake.peak == passwords.MAX_WORKERS
    assert len({ident for ident, _ in fake.threads}) <= passwords.MAX_WORKERS


async def test_a_missing_account_costs_one_verify_against_the_dummy(hasher):
    fake = hasher()
    # even the dummy's own password does not sign in to a missing account
    assert await passwords.verify_password_async(None, "not-a-real-password") is False
    assert passwords.verify_password(None, "x") is False
    assert fake.verified == [
        (passwords._dummy, "not-a-real-password"),
        (passwords._dummy, "x"),
    ]


def test_configure_sets_the_parameters_of_new_hashes_and_the_dummy(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", passwords._hasher)  # restored afterwards
    monkeypatch.setattr(passwords, "_dummy", passwords._dummy)
    before = passwords.hash_password("old parameters")
    passwords.configure(time_cost=2, memory_cost=16, parallelism=2)
    assert "$m=16,t=2,p=2$" in passwords.hash_password("pw")
    assert "$m=16,t=2,p=2$" in passwords._dummy, "the dummy costs what a real hash costs"
    assert passwords.verify_password(before, "old parameters"), "old hashes still verify"
    passwords.configure()  # the defaults: argon2-cffi's RFC 9106 low-memory profile
    assert "$m=65536,t=3,p=4$" in passwords.hash_password("pw")
