"""The reference streaming client: sends a file as chunks, yields what the server says,
and resumes by itself when the connection drops (on the same or another server URL).

A chunk is kept until the server acks it. After a reconnect the client sends ``resume``
with the session id and token, learns from ``session.next_seq`` which chunk the server
expects next, and resends from there; chunks it already stored are not sent again.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from drtranscribe.audio.file import split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.tokenbucket import TokenBucket


@dataclass(frozen=True)
class ClientEvent:
    """One thing that happened, stamped with seconds since the stream began."""

    t: float
    direction: str  # "in" (server message), "out" (a chunk sent), "reconnect"
    message: dict[str, Any]


#: Added to each wait for the rate: asyncio may wake a sleeper a clock tick early, and a
#: chunk that arrives a millisecond before its token is refused.
PACE_MARGIN_S = 0.02

#: Errors that end a connection for a reason a reconnect cannot change.
#: (``session_taken_over``: another client resumed the session; taking it back in turn
#: would make two clients fight over it.)
REFUSALS = frozenset({"unauthorized", "origin_not_allowed", "session_taken_over"})


class StreamFailed(Exception):
    """The server could not be reached again, or refused the session."""


class _Dropped(Exception):
    """The connection ended before ``final``."""


async def stream_audio(
    url: str | Sequence[str],
    audio: PcmAudio,
    *,
    chunk_seconds: float = 5.0,
    realtime: bool = True,
    language: str = "en",
    metadata: dict[str, str] | None = None,
    on_event: Callable[[ClientEvent], None] | None = None,
    max_reconnects: int = 10,
    api_key: str | None = None,
    max_refused_s: float = 300.0,
) -> AsyncIterator[ClientEvent]:
    """Stream ``audio``; yield every event until the server's ``final``.

    ``realtime`` paces chunks at the speed of speech, as a microphone would (a backlog
    after a reconnect goes out at once); otherwise each chunk is sent as soon as the
    previous one is acked. ``url`` may list several servers: reconnects rotate over them.
    ``api_key`` goes in the first message of every connection (never in a URL).

    Never refused for going too fast: chunks are paced by the rate the server announces
    (``session.limits``), and a retryable refusal is resent after ``retry_after_s`` or a
    backoff. ``max_reconnects`` bounds the reconnects of one outage: the count starts
    again once a connection makes progress (a chunk acked on it).
    """
    urls = [url] if isinstance(url, str) else list(url)
    pieces = list(split_chunks(audio, chunk_seconds))
    chunks = [encode_wav(c) for c in pieces]
    due: list[float] = []
    total = 0.0
    for piece in pieces:
        total += piece.duration_s
        due.append(total)  # a chunk exists once its audio has been "recorded"
    began = time.monotonic()
    events: asyncio.Queue[ClientEvent | BaseException | None] = asyncio.Queue()
    state: dict[str, Any] = {"session_id": None, "resume_token": None, "live": False}

    def stamp(direction: str, message: dict[str, Any]) -> None:
        event = ClientEvent(
            t=round(time.monotonic() - began, 4), direction=direction, message=message
        )
        if on_event is not None:
            on_event(event)
        events.put_nowait(event)

    async def one_connection(target: str) -> bool:
        """Run until ``final`` (True) or the connection drops (raises _Dropped)."""
        try:
            async with websockets.connect(target, max_size=None, open_timeout=10) as ws:
                hello: dict[str, Any]
                if state["session_id"] is None:
                    hello = {
                        "type": "start",
                        "audio": {"encoding": "wav"},
                        "language": language,
                        "metadata": metadata or {},
                    }
                else:
                    hello = {
                        "type": "resume",
                        "session_id": state["session_id"],
                        "resume_token": state["resume_token"],
                    }
                if api_key:
                    hello["api_key"] = api_key
                await ws.send(json.dumps(hello))
                answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # per chunk
                ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

                async def receive() -> bool:
                    async for raw in ws:
                        message = json.loads(raw)
                        stamp("in", message)
                        kind = message.get("type")
                        if kind == "session":
                            state["session_id"] = message["session_id"]
                            state["resume_token"] = message["resume_token"]
                            if not ready.done():
                                ready.set_result(message)
                        elif kind == "ack" or (kind == "error" and message.get("seq") is not None):
                            if kind == "ack":
                                state["live"] = True  # progress: this outage is over
                            answers.put_nowait(message)
                        elif kind == "final":
                            return True
                        elif kind == "error" and message.get("code") == "session_not_found":
                            raise StreamFailed("the server does not know this session")
                        elif kind == "error" and message.get("code") in REFUSALS:
                            # Reconnecting would be refused the same way: say why, now.
                            raise StreamFailed(
                                f"refused by the server: {message['code']} "
                                f"({message.get('message', '')})"
                            )
                    return False

                async def send() -> None:
                    session = await ready
                    limits = session.get("limits") or {}
                    # The server's own bucket for this connection, mirrored: sending within
                    # it is never rate_limited (a bucket that starts later is stricter).
                    pace = TokenBucket(
                        float(limits.get("chunk_rate_per_s", 1.0)),
                        int(limits.get("chunk_burst", 1)),
                    )
                    for index in range(int(session["next_seq"]), len(chunks)):
                        if realtime:
                            wait = began + due[index] - time.monotonic()
                            if wait > 0:
                                await asyncio.sleep(wait)  # pacing, like a microphone
                        await send_until_stored(index, pace)
                    await ws.send(json.dumps({"type": "stop"}))

                async def send_until_stored(index: int, pace: TokenBucket) -> None:
                    """Send chunk ``index``; resend it after a backoff while the server
                    answers with a retryable refusal (rate limit, back-pressure, store),
                    for up to ``max_refused_s``."""
                    refused_since = time.monotonic()
                    attempt = 0
                    while True:
                        if wait := pace.reserve():  # within the announced rate; the margin
                            await asyncio.sleep(wait + PACE_MARGIN_S)  # covers early wake-ups
                        await ws.send(chunks[index])
                        stamp(
                            "out",
                            {"chunk": index, "bytes": len(chunks[index]),
                             "duration_s": pieces[index].duration_s},
                        )  # fmt: skip
                        while True:
                            answer = await answers.get()
                            if answer.get("seq") == index:
                                break
                        if answer["type"] == "ack":
                            return
                        if not answer.get("retryable"):
                            raise StreamFailed(f"chunk {index} refused: {answer.get('code')}")
                        if time.monotonic() - refused_since > max_refused_s:
                            raise StreamFailed(
                                f"chunk {index} was refused for {max_refused_s:g} s "
                                f"({answer.get('code')})"
                            )
                        backoff = min(2.0, 0.25 * 2**attempt)
                        await asyncio.sleep(max(backoff, answer.get("retry_after_s") or 0.0))
                        attempt += 1

                receiver = asyncio.create_task(receive())
                sender = asyncio.create_task(send())
                try:
                    pending: set[asyncio.Task[Any]] = {receiver, sender}
                    while receiver in pending:
                        done, pending = await asyncio.wait(
                            pending, return_when=asyncio.FIRST_COMPLETED
                        )
                        if sender in done and (failure := sender.exception()) is not None:
                            raise failure
                    finished = receiver.result()
                finally:
                    sender.cancel()
                    receiver.cancel()
                if not finished:
                    raise _Dropped()
                return True
        except (ConnectionClosed, OSError, InvalidHandshake, TimeoutError) as exc:
            if isinstance(exc, InvalidURI):
                raise StreamFailed(str(exc)) from exc
            raise _Dropped() from exc

    async def run() -> None:
        tried = 0  # connections opened: reconnects rotate over the URLs
        attempt = 0  # reconnects since the last connection that reached `session`
        try:
            while True:
                target = urls[tried % len(urls)]
                tried += 1
                state["live"] = False
                try:
                    if await one_connection(target):
                        return
                except _Dropped:
                    # The budget is per outage: a connection that made progress (a chunk
                    # acked) ended the previous one, so ordinary drops never add up over a
                    # visit; one that is dropped before any progress counts against it.
                    attempt = 1 if state["live"] else attempt + 1
                    if attempt > max_reconnects:
                        raise StreamFailed(
                            f"gave up after {max_reconnects} reconnects in a row"
                        ) from None
                    backoff = min(2.0, 0.05 * 2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
                    stamp("reconnect", {"attempt": attempt, "backoff_s": round(backoff, 3)})
                    await asyncio.sleep(backoff)
        except BaseException as exc:  # surfaced to the consumer
            events.put_nowait(exc)
            return
        finally:
            events.put_nowait(None)

    runner = asyncio.create_task(run())
    try:
        while (item := await events.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        runner.cancel()
