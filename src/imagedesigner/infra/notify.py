"""Wake-ups for followers of a job: "job X has something new", nothing more (no content ever
goes through here; followers read the events from the database).

``LocalNotifier`` serves one process. ``RedisNotifier`` adds Redis pub/sub so a job running on
one instance wakes its followers on every other instance; a follower also re-reads on a short
timeout, so a lost message only delays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

log = logging.getLogger("imagedesigner.notify")
CHANNEL = "imagedesigner:jobs"


class LocalNotifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def publish(self, job_id: str) -> None:
        self.wake(job_id)

    def wake(self, job_id: str) -> None:
        for event in list(self._waiters.get(job_id, ())):
            event.set()

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the job has news; the subscriber clears it after reading."""
        event = asyncio.Event()
        self._waiters[job_id].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[job_id]

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisNotifier(LocalNotifier):
    """Local wake-ups plus one Redis channel shared by every instance."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis  # only when configured

        self._redis = redis.from_url(url)
        self._listener: asyncio.Task | None = None

    async def publish(self, job_id: str) -> None:
        self.wake(job_id)
        try:
            await self._redis.publish(CHANNEL, job_id)
        except Exception as exc:  # noqa: BLE001 - followers fall back to re-reading
            log.warning("job notification not published: %s", type(exc).__name__)

    async def start(self) -> None:
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready), name="imagedesigner-notify")
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message.get("data")
                            self.wake(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect; followers re-read meanwhile
                ready.set()
                log.warning("job notifications interrupted: %s", type(exc).__name__)
                await asyncio.sleep(1)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


def shared_across_processes(storage_uri: str) -> bool:
    """Whether ``storage_uri`` reaches other processes: Redis, for both the notifier and the
    rate limits (``memory://`` serves one process only)."""
    return storage_uri.startswith(("redis://", "rediss://"))


def notifier_for(storage_uri: str) -> LocalNotifier:
    if shared_across_processes(storage_uri):
        return RedisNotifier(storage_uri)
    return LocalNotifier()
