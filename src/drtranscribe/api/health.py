"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drtranscribe.session.services import SessionServices

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers.")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readiness", summary="Readiness: the session store answers and providers are loaded.")
async def readiness(request: Request) -> JSONResponse:
    services: SessionServices = request.app.state.services
    redis_ok = await services.store.ping()
    body: dict[str, Any] = {
        "status": "ready" if redis_ok else "unavailable",
        "redis": redis_ok,
        "stt": services.stt.names,
        "extraction": services.extraction.names,
    }
    return JSONResponse(body, status_code=200 if redis_ok else 503)
