"""A resumable stream of inputs: what the reference clients share.

Every input (an audio chunk, a caption) has a sequence number, is kept until the server
acks it, and is sent again after a reconnect if the server did not store it: the client
sends ``resume`` with the session id and token, learns from ``session.next_seq`` which
input the server expects next, and resends from there.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from drtranscribe.tokenbucket import TokenBucket


@dataclass(frozen=True)
class ClientEvent:
    """One thing that happened, stamped with seconds since the stream began."""

    t: float
    direction: str  # "in" (server message), "out" (an input sent), "reconnect"
    message: dict[str, Any]


@dataclass(frozen=True)
class Outgoing:
    """One input as it goes on the wire: a binary frame (audio) or a JSON message."""

    frame: bytes | str
    due_s: float  # when it exists, in seconds from the start ("recorded" or "spoken")
    summary: dict[str, Any] = field(default_factory=dict)  # what the "out" event says


#: Added to each wait for the rate: asyncio may wake a sleeper a clock tick early, and an
#: input that arrives a millisecond before its token is refused.
PACE_MARGIN_S = 0.02

#: Errors that end a connection for a reason a reconnect cannot change.
#: (``session_taken_over``: another client resumed the session; taking it back in turn
#: would make two clients fight over it.)
REFUSALS = frozenset({"unauthorized", "origin_not_allowed", "session_taken_over"})


class StreamFailed(Exception):
    """The server could not be reached again, or refused the session."""


class _Dropped(Exception):
    """The connection ended before ``final``."""


@dataclass
class StreamOptions:
    realtime: bool = True
    on_event: Callable[[ClientEvent], None] | None = None
    max_reconnects: int = 10
    api_key: str | None = None
    max_refused_s: float = 300.0


class _Stream:
    """One session's inputs over as many connections as it takes."""

    def __init__(
        self,
        urls: Sequence[str],
        start: dict[str, Any],
        inputs: Sequence[Outgoing],
        options: StreamOptions,
    ) -> None:
        self.urls = list(urls)
        self.start = start
        self.inputs = inputs
        self.options = options
        self.began = time.monotonic()
        self.events: asyncio.Queue[ClientEvent | BaseException | None] = asyncio.Queue()
        self.session_id: str | None = None
        self.resume_token: str | None = None
        self.live = False  # an input was acked on the current connection

    def stamp(self, direction: str, message: dict[str, Any]) -> None:
        event = ClientEvent(
            t=round(time.monotonic() - self.began, 4), direction=direction, message=message
        )
        if self.options.on_event is not None:
            self.options.on_event(event)
        self.events.put_nowait(event)

    def hello(self) -> dict[str, Any]:
        """``start`` on the first connection, ``resume`` on every later one."""
        message: dict[str, Any]
        if self.session_id is None:
            message = dict(self.start)
        else:
            message = {
                "type": "resume",
                "session_id": self.session_id,
                "resume_token": self.resume_token,
            }
        if self.options.api_key:
            message["api_key"] = self.options.api_key
        return message

    async def run(self) -> None:
        """Connect, and reconnect with backoff, until ``final`` or a refusal."""
        tried = 0  # connections opened: reconnects rotate over the URLs
        attempt = 0  # reconnects since the last connection that made progress
        try:
            while True:
                target = self.urls[tried % len(self.urls)]
                tried += 1
                self.live = False
                try:
                    await self.one_connection(target)
                    return
                except _Dropped:
                    # The budget is per outage: a connection that made progress (an input
                    # acked) ended the previous one, so ordinary drops never add up over a
                    # visit; one that is dropped before any progress counts against it.
                    attempt = 1 if self.live else attempt + 1
                    if attempt > self.options.max_reconnects:
                        raise StreamFailed(
                            f"gave up after {self.options.max_reconnects} reconnects in a row"
                        ) from None
                    backoff = min(2.0, 0.05 * 2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
                    self.stamp("reconnect", {"attempt": attempt, "backoff_s": round(backoff, 3)})
                    await asyncio.sleep(backoff)
        except BaseException as exc:  # surfaced to the consumer
            self.events.put_nowait(exc)
        finally:
            self.events.put_nowait(None)

    async def one_connection(self, target: str) -> None:
        """Run until ``final``; raise :class:`_Dropped` if the connection ends before."""
        try:
            async with websockets.connect(target, max_size=None, open_timeout=10) as ws:
                await ws.send(json.dumps(self.hello()))
                connection = _Connection(self, ws)
                if not await connection.run():
                    raise _Dropped()
        except (ConnectionClosed, OSError, InvalidHandshake, TimeoutError) as exc:
            if isinstance(exc, InvalidURI):
                raise StreamFailed(str(exc)) from exc
            raise _Dropped() from exc


class _Connection:
    """One WebSocket connection of a stream: a receiver and a sender side by side."""

    def __init__(self, stream: _Stream, ws: ClientConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # per input
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def run(self) -> bool:
        """True once ``final`` arrived; False if the server closed the connection first."""
        receiver = asyncio.create_task(self.receive())
        sender = asyncio.create_task(self.send())
        try:
            pending: set[asyncio.Task[Any]] = {receiver, sender}
            while receiver in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if sender in done and (failure := sender.exception()) is not None:
                    raise failure
            return receiver.result()
        finally:
            sender.cancel()
            receiver.cancel()

    async def receive(self) -> bool:
        stream = self.stream
        async for raw in self.ws:
            message = json.loads(raw)
            stream.stamp("in", message)
            kind = message.get("type")
            code = message.get("code")
            if kind == "session":
                stream.session_id = message["session_id"]
                stream.resume_token = message["resume_token"]
                if not self.ready.done():
                    self.ready.set_result(message)
            elif kind == "ack" or (kind == "error" and message.get("seq") is not None):
                if kind == "ack":
                    stream.live = True  # progress: this outage is over
                self.answers.put_nowait(message)
            elif kind == "final":
                return True
            elif kind == "error" and code == "session_not_found":
                raise StreamFailed("the server does not know this session")
            elif kind == "error" and code in REFUSALS:
                # Reconnecting would be refused the same way: say why, now.
                raise StreamFailed(f"refused by the server: {code} ({message.get('message', '')})")
        return False

    async def send(self) -> None:
        stream = self.stream
        session = await self.ready
        limits = session.get("limits") or {}
        # The server's own bucket for this connection, mirrored: sending within it is
        # never rate_limited (a bucket that starts later is stricter).
        kind = "caption" if session.get("input") == "captions" else "chunk"
        pace = TokenBucket(
            float(limits.get(f"{kind}_rate_per_s", 1.0)), int(limits.get(f"{kind}_burst", 1))
        )
        for index in range(int(session["next_seq"]), len(stream.inputs)):
            if stream.options.realtime:
                wait = stream.began + stream.inputs[index].due_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # pacing, like a microphone or a speaker
            await self.send_until_stored(index, pace)
        await self.ws.send(json.dumps({"type": "stop"}))

    async def send_until_stored(self, index: int, pace: TokenBucket) -> None:
        """Send input ``index``; resend it after a backoff while the server answers with
        a retryable refusal (rate limit, back-pressure, store), for up to
        ``max_refused_s``."""
        item = self.stream.inputs[index]
        limit_s = self.stream.options.max_refused_s
        refused_since = time.monotonic()
        attempt = 0
        while True:
            if wait := pace.reserve():  # within the announced rate; the margin covers
                await asyncio.sleep(wait + PACE_MARGIN_S)  # early wake-ups
            await self.ws.send(item.frame)
            self.stream.stamp("out", {"seq": index, **item.summary})
            answer = await self.answer_for(index)
            if answer["type"] == "ack":
                return
            if not answer.get("retryable"):
                raise StreamFailed(f"input {index} refused: {answer.get('code')}")
            if time.monotonic() - refused_since > limit_s:
                raise StreamFailed(
                    f"input {index} was refused for {limit_s:g} s ({answer.get('code')})"
                )
            backoff = min(2.0, 0.25 * 2**attempt)
            await asyncio.sleep(max(backoff, answer.get("retry_after_s") or 0.0))
            attempt += 1

    async def answer_for(self, index: int) -> dict[str, Any]:
        while True:
            answer = await self.answers.get()
            if answer.get("seq") == index:
                return answer


async def stream_inputs(
    url: str | Sequence[str],
    start: dict[str, Any],
    inputs: Sequence[Outgoing],
    options: StreamOptions,
) -> AsyncIterator[ClientEvent]:
    """Stream ``inputs`` after ``start``; yield every event until the server's ``final``.

    ``options.realtime`` sends each input at its ``due_s`` (a backlog after a reconnect
    goes out at once); otherwise each goes as soon as the previous one is acked. ``url``
    may list several servers: reconnects rotate over them. ``options.api_key`` goes in
    the first message of every connection (never in a URL).

    Never refused for going too fast: inputs are paced by the rate the server announces
    (``session.limits``), and a retryable refusal is resent after ``retry_after_s`` or a
    backoff. ``options.max_reconnects`` bounds the reconnects of one outage: the count
    starts again once a connection makes progress (an input acked on it).
    """
    stream = _Stream([url] if isinstance(url, str) else url, start, inputs, options)
    runner = asyncio.create_task(stream.run())
    try:
        while (item := await stream.events.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        runner.cancel()
