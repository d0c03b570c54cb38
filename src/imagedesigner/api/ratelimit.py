"""Rate limits with the `limits` library: in-process memory by default, Redis when
``IMAGEDESIGNER_STORAGE_URI=redis://...`` so several instances share one budget."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from imagedesigner import errors


def _async_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else f"async+{uri}"


class Limiter:
    def __init__(
        self, storage_uri: str, user_limit: str, login_limit: str, web_limit: str = ""
    ) -> None:
        options = {"implementation": "redispy"} if "redis" in storage_uri.split(":", 1)[0] else {}
        self.storage = storage_from_string(_async_uri(storage_uri), **options)
        # a sliding window of two counters per key: O(1) memory and work per hit (a moving
        # window keeps and bisects every hit of the last period)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.user_item: RateLimitItem | None = parse(user_limit) if user_limit else None
        self.login_item: RateLimitItem | None = parse(login_limit) if login_limit else None
        self.web_item: RateLimitItem | None = parse(web_limit) if web_limit else None

    async def _hit(self, item: RateLimitItem | None, *keys: str, what: str) -> None:
        if item is None:
            return
        if not await self.strategy.hit(item, *keys):
            stats = await self.strategy.get_window_stats(item, *keys)
            retry = max(1.0, stats.reset_time - time.time())
            raise errors.RateLimited(
                f"Too many {what}: limit is {item}. Try again in {int(retry + 0.999)} s.",
                retry_after=retry,
            )

    async def hit_user(self, user_id: str, *, browser: bool = False) -> None:
        """API calls (a key) count against the account's API budget; its own signed-in
        browser has a budget of its own, so neither starves the other."""
        if browser:
            await self._hit(self.web_item, "web", user_id, what="requests from this browser")
        else:
            await self._hit(self.user_item, "user", user_id, what="requests")

    async def hit_login(self, *keys: str) -> None:
        """Login attempts, throttled per account and per IP (callers pass both keys)."""
        for key in keys:
            await self._hit(self.login_item, "login", key, what="sign-in attempts")

    async def reset(self) -> None:
        await self.storage.reset()
