"""WebSocket endpoint ``/v1/stream``: translates frames to session calls and back.

State machine: ``awaiting_start`` → ``streaming`` → ``stopping`` → closed.

Who may talk: credentials come in the URL (``?token=`` a stream token from
``POST /v1/sessions``, or ``?api_key=``) or in the first message (``start``/``resume``
``api_key``). A browser's ``Origin`` must be on the allowlist (browsers do not apply CORS to
WebSockets, so cross-site WebSocket hijacking is stopped here).

A bad frame gets an ``error`` and the connection stays open (nothing accepted is lost);
hard violations get an ``error`` and then a close code:

====  =========================================================================
1000  after ``final``
1008  unauthorized, origin not allowed, or too many rejected frames
1009  a frame beyond the transport limit (4 × ``max_frame_bytes``; uvicorn closes)
4001  the session was resumed on another connection
4003  the session reached its maximum duration (after ``final``)
1012  the instance is shutting down (after a ``warning``): resume on another one
====  =========================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.websockets import WebSocketState

from drtranscribe.auth import tokens
from drtranscribe.auth.keys import Principal
from drtranscribe.errors import (
    ProtocolError,
    SessionError,
    SessionTakenOver,
    StorageError,
)
from drtranscribe.protocol import (
    AnyClientMessage,
    CaptionMessage,
    ErrorMessage,
    FinalMessage,
    ResumeMessage,
    SourceStatusMessage,
    SpeakersMessage,
    StartMessage,
    WarningMessage,
    dump,
    parse_client_message,
)
from drtranscribe.services import ProcessServices
from drtranscribe.session.lifecycle import resume_session, start_session
from drtranscribe.session.live import LiveSession
from drtranscribe.tokenbucket import TokenBucket

log = structlog.get_logger(__name__)
router = APIRouter()

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_RESTART = 1012
CLOSE_TAKEN_OVER = 4001
CLOSE_TIME_LIMIT = 4003


class _State(enum.Enum):
    AWAITING_START = "awaiting_start"
    STREAMING = "streaming"
    STOPPING = "stopping"
    CLOSED = "closed"


class _Closing(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Connection:
    def __init__(self, websocket: WebSocket, services: ProcessServices) -> None:
        self.ws = websocket
        self.services = services
        self.limits = services.session.limits
        self.state = _State.AWAITING_START
        self.session: LiveSession | None = None
        self.principal: Principal | None = None
        self.bound_session: str | None = None  # a stream token's session
        self.origin = websocket.headers.get("origin")
        limits = self.limits
        # A paced client's frame may arrive a little early (delays on the way): 0.25 s slack.
        self.bucket = TokenBucket(limits.chunk_rate_per_s, limits.chunk_burst, tolerance_s=0.25)
        captions = services.session.captions
        self.caption_bucket = TokenBucket(captions.rate_per_s, captions.burst, tolerance_s=0.25)
        # Retryable refusals are the server's doing, not the client's: they cost a
        # violation only once a client resends faster than this budget allows.
        self.refusals = TokenBucket(limits.refusal_rate_per_s, limits.refusal_burst)
        self.violations = 0
        self._send_lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._counted = False

    # ------------------------------------------------------------------ output

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
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        seq: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        log.info("ws.client_error", code=code, state=self.state.value)
        await self.send(
            ErrorMessage(
                code=code,
                message=message,
                retryable=retryable,
                seq=seq,
                retry_after_s=retry_after_s,
            )
        )

    async def refuse(self, code: str, message: str, close_code: int = CLOSE_POLICY) -> None:
        await self.error(code, message)
        raise _Closing(close_code)

    # ------------------------------------------------------------------ auth

    async def authenticate_url(self) -> None:
        """Credentials in the URL, if any, are checked before anything else is read."""
        params = self.ws.query_params
        if "token" in params:
            await self._use_token(params["token"])
        elif "api_key" in params:
            await self._use_key(params["api_key"])
        if not self.services.auth.origin_known(self.origin):
            await self.refuse("origin_not_allowed", "this Origin may not open a stream")

    async def _use_key(self, presented: str | None) -> None:
        principal = self.services.auth.authenticate(presented)
        if principal is None:
            await self.refuse("unauthorized", "invalid API key")
        assert principal is not None
        self._accept_principal(principal)

    async def _use_token(self, token: str | None) -> None:
        redeemed = await tokens.redeem(self.services.store.client, token)
        if redeemed is None:
            await self.refuse("unauthorized", "invalid or expired stream token")
        assert redeemed is not None
        self.bound_session = redeemed[1]
        self._accept_principal(redeemed[0])

    def _accept_principal(self, principal: Principal) -> None:
        self.principal = principal
        structlog.contextvars.bind_contextvars(key_id=principal.key_id, tenant=principal.tenant)

    async def authenticate_message(self, presented: str | None) -> Principal:
        if self.principal is None:
            if presented and presented.startswith(tokens.TOKEN_PREFIX):
                await self._use_token(presented)
            else:
                await self._use_key(presented)
        assert self.principal is not None
        if not self.services.auth.origin_allowed(self.origin, self.principal):
            await self.refuse("origin_not_allowed", "this Origin may not use this key")
        return self.principal

    # ------------------------------------------------------------------ input

    async def run(self) -> None:
        limits = self.limits
        await self.authenticate_url()
        while self.state is not _State.CLOSED:
            if self.state is _State.AWAITING_START:  # no idle anonymous connections
                try:
                    async with asyncio.timeout(limits.start_timeout_s):
                        frame = await self.ws.receive()
                except TimeoutError:
                    await self.refuse("start_timeout", "no start or resume in time")
            else:
                frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            data: bytes | None = frame.get("bytes")
            text: str | None = frame.get("text")
            refused: int | None = None  # the seq of an input that is refused, if any
            try:
                if data is not None:
                    refused = self.session.next_seq if self.session else None
                    await self.on_audio(data)
                elif text is not None:
                    if len(text.encode("utf-8", "surrogatepass")) > limits.max_text_bytes:
                        raise ProtocolError(
                            "frame_too_large",
                            f"text frame over the {limits.max_text_bytes}-byte limit",
                        )
                    message = parse_client_message(text)
                    if isinstance(message, CaptionMessage):
                        refused = message.seq
                    await self.on_message(message)
            except ProtocolError as exc:
                # a refused input names its seq: the client can tell which one to resend
                wait = self._retry_after(text is not None) if exc.code == "rate_limited" else None
                await self.error(
                    exc.code, exc.message, retryable=exc.retryable, seq=refused, retry_after_s=wait
                )
                await (self.count_refusal() if exc.retryable else self.count_violation())
            except SessionError as exc:
                await self.error(exc.code, exc.message)
                await self.count_violation()
            except SessionTakenOver:
                await self.refuse(
                    "session_taken_over", "this session was resumed elsewhere", CLOSE_TAKEN_OVER
                )
            except StorageError as exc:
                log.error("storage.unavailable", stage="accept", error=type(exc).__name__)
                await self.error(
                    "store_unavailable", "not stored; send it again", retryable=True, seq=refused
                )
                await self.count_refusal()

    def _retry_after(self, caption: bool) -> float:
        return round((self.caption_bucket if caption else self.bucket).wait_s(), 3)

    async def count_refusal(self) -> None:
        """A retryable refusal: free within the refusal budget, a violation beyond it."""
        if not self.refusals.take():
            await self.count_violation()

    async def count_violation(self) -> None:
        self.violations += 1
        if self.violations >= self.limits.max_violations:
            await self.refuse("too_many_violations", "too many rejected frames")

    async def on_audio(self, data: bytes) -> None:
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError(
                "protocol_order",
                "audio before start" if self.session is None else "audio after stop",
            )
        self.session.check_frame_size(data)  # before the rate: a violation, not a refusal
        if not self.bucket.take():
            self.services.metrics.chunks.labels("rate_limited").inc()
            raise ProtocolError(
                "rate_limited", "too many chunks; resend this one later", retryable=True
            )
        await self.session.accept_chunk(data)

    async def on_caption(self, message: CaptionMessage) -> None:
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError(
                "protocol_order",
                "caption before start" if self.session is None else "caption after stop",
            )
        if not self.caption_bucket.take():
            raise ProtocolError(
                "rate_limited", "too many captions; resend this one later", retryable=True
            )
        await self.session.accept_caption(message)

    async def on_message(self, message: AnyClientMessage) -> None:
        if isinstance(message, CaptionMessage):
            await self.on_caption(message)
            return
        if isinstance(message, SourceStatusMessage):
            if self.session is None:
                raise ProtocolError("protocol_order", "source_status before start")
            if message.status == "ok":
                log.info("source.status", status=message.status)
            else:  # a transcript that may be going missing: loud, and counted
                log.warning("source.status", status=message.status, quiet_s=message.quiet_s)
                self.services.metrics.source_problems.labels(message.status).inc()
            return
        if isinstance(message, SpeakersMessage):
            if self.session is None or self.state is not _State.STREAMING:
                raise ProtocolError("protocol_order", "speakers before start or after stop")
            await self.session.name_speakers(message.roles)
            return
        if isinstance(message, StartMessage | ResumeMessage):
            if self.state is not _State.AWAITING_START:
                raise ProtocolError("protocol_order", "session already started")
            principal = await self.authenticate_message(message.api_key)
            if isinstance(message, StartMessage):
                session = await start_session(
                    self.services,
                    message,
                    self.send,
                    session_id=self.bound_session,
                    tenant=principal.tenant,
                    on_taken_over=lambda: self.close(CLOSE_TAKEN_OVER),
                )
            else:
                if self.bound_session not in (None, message.session_id):
                    await self.refuse("unauthorized", "the stream token is for another session")
                resumed = await resume_session(
                    self.services,
                    message,
                    self.send,
                    tenant=principal.tenant,
                    on_taken_over=lambda: self.close(CLOSE_TAKEN_OVER),
                )
                if isinstance(resumed, FinalMessage):  # it had finished: say so again
                    await self.send(resumed)
                    raise _Closing(CLOSE_NORMAL)
                session = resumed
            self.session = session
            structlog.contextvars.bind_contextvars(session_id=session.session_id)
            self.state = _State.STREAMING
            self.services.metrics.active_sessions.inc()
            self._counted = True
            self._timer = asyncio.create_task(self._time_limit(principal))
            return
        if self.session is None or self.state is not _State.STREAMING:
            raise ProtocolError("protocol_order", "stop before start")
        await self.finish(CLOSE_NORMAL)

    async def finish(self, close_code: int) -> None:
        assert self.session is not None
        self.state = _State.STOPPING
        final = await self.session.stop()
        await self.send(final)
        raise _Closing(close_code)

    async def _time_limit(self, principal: Principal) -> None:
        """Warn before the session's maximum duration, then finalise it and close (4003)."""
        assert self.session is not None
        limits = self.limits
        limit = min(limits.max_session_s, principal.max_session_s or limits.max_session_s)
        ends_at = self.session.created_at + limit
        warn_in = ends_at - limits.session_warning_s - time.time()
        if warn_in > 0:
            await asyncio.sleep(warn_in)
        left = max(0.0, ends_at - time.time())
        await self.send(
            WarningMessage(
                code="session_ending",
                message="the session reaches its time limit soon; it will then be finalised",
                seconds_left=round(left, 1),
            )
        )
        await asyncio.sleep(left)
        if self.state is _State.STREAMING:
            await self.error("session_time_limit", "the session reached its maximum duration")
            with contextlib.suppress(_Closing):
                await self.finish(CLOSE_TIME_LIMIT)
            await self.close(CLOSE_TIME_LIMIT)

    async def cleanup(self) -> None:
        if self._counted:
            self.services.metrics.active_sessions.dec()
            self._counted = False
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        if self.session is not None:
            await self.session.abort()


async def drain_connections(app: Any) -> None:
    """SIGTERM (Cloud Run's stop signal): refuse new streams, tell every client on this
    instance to resume elsewhere, and close them (1012). Their sessions are in Redis."""
    app.state.draining = True
    connections: set[_Connection] = app.state.connections
    log.info("service.draining", connections=len(connections))
    for connection in list(connections):
        await connection.send(_RESTARTING)
        await connection.close(CLOSE_RESTART)


_RESTARTING = WarningMessage(
    code="server_restarting",
    message="this instance is shutting down: reconnect and resume your session",
)


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    services: ProcessServices = websocket.app.state.services
    await websocket.accept()
    if getattr(websocket.app.state, "draining", False):
        await websocket.send_text(dump(_RESTARTING))
        await websocket.close(code=CLOSE_RESTART)
        return
    connection = _Connection(websocket, services)
    connections: set[_Connection] = websocket.app.state.connections
    connections.add(connection)
    try:
        await connection.run()
    except _Closing as closing:
        await connection.close(closing.code)
    except WebSocketDisconnect as exc:
        log.info("ws.disconnected", code=exc.code, state=connection.state.value)
    finally:
        connections.discard(connection)
        await connection.cleanup()
        structlog.contextvars.unbind_contextvars("session_id", "key_id", "tenant")
