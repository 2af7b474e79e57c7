"""In-memory PCM audio: the one shape every other audio module speaks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

WHISPER_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class PcmAudio:
    """Signed 16-bit PCM, shape ``(frames, channels)``."""

    samples: npt.NDArray[np.int16]
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @classmethod
    def from_s16le(cls, data: bytes, *, sample_rate: int, channels: int) -> PcmAudio:
        """Raw interleaved little-endian 16-bit PCM; a trailing partial frame is an error."""
        from drtranscribe.errors import AudioError

        frame_bytes = 2 * channels
        if len(data) == 0:
            raise AudioError("audio_undecodable", "empty audio frame")
        if len(data) % frame_bytes:
            raise AudioError(
                "audio_undecodable",
                f"pcm_s16le frame of {len(data)} bytes is not a whole number of "
                f"{channels}-channel samples",
            )
        samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels).astype(np.int16)
        return cls(samples=samples, sample_rate=sample_rate)

    def to_s16le(self) -> bytes:
        return self.samples.astype("<i2").tobytes()

    def channel(self, index: int) -> PcmAudio:
        """One channel, as mono audio."""
        return PcmAudio(
            samples=self.samples[:, index : index + 1].copy(), sample_rate=self.sample_rate
        )

    def mono_float32(self) -> npt.NDArray[np.float32]:
        """Average of the channels, scaled to [-1, 1]."""
        mono = self.samples.astype(np.float32).mean(axis=1)
        out: npt.NDArray[np.float32] = (mono / 32768.0).astype(np.float32)
        return out

    def tail_rms_dbfs(self, seconds: float) -> float:
        """RMS level of the last ``seconds`` in dBFS (-inf for digital silence)."""
        n = max(1, int(seconds * self.sample_rate))
        tail = self.mono_float32()[-n:]
        if tail.size == 0:
            return float("-inf")
        rms = float(np.sqrt(np.mean(np.square(tail, dtype=np.float64))))
        return 20.0 * float(np.log10(rms)) if rms > 0 else float("-inf")


def resample_mono(audio: PcmAudio, rate: int = WHISPER_SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Mono float32 at ``rate``, resampled by libswresample (PyAV) when needed."""
    mono = audio.mono_float32()
    if audio.sample_rate == rate or mono.size == 0:
        return mono
    import av

    frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = audio.sample_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)


def concat(parts: list[PcmAudio]) -> PcmAudio:
    if not parts:
        raise ValueError("nothing to concatenate")
    rate = parts[0].sample_rate
    return PcmAudio(samples=np.concatenate([p.samples for p in parts]), sample_rate=rate)
