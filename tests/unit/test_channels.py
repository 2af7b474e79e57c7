"""Cross-talk gating of two-channel audio: a channel keeps its own voice only."""

from __future__ import annotations

import numpy as np
import pytest

from drtranscribe.audio.channels import own_voice
from drtranscribe.audio.pcm import PcmAudio

pytestmark = pytest.mark.unit

RATE = 16000


def _tone(seconds: float, amplitude: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def test_cross_talk_is_gated_and_speech_on_both_channels_is_kept() -> None:
    clinician = np.concatenate([_tone(1, 8000), np.zeros(RATE), _tone(1, 8000)])
    patient = np.concatenate([np.zeros(RATE), _tone(1, 8000, 300), _tone(1, 8000, 300)])
    bleed = 10 ** (-30 / 20)
    stereo = np.stack([clinician + bleed * patient, patient + bleed * clinician], axis=1)
    audio = PcmAudio(samples=stereo.astype(np.int16), sample_rate=RATE)

    mine = own_voice(audio, 0).samples[:, 0].astype(np.float32)
    theirs = own_voice(audio, 1).samples[:, 0].astype(np.float32)
    second = slice(RATE, 2 * RATE)  # only the patient talks: the clinician's mic is gated
    assert np.abs(mine[second]).max() == 0
    assert np.abs(theirs[second]).max() > 7000
    first = slice(0, RATE)  # only the clinician talks
    assert np.abs(theirs[first]).max() == 0
    assert np.abs(mine[first]).max() > 7000
    both = slice(2 * RATE, 3 * RATE)  # both talk at once: both kept
    assert np.abs(mine[both]).max() > 7000
    assert np.abs(theirs[both]).max() > 7000


def test_one_channel_is_returned_as_it_is() -> None:
    samples = (_tone(0.5, 1000)).astype(np.int16).reshape(-1, 1)
    audio = PcmAudio(samples=samples, sample_rate=RATE)
    assert np.array_equal(own_voice(audio, 0).samples, samples)
