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
