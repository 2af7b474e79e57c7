"""Two-channel audio where each channel is one person: keep a channel's own voice only.

A microphone also hears the other person faintly (the meeting's loudspeaker, a shared
room): cross-talk. Transcribed alone, a channel would then repeat the other person's
words, attributed to the wrong speaker. People rarely talk at once, so in each short frame
the louder channel is the one speaking: a channel is silenced in the frames where another
channel is ``margin_db`` louder (its cross-talk), and kept where both are close (both
talking).
"""

from __future__ import annotations

import numpy as np

from drtranscribe.audio.pcm import PcmAudio

FRAME_S = 0.02
MARGIN_DB = 12.0


def own_voice(audio: PcmAudio, channel: int, *, margin_db: float = MARGIN_DB) -> PcmAudio:
    """Channel ``channel`` of ``audio``, mono, with the other channels' cross-talk gated."""
    samples = audio.samples.astype(np.float32)
    frame = max(1, int(FRAME_S * audio.sample_rate))
    frames = samples.shape[0] // frame
    own = samples[:, channel].copy()
    if frames and audio.channels > 1:
        body = samples[: frames * frame].reshape(frames, frame, audio.channels)
        power = np.mean(np.square(body), axis=1) + 1e-3  # (frames, channels)
        others = np.delete(power, channel, axis=1).max(axis=1)
        louder_elsewhere = 10 * np.log10(others / power[:, channel]) > margin_db
        mask = np.repeat(~louder_elsewhere, frame)
        own[: frames * frame] *= mask
    return PcmAudio(samples=own.astype(np.int16).reshape(-1, 1), sample_rate=audio.sample_rate)


def mixdown(audio: PcmAudio) -> PcmAudio:
    """The channels summed into one (clipped), as one microphone in the room would hear
    the conversation: each voice keeps its own level, where a mean would halve both."""
    if audio.channels == 1:
        return audio
    summed = audio.samples.astype(np.int32).sum(axis=1, keepdims=True)
    return PcmAudio(
        samples=np.clip(summed, -32768, 32767).astype(np.int16), sample_rate=audio.sample_rate
    )


def channel_power_db(audio: PcmAudio, start_s: float, end_s: float) -> list[float]:
    """Each channel's mean power (dB, relative to full scale) between ``start_s`` and
    ``end_s`` of ``audio``; an empty span reads as silence (-inf is avoided: -120)."""
    lo = max(0, int(start_s * audio.sample_rate))
    hi = min(audio.samples.shape[0], max(lo + 1, int(end_s * audio.sample_rate)))
    span = audio.samples[lo:hi].astype(np.float64) / 32768.0
    if span.size == 0:
        return [-120.0] * audio.channels
    power = np.mean(np.square(span), axis=0) + 1e-12
    return [float(10 * np.log10(p)) for p in power]
