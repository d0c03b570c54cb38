"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile).

One hash or check costs ~150 ms of CPU and 64 MiB. Request handlers should use the ``*_async``
functions: they run argon2 in a small dedicated thread pool (argon2-cffi releases the GIL), so
the event loop keeps serving while passwords are checked, and a burst of logins queues for at
most ``MAX_WORKERS`` threads (and ``MAX_WORKERS`` x 64 MiB) instead of taking every core. The
sync functions are for the CLI.

``configure()`` replaces the parameters (the tests use cheap ones). Hashes made with other
parameters still verify: argon2 reads the parameters from the hash itself.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_TIME_COST, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# at most this many hashes at once; more wait in the pool's queue, off the event loop
MAX_WORKERS = min(4, os.cpu_count() or 1)
_pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="argon2")

_hasher: PasswordHasher
# a hash to verify against when the account does not exist, so timing does not tell; made with
# the same parameters as new hashes
_dummy: str


def configure(
    *,
    time_cost: int = DEFAULT_TIME_COST,
    memory_cost: int = DEFAULT_MEMORY_COST,
    parallelism: int = DEFAULT_PARALLELISM,
) -> None:
    """Use these argon2 parameters for new hashes and the dummy. No arguments: the defaults."""
    global _hasher, _dummy
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy = hasher.hash("not-a-real-password")
    _hasher = hasher


configure()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """``hash_password`` in the argon2 pool: the event loop is not blocked."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in the argon2 pool (a missing account still costs one verify)."""
    return await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, password_hash, password
    )
