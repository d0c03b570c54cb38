"""``create_app(settings)``: the ASGI app, and the one place where routers and middleware are
composed. The lifespan builds the container (or takes one)."""

from __future__ import annotations

import contextlib

from fastapi import Depends, FastAPI

from imagedesigner import __version__
from imagedesigner.api import (
    admin,
    auth,
    edits,
    gallery,
    generations,
    health,
    images,
    jobs,
    keys,
    me,
    models,
    policy,
    staff,
    support,
    webhooks,
    websession,
)
from imagedesigner.api import errors as api_errors
from imagedesigner.api import metrics as api_metrics
from imagedesigner.api import openapi as api_openapi
from imagedesigner.api.deps import RequestSession, storable_parameters
from imagedesigner.api.middleware import BodyLimit, Hsts, RequestId, RequestLogMiddleware
from imagedesigner.api.ratelimit import Limiter
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.infra import logging as log_hygiene
from imagedesigner.infra import memory
from imagedesigner.retention import scheduler
from imagedesigner.web import assets, docs, pages, staff_pages
from imagedesigner.web import policy as policy_pages

ROUTERS = [
    health.router,
    models.router,
    images.router,
    edits.router,
    generations.router,
    jobs.router,
    gallery.router,
    me.router,
    support.router,
    admin.router,
    staff.router,
    auth.router,
    keys.router,
    webhooks.router,
    policy.router,
    policy_pages.router,
    pages.router,
    staff_pages.router,
    api_metrics.router,
    assets.router,
]
DESCRIPTION = (
    "OpenAI-compatible image generation. Authenticate with `Authorization: Bearer <API key>`. "
    'Every error is OpenAI\'s envelope `{"error": {"message", "type", "param", '
    '"code"}}` (schema `ErrorResponse`); invalid requests, malformed JSON included, are 400s.'
)


class ImageDesigner(FastAPI):
    """FastAPI with HSTS and ``x-request-id`` outside everything, Starlette's error middleware
    included, so a 500 carries them too."""

    trusted_proxies: tuple[str, ...] = ()

    def build_middleware_stack(self):
        inner = RequestId(super().build_middleware_stack())
        return Hsts(inner, trusted_proxies=self.trusted_proxies)


OPTIONAL_ROUTERS = [("api_docs", docs.router)]  # (setting that turns it on, router)


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
            await stack.enter_async_context(memory.serving(settings))
            app.state.metrics_port = await stack.enter_async_context(api_metrics.serving(c))
            if run_sweeper:
                await stack.enter_async_context(scheduler.running(c))
            yield
        if container is None:
            await c.aclose()

    app = ImageDesigner(
        title="ImageDesigner",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(storable_parameters)],  # no NUL or lone surrogate in ids
        docs_url=None,  # FastAPI's Swagger UI loads a CDN's script: see web/docs.py
        redoc_url=None,
        # FastAPI's native OpenTelemetry is off: spans and HTTP metrics would carry paths and
        # addresses to whatever exporter the environment configures (our metrics are
        # /metrics, label-checked), and its per-request provider look-ups cost ~1 % CPU
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.trusted_proxies = tuple(settings.trusted_proxies)
    app.state.authenticators = [websession.authenticator]  # after the Bearer key
    app.state.limiter = Limiter(
        settings.storage_uri,
        settings.rate_limit,
        settings.login_rate_limit,
        settings.web_rate_limit,
    )
    if container is not None:
        app.state.container = container
    api_errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    for setting, router in OPTIONAL_ROUTERS:
        if getattr(settings, setting):
            app.include_router(router)
    api_openapi.install(app, settings)
    app.add_middleware(RequestSession)  # innermost: ends the request's session (api/deps.py)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestLogMiddleware)  # sees 413s too
    app.add_middleware(api_metrics.MetricsMiddleware)  # outermost: times all of it
    return app
