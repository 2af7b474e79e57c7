"""WebSocket endpoint ``/v1/stream``: translates frames to session calls and back.

State machine: ``awaiting_start`` → ``streaming`` → ``stopping`` → closed. A protocol
violation gets an ``error`` message and the connection stays open (nothing accepted is
lost); only the session's normal end closes it, with 1000.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.websockets import WebSocketState

from drtranscribe.errors import ProtocolError, StateStoreError
from drtranscribe.protocol import (
    ErrorMessage,
    StartMessage,
    StopMessage,
    dump,
    parse_client_message,
)
from drtranscribe.session.live import LiveSession
from drtranscribe.session.services import SessionServices

log = structlog.get_logger(__name__)
router = APIRouter()


class _State(enum.Enum):
    AWAITING_START = "awaiting_start"
    STREAMING = "streaming"
    STOPPING = "stopping"


class _Connection:
    def __init__(self, websocket: WebSocket, services: SessionServices) -> None:
        self.ws = websocket
        self.services = services
        self.state = _State.AWAITING_START
        self.session: LiveSession | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, message: BaseModel) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        async with self._send_lock:
            try:
                await self.ws.send_text(dump(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                log.debug("ws.send_after_close")

    async def error(self, exc: ProtocolError, *, seq: int | None = None) -> None:
        log.info("ws.client_error", code=exc.code, state=self.state.value)
        await self.send(
            ErrorMessage(code=exc.code, message=exc.message, retryable=exc.retryable, seq=seq)
        )

    async def run(self) -> None:
        limits = self.services.settings.limits
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            data: bytes | None = frame.get("bytes")
            text: str | None = frame.get("text")
            try:
                if data is not None:
                    await self.on_audio(data)
                elif text is not None:
                    if len(text.encode("utf-8", "surrogatepass")) > limits.max_text_bytes:
                        raise ProtocolError(
                            "frame_too_large",
                            f"text frame over the {limits.max_text_bytes}-byte limit",
                        )
                    if await self.on_message(parse_client_message(text)):
                        return
            except ProtocolError as exc:
                await self.error(exc)
            except StateStoreError:
                log.error("state.unavailable", stage="accept")
                await self.send(
                    ErrorMessage(
                        code="store_unavailable",
                        message="chunk not stored; resend it",
                        retryable=True,
                    )
                )

    async def on_audio(self, data: bytes) -> None:
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError(
                "protocol_order",
                "audio before start" if self.session is None else "audio after stop",
            )
        await self.session.accept_chunk(data)

    async def on_message(self, message: StartMessage | StopMessage) -> bool:
        """Handle a control message; True when the connection is done."""
        if isinstance(message, StartMessage):
            if self.state is not _State.AWAITING_START:
                raise ProtocolError("protocol_order", "session already started")
            self.session = await LiveSession.start(self.services, message, self.send)
            structlog.contextvars.bind_contextvars(session_id=self.session.session_id)
            self.state = _State.STREAMING
            return False
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError("protocol_order", "stop before start")
        self.state = _State.STOPPING
        final = await self.session.stop()
        await self.send(final)
        await self.ws.close(code=1000)
        return True


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    services: SessionServices = websocket.app.state.services
    await websocket.accept()
    connection = _Connection(websocket, services)
    try:
        await connection.run()
    except WebSocketDisconnect as exc:
        log.info("ws.disconnected", code=exc.code, state=connection.state.value)
    finally:
        if connection.session is not None and connection.state is not _State.STOPPING:
            await connection.session.abort()
        elif connection.session is not None:
            with contextlib.suppress(Exception):
                await connection.session.abort()
        structlog.contextvars.unbind_contextvars("session_id")
