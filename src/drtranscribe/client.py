"""The reference streaming client: sends a file as chunks, yields what the server says."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import websockets

from drtranscribe.audio.file import split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav


@dataclass(frozen=True)
class ClientEvent:
    """One thing that happened, stamped with seconds since the stream began."""

    t: float
    direction: str  # "in" (server message) or "out" (a chunk sent)
    message: dict[str, Any]


async def stream_audio(
    url: str,
    audio: PcmAudio,
    *,
    chunk_seconds: float = 5.0,
    realtime: bool = True,
    language: str = "en",
    metadata: dict[str, str] | None = None,
    on_event: Callable[[ClientEvent], None] | None = None,
) -> AsyncIterator[ClientEvent]:
    """Stream ``audio`` to ``url``; yield every event until the server's ``final``.

    ``realtime`` paces chunks at the speed of speech, as a microphone would; otherwise
    each chunk is sent as soon as the previous one is acked.
    """
    chunks = [encode_wav(c) for c in split_chunks(audio, chunk_seconds)]
    durations = [c.duration_s for c in split_chunks(audio, chunk_seconds)]
    began = time.monotonic()
    events: asyncio.Queue[ClientEvent | None] = asyncio.Queue()

    def stamp(direction: str, message: dict[str, Any]) -> None:
        event = ClientEvent(
            t=round(time.monotonic() - began, 4), direction=direction, message=message
        )
        if on_event is not None:
            on_event(event)
        events.put_nowait(event)

    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "start",
                    "audio": {"encoding": "wav"},
                    "language": language,
                    "metadata": metadata or {},
                }
            )
        )
        acked: asyncio.Queue[int] = asyncio.Queue()

        async def receive() -> None:
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    stamp("in", message)
                    if message.get("type") == "ack":
                        acked.put_nowait(int(message["seq"]))
                    if message.get("type") == "final":
                        break
            finally:
                events.put_nowait(None)

        async def send() -> None:
            next_due = time.monotonic()
            for index, (chunk, duration) in enumerate(zip(chunks, durations, strict=True)):
                if realtime:
                    next_due += duration
                    await asyncio.sleep(max(0.0, next_due - time.monotonic()))  # pacing, like a mic
                await ws.send(chunk)
                stamp("out", {"chunk": index, "bytes": len(chunk), "duration_s": duration})
                if not realtime:
                    while await acked.get() < index:
                        pass
            await ws.send(json.dumps({"type": "stop"}))

        receiver = asyncio.create_task(receive())
        sender = asyncio.create_task(send())
        try:
            while (event := await events.get()) is not None:
                yield event
            await sender
        finally:
            sender.cancel()
            receiver.cancel()
