"""The reference audio client: a recording sent as WAV chunks, paced like a microphone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from drtranscribe.audio.file import split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.client.stream import ClientEvent, Outgoing, StreamOptions, stream_inputs


def audio_inputs(audio: PcmAudio, chunk_seconds: float) -> list[Outgoing]:
    """One WAV frame per chunk; a chunk exists once its audio has been "recorded"."""
    inputs: list[Outgoing] = []
    recorded = 0.0
    for index, piece in enumerate(split_chunks(audio, chunk_seconds)):
        recorded += piece.duration_s
        frame = encode_wav(piece)
        summary = {"chunk": index, "bytes": len(frame), "duration_s": piece.duration_s}
        inputs.append(Outgoing(frame=frame, due_s=recorded, summary=summary))
    return inputs


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
    channel_roles: Sequence[str] | None = None,
) -> AsyncIterator[ClientEvent]:
    """Stream ``audio``; yield every event until the server's ``final``.

    ``realtime`` paces chunks at the speed of speech, as a microphone would; otherwise
    each chunk is sent as soon as the previous one is acked. ``channel_roles`` names the
    speaker of each channel (two-channel audio: each channel is transcribed on its own). The rest is
    :func:`~drtranscribe.client.stream.stream_inputs`: reconnects, resume, pacing within
    the announced rate, and resending refused chunks.
    """
    audio_format: dict[str, Any] = {"encoding": "wav"}
    if channel_roles:
        audio_format["channel_roles"] = list(channel_roles)
    start = {
        "type": "start",
        "audio": audio_format,
        "language": language,
        "metadata": metadata or {},
    }
    options = StreamOptions(
        realtime=realtime,
        on_event=on_event,
        max_reconnects=max_reconnects,
        api_key=api_key,
        max_refused_s=max_refused_s,
    )
    async for event in stream_inputs(url, start, audio_inputs(audio, chunk_seconds), options):
        yield event
