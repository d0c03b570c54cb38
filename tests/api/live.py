"""The real app over real HTTP: uvicorn on 127.0.0.1:<free port> in a background thread, its
container built by the app's own lifespan (so inside the server's event loop), and an account
with an API key made beforehand in the same database. For what in-process ASGI clients cannot
show: aborted connections, the socket's own address, a whole schemathesis run."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from imagedesigner.app import create_app
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.providers.registry import ProviderRegistry
from tests.conftest import make_user, run_in_thread


def account(settings: Settings, email: str = "ada@example.com", role: str = "user"):
    """(user, API key) in the database the server will use; made on a loop of its own."""

    async def make():
        registry = ProviderRegistry.from_settings(settings, only=["local"])
        c = await Container.build(settings, registry=registry)
        try:
            return await make_user(c, email, role)
        finally:
            await c.aclose()

    return run_in_thread(make())


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings, run_sweeper=False)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        # log_config=None: leave the process's logging alone (uvicorn's default config would
        # stop its loggers propagating, hiding them from later tests' caplog)
        config = uvicorn.Config(
            self.app, log_config=None, lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: self.server.run(sockets=[self._sock]), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self._sock.close()
