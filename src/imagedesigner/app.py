"""``create_app(settings)``: the ASGI app. The lifespan builds the container (or takes one)."""

from __future__ import annotations

import contextlib

from fastapi import FastAPI

from imagedesigner import __version__
from imagedesigner.accounts import keys_api
from imagedesigner.accounts import sessions as web_sessions
from imagedesigner.accounts import web as auth_web
from imagedesigner.api import edits as _edits  # noqa: F401  (registers /v1/images/edits)
from imagedesigner.api import errors as api_errors
from imagedesigner.api import generations, health, images, models
from imagedesigner.api.limits import BodyLimit
from imagedesigner.api.ratelimit import Limiter
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.privacy import logging as log_hygiene
from imagedesigner.privacy import policy as privacy_policy
from imagedesigner.privacy import routes as privacy_routes
from imagedesigner.privacy.requestlog import RequestLogMiddleware
from imagedesigner.retention import scheduler
from imagedesigner.web import pages


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
    app.state.authenticators = [web_sessions.authenticator]  # after the Bearer key
    app.state.limiter = Limiter(
        settings.storage_uri, settings.rate_limit, settings.login_rate_limit
    )
    if container is not None:
        app.state.container = container
    api_errors.install(app)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(images.router)
    app.include_router(generations.router)
    app.include_router(privacy_routes.router)
    app.include_router(auth_web.router)
    app.include_router(keys_api.router)
    app.include_router(privacy_policy.router)
    app.include_router(pages.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestLogMiddleware)  # outermost: sees 413s too
    return app
