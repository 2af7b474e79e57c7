"""The reference streaming clients: audio files as chunks, transcripts as live captions,
with resume on reconnect.

``stream.py`` owns the resumable stream every client shares (sequence numbers, acks,
reconnects, pacing); ``audio.py`` turns a recording into its inputs, ``captions.py`` a
transcript file.
"""

from drtranscribe.client.audio import stream_audio
from drtranscribe.client.captions import stream_captions
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
    "stream_captions",
    "stream_inputs",
]
