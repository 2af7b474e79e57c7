"""The reference streaming clients: audio files as chunks, with resume on reconnect.

``stream.py`` owns the resumable stream every client shares (sequence numbers, acks,
reconnects, pacing); ``audio.py`` turns a recording into its inputs.
"""

from drtranscribe.client.audio import stream_audio
from drtranscribe.client.stream import (
    PACE_MARGIN_S,
    REFUSALS,
    ClientEvent,
    Outgoing,
    StreamFailed,
    StreamOptions,
    stream_inputs,
)

__all__ = [
    "PACE_MARGIN_S",
    "REFUSALS",
    "ClientEvent",
    "Outgoing",
    "StreamFailed",
    "StreamOptions",
    "stream_audio",
    "stream_inputs",
]
