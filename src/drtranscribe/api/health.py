"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from drtranscribe.services import ProcessServices

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers.")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    summary="Prometheus metrics (chunks, latency by stage and provider, breakers, sessions).",
    response_class=PlainTextResponse,
)
async def metrics(request: Request) -> PlainTextResponse:
    services: ProcessServices = request.app.state.services
    return PlainTextResponse(
        generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get(
    "/readiness",
    summary="Readiness: Redis answers and at least one speech-to-text and one extraction "
    "provider is available. The body lists every provider with its breaker state; "
    "`degraded` (still 200: the service serves) names each chain running on its last "
    "resort because every provider before it is out.",
    responses={503: {"description": "Not ready; the body says why."}},
)
async def readiness(request: Request) -> JSONResponse:
    services: ProcessServices = request.app.state.services
    redis_ok = await services.store.ping()
    stt_ok = bool(services.stt.available())
    extraction_ok = bool(services.extraction.available())
    draining = bool(getattr(request.app.state, "draining", False))
    ready = redis_ok and stt_ok and extraction_ok and not draining
    degraded = {
        chain.kind: name
        for chain in (services.stt, services.extraction)
        if (name := chain.last_resort()) is not None
    }
    status = "ready" if ready else ("draining" if draining else "unavailable")
    if ready and degraded:
        status = "degraded"
    body: dict[str, Any] = {
        "status": status,
        "redis": redis_ok,
        "degraded": degraded,
        "stt": {"available": stt_ok, "providers": services.stt.status()},
        "extraction": {"available": extraction_ok, "providers": services.extraction.status()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)
