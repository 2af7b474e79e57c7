"""WebSocket endpoint ``/v1/stream``: translates frames to session calls and back.

State machine: ``awaiting_start`` → ``streaming`` → ``stopping`` → closed. A protocol
violation gets an ``error`` message and the connection stays open (nothing accepted is
lost). The session's normal end closes with 1000; a takeover by a resuming connection
elsewhere closes with 4001.
"""

from __future__ import annotations

import asyncio
import enum

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.websockets import WebSocketState

from drtranscribe.errors import ProtocolError, SessionError, SessionTakenOver, StorageError
from drtranscribe.protocol import (
    ErrorMessage,
    FinalMessage,
    ResumeMessage,
    StartMessage,
    StopMessage,
    dump,
    parse_client_message,
)
from drtranscribe.session.live import LiveSession
from drtranscribe.session.services import SessionServices

log = structlog.get_logger(__name__)
router = APIRouter()

CLOSE_NORMAL = 1000
CLOSE_TAKEN_OVER = 4001


class _State(enum.Enum):
    AWAITING_START = "awaiting_start"
    STREAMING = "streaming"
    STOPPING = "stopping"
    CLOSED = "closed"


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

    async def close(self, code: int) -> None:
        self.state = _State.CLOSED
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                await self.ws.close(code=code)
            except (RuntimeError, OSError):
                log.debug("ws.close_after_close")

    async def error(
        self, code: str, message: str, *, retryable: bool = False, seq: int | None = None
    ) -> None:
        log.info("ws.client_error", code=code, state=self.state.value)
        await self.send(ErrorMessage(code=code, message=message, retryable=retryable, seq=seq))

    async def run(self) -> None:
        limits = self.services.settings.limits
        while self.state is not _State.CLOSED:
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
                    await self.on_message(parse_client_message(text))
            except ProtocolError as exc:
                await self.error(exc.code, exc.message, retryable=exc.retryable)
            except SessionError as exc:
                await self.error(exc.code, exc.message)
            except SessionTakenOver:
                await self.error("session_taken_over", "this session was resumed elsewhere")
                await self.close(CLOSE_TAKEN_OVER)
            except StorageError as exc:
                log.error("storage.unavailable", stage="accept", error=type(exc).__name__)
                await self.error(
                    "store_unavailable",
                    "not stored; send it again",
                    retryable=True,
                    seq=self.session.next_seq if self.session and data is not None else None,
                )

    async def on_audio(self, data: bytes) -> None:
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError(
                "protocol_order",
                "audio before start" if self.session is None else "audio after stop",
            )
        await self.session.accept_chunk(data)

    async def on_message(self, message: StartMessage | ResumeMessage | StopMessage) -> None:
        if isinstance(message, StartMessage | ResumeMessage):
            if self.state is not _State.AWAITING_START:
                raise ProtocolError("protocol_order", "session already started")
            if isinstance(message, StartMessage):
                session = await LiveSession.start(self.services, message, self.send)
            else:
                resumed = await LiveSession.resume(self.services, message, self.send)
                if isinstance(resumed, FinalMessage):  # it had finished: say so again
                    await self.send(resumed)
                    await self.close(CLOSE_NORMAL)
                    return
                session = resumed
            self.session = session
            session.on_taken_over = lambda: self.close(CLOSE_TAKEN_OVER)
            structlog.contextvars.bind_contextvars(session_id=session.session_id)
            self.state = _State.STREAMING
            return
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError("protocol_order", "stop before start")
        self.state = _State.STOPPING
        final = await self.session.stop()
        await self.send(final)
        await self.close(CLOSE_NORMAL)


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
        if connection.session is not None:
            await connection.session.abort()
        structlog.contextvars.unbind_contextvars("session_id")
