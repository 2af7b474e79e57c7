"""Decode any audio file PyAV (FFmpeg) understands into 16-bit PCM, and cut it into chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drtranscribe.audio.pcm import WHISPER_SAMPLE_RATE, PcmAudio
from drtranscribe.errors import AudioError


def load_audio_file(path: Path, *, sample_rate: int = WHISPER_SAMPLE_RATE) -> PcmAudio:
    """WAV, MP3, WebM/Opus, ... → mono PCM16 at ``sample_rate``."""
    import av

    parts: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError("audio_undecodable", f"{path.name}: no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise AudioError("audio_undecodable", f"{path.name}: cannot decode audio") from exc
    if not parts:
        raise AudioError("audio_undecodable", f"{path.name}: no audio samples")
    samples = np.concatenate(parts).astype(np.int16).reshape(-1, 1)
    return PcmAudio(samples=samples, sample_rate=sample_rate)


def split_chunks(audio: PcmAudio, seconds: float) -> Iterator[PcmAudio]:
    step = max(1, int(seconds * audio.sample_rate))
    for start in range(0, audio.frames, step):
        yield PcmAudio(samples=audio.samples[start : start + step], sample_rate=audio.sample_rate)
