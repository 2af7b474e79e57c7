"""Turn one client frame into PCM according to the session's declared format."""

from __future__ import annotations

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav
from drtranscribe.errors import AudioError
from drtranscribe.protocol import AudioFormat


def decode_chunk(
    data: bytes, fmt: AudioFormat, *, expect: tuple[int, int] | None, max_seconds: float
) -> PcmAudio:
    """Decode and validate a chunk.

    ``expect`` is the session's ``(sample_rate, channels)`` once known: every chunk of a
    session must share it, so the combined audio is one continuous file.
    """
    if fmt.encoding == "wav":
        audio = decode_wav(data)
    else:
        assert fmt.sample_rate is not None  # validated by AudioFormat
        assert fmt.channels is not None
        audio = PcmAudio.from_s16le(data, sample_rate=fmt.sample_rate, channels=fmt.channels)
    if expect is not None and (audio.sample_rate, audio.channels) != expect:
        raise AudioError(
            "audio_format_mismatch",
            f"chunk is {audio.sample_rate} Hz x{audio.channels}; the session is "
            f"{expect[0]} Hz x{expect[1]}",
        )
    if fmt.channel_roles and audio.channels != len(fmt.channel_roles):
        raise AudioError(
            "audio_format_mismatch",
            f"chunk has {audio.channels} channel(s); the session names "
            f"{len(fmt.channel_roles)} channel roles",
        )
    if audio.duration_s > max_seconds:
        raise AudioError(
            "chunk_too_long",
            f"chunk lasts {audio.duration_s:.1f} s; the limit is {max_seconds:g} s",
        )
    return audio
