"""Cloud Logging trace correlation: every log line of a request (HTTP or WebSocket) carries
``logging.googleapis.com/trace`` from ``X-Cloud-Trace-Context`` or W3C ``traceparent``,
so Cloud Logging groups it under the request's trace."""

from __future__ import annotations

import re

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

_CLOUD = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?")
_W3C = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def trace_fields(headers: dict[str, str], project: str) -> dict[str, str]:
    match = _CLOUD.match(headers.get("x-cloud-trace-context", "")) or _W3C.match(
        headers.get("traceparent", "").strip()
    )
    if match is None:
        return {}
    trace_id, span_id = match.group(1), match.group(2)
    fields = {"logging.googleapis.com/trace": f"projects/{project}/traces/{trace_id.lower()}"}
    if span_id and match.re is _CLOUD:
        span_id = _decimal_span_to_hex(span_id)
    if span_id:
        fields["logging.googleapis.com/spanId"] = span_id
    return fields


def _decimal_span_to_hex(span: str) -> str | None:
    """``X-Cloud-Trace-Context`` carries the span id in decimal; Cloud Logging wants the
    16 hex characters (googleapis/python-logging#942, #946). Out of range: none."""
    value = int(span)
    if not 0 < value < 2**64:
        return None
    return f"{value:016x}"


class TraceContextMiddleware:
    def __init__(self, app: ASGIApp, project: str) -> None:
        self.app = app
        self.project = project

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        fields = trace_fields(headers, self.project)
        if not fields:
            await self.app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(**fields):
            await self.app(scope, receive, send)
