"""structlog configuration: JSON lines for Cloud Logging, console on a terminal.

Content that may carry patient data goes only under keys starting with ``phi`` (e.g.
``phi_text``); the :func:`drop_phi` processor removes them unless ``log_phi`` is set.
Event names are static (``stt.chunk_transcribed``); values are fields, never f-strings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_LEVEL_TO_SEVERITY = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
    "exception": "ERROR",
}


def drop_phi(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in [k for k in event_dict if k.startswith("phi")]:
        del event_dict[key]
    return event_dict


def _severity(
    _: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    level = event_dict.pop("level", method)
    event_dict["severity"] = _LEVEL_TO_SEVERITY.get(str(level), "DEFAULT")
    return event_dict


def _message(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Cloud Logging shows "message"; keep "event" too for grep-ability.
    event_dict.setdefault("message", event_dict.get("event"))
    return event_dict


def configure_logging(*, level: str = "INFO", fmt: str = "auto", log_phi: bool = False) -> None:
    """Route structlog and the standard library (uvicorn) through one renderer."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]
    if not log_phi:
        shared.append(drop_phi)
    renderer: Any
    if use_json:
        shared += [_severity, _message, structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
        lg.disabled = False  # a dictConfig elsewhere (uvicorn's default) may have disabled it
        lg.setLevel(logging.NOTSET)  # ... or set its own level: ours (the root's) rules
    for name in ("uvicorn.access", "uvicorn.error", "websockets"):
        logger = logging.getLogger(name)  # uvicorn logs WebSocket accepts and frames on .error
        logger.filters[:] = [
            f for f in logger.filters if not isinstance(f, _RedactQuery | _DropFrameDumps)
        ]
        logger.addFilter(_RedactQuery())
        if not log_phi:
            logger.addFilter(_DropFrameDumps())
    for noisy in ("faster_whisper", "httpx", "websockets"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test capture swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _DropFrameDumps(logging.Filter):
    """At DEBUG, the websockets library logs every frame's content ("< TEXT '...'"): that
    is patient data. Dropped unless ``log_phi`` is set."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg[:2] in ("< ", "> "))


class _RedactQuery(logging.Filter):
    """Access log lines (HTTP and WebSocket) keep the path but never the query string,
    which may carry an API key or a stream token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.split("?", 1)[0] + "?[redacted]"
                if isinstance(a, str) and a.startswith("/") and "?" in a
                else a
                for a in record.args
            )
        return True
