"""The FastAPI application factory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drtranscribe import __version__
from drtranscribe.api import health, sessions, stream, web
from drtranscribe.api.tracing import TraceContextMiddleware
from drtranscribe.config import Settings
from drtranscribe.errors import ConfigError, StorageError
from drtranscribe.logging import configure_logging
from drtranscribe.loop_watch import freeze_startup_objects, watching_the_loop
from drtranscribe.runtime import services_for

log = structlog.get_logger(__name__)


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (RFC 9110 §15.5.6: Allow lists all)."""
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        probe = {**scope, "type": "http", "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


class _KeyAwareCORS(CORSMiddleware):
    """CORS for the service-wide allowlist and every API key's own ``origins``, as they
    are now (keys are reloaded while the service runs). The request that follows a
    preflight is checked against its own key's origins (``api/sessions.py``)."""

    def __init__(self, app: ASGIApp, listed: Callable[[str], bool]) -> None:
        super().__init__(
            app,
            allow_origins=(),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
        self._listed = listed

    def is_allowed_origin(self, origin: str) -> bool:
        return self._listed(origin)


class _QuietStartupFailure:
    """Lifespan only: a startup failure already logged as ``startup.failed`` is not logged
    again as Starlette's traceback (uvicorn prints whatever message the failure carries)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state

        async def send_quietly(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and state.startup_failed:
                message = {**message, "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, send_quietly)
        except ConfigError:
            if not state.startup_failed:
                raise


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, log_phi=settings.log_phi)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                services = await stack.enter_async_context(services_for(settings))
            except ConfigError as exc:
                # An expected failure (a missing secret, a bad chain): one line that says
                # what is wrong and what fixes it, then exit status 3 (cli.py).
                log.error("startup.failed", message=f"cannot start: {exc}")
                app.state.startup_failed = True
                raise
            app.state.services = services
            await stack.enter_async_context(watching_the_loop(services.metrics))
            if settings.gc_freeze:
                freeze_startup_objects()
            log.info(
                "service.ready",
                stt_chain=services.stt.names,
                extraction_chain=services.extraction.names,
                environment=settings.environment,
            )
            yield
        log.info("service.stopped")

    app = FastAPI(
        title="drTranscribe",
        version=__version__,
        summary="Live medical-consultation transcription.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.startup_failed = False
    app.state.connections = set()  # live WebSocket connections, for draining
    app.state.draining = False

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Starlette names only the first route's methods
            allowed = _allowed_methods(app, request.scope)
            return JSONResponse(
                {"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(allowed)}
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(StorageError)
    async def storage_unavailable(_: Request, exc: StorageError) -> JSONResponse:
        log.error("storage.unavailable", stage="http", error=type(exc).__name__)
        return JSONResponse({"detail": "storage unavailable, try again"}, status_code=503)

    def origin_listed(origin: str) -> bool:
        services = getattr(app.state, "services", None)
        return services is not None and bool(services.auth.origin_listed(origin))

    app.add_middleware(_KeyAwareCORS, listed=origin_listed)
    project = settings.gcp_project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if project:
        app.add_middleware(TraceContextMiddleware, project=project)
    app.add_middleware(_QuietStartupFailure)
    app.include_router(health.router)
    app.include_router(stream.router)
    app.include_router(sessions.router)
    app.include_router(web.router)
    web.mount_static(app)
    return app
