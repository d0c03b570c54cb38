"""The HTTP client webhooks are sent with: no redirects, no proxies or credentials from the
environment, short timeouts, and a connect step that resolves the host itself and refuses any
address :func:`urls.address_allowed` refuses, then connects to the checked address (TLS still
verifies the host name). Checking at connect time closes the gap between validating a name and
using it (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from imagedesigner import __version__
from imagedesigner.config import Settings
from imagedesigner.kit.httpclient import CookielessClient
from imagedesigner.webhooks.urls import address_allowed

Resolver = Callable[[str, int], Awaitable[list[str]]]
USER_AGENT = f"ImageDesigner-Webhooks/{__version__}"


class BlockedAddress(Exception):
    """The host resolved to an address webhooks may not reach."""


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, allow_loopback: bool, resolve: Resolver | None = None) -> None:
        self.allow_loopback = allow_loopback
        self._resolve = resolve or system_resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await asyncio.wait_for(self._resolve(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout("name resolution timed out") from None
        except OSError:
            raise httpcore.ConnectError("name resolution failed") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses or not all(
            address_allowed(a, allow_loopback=self.allow_loopback) for a in addresses
        ):
            raise BlockedAddress
        return await self._inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):  # noqa: ASYNC109
        raise BlockedAddress

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on :class:`GuardedBackend` (httpx
    takes no network backend argument, so the pool it made is replaced before first use)."""

    def __init__(self, backend: GuardedBackend, *, max_connections: int = 64) -> None:
        super().__init__(trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE / _DIR honoured
            max_connections=max_connections,
            max_keepalive_connections=16,
            keepalive_expiry=5.0,
            retries=0,
            network_backend=backend,
        )


def make_client(settings: Settings, *, resolve: Resolver | None = None) -> httpx.AsyncClient:
    seconds = settings.webhook_timeout.total_seconds()
    backend = GuardedBackend(allow_loopback=settings.webhook_allow_loopback, resolve=resolve)
    return CookielessClient(  # no receiver's cookie comes back on another user's delivery
        transport=GuardedTransport(backend),
        timeout=httpx.Timeout(seconds, connect=min(5.0, seconds)),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
