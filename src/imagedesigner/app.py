"""``create_app(settings)``: the ASGI app, and the one place where routers are composed. The
lifespan builds the container (or takes one)."""

from __future__ import annotations

import contextlib

from fastapi import FastAPI

from imagedesigner import __version__
from imagedesigner.api import (
    admin,
    auth,
    edits,
    gallery,
    generations,
    health,
    images,
    keys,
    me,
    models,
    policy,
    support,
    webhooks,
    websession,
)
from imagedesigner.api import errors as api_errors
from imagedesigner.api.middleware import BodyLimit, RequestLogMiddleware
from imagedesigner.api.ratelimit import Limiter
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.infra import logging as log_hygiene
from imagedesigner.retention import scheduler
from imagedesigner.web import pages
from imagedesigner.web import policy as policy_pages

ROUTERS = [
    health.router,
    models.router,
    images.router,
    edits.router,
    generations.router,
    gallery.router,
    me.router,
    support.router,
    admin.router,
    auth.router,
    keys.router,
    webhooks.router,
    policy.router,
    policy_pages.router,
    pages.router,
]


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    run_sweeper: bool = True,
) -> FastAPI:
    settings = container.settings if container else (settings or Settings())
    log_hygiene.install()  # no prompts, keys or passwords in any log; no access log

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        c = container or await Container.build(settings)
        app.state.container = c
        await c.start()
        async with contextlib.AsyncExitStack() as stack:
            if run_sweeper:
                await stack.enter_async_context(scheduler.running(c))
            yield
        if container is None:
            await c.aclose()

    app = FastAPI(
        title="ImageDesigner",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.authenticators = [websession.authenticator]  # after the Bearer key
    app.state.limiter = Limiter(
        settings.storage_uri, settings.rate_limit, settings.login_rate_limit
    )
    if container is not None:
        app.state.container = container
    api_errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestLogMiddleware)  # outermost: sees 413s too
    return app
