"""Two-channel audio: cross-talk gating (a channel keeps its own voice only), the mix,
and words given to the channel that spoke them."""

from __future__ import annotations

import numpy as np
import pytest

from drtranscribe.audio.channels import mixdown, own_voice
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.session.channel_turns import ChannelTurn, channel_turns
from drtranscribe.transcription.base import TimedText

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


def test_the_mix_is_the_sum_of_the_channels_clipped() -> None:
    stereo = np.array([[1000, -200], [30000, 30000], [-30000, -30000], [0, 5]], dtype=np.int16)
    mixed = mixdown(PcmAudio(samples=stereo, sample_rate=RATE))
    assert mixed.samples[:, 0].tolist() == [800, 32767, -32768, 5]
    mono = PcmAudio(samples=stereo[:, :1], sample_rate=RATE)
    assert mixdown(mono) is mono


def _two_voices() -> PcmAudio:
    """Clinician 0-1 s, patient 1-2 s, both 2-3 s (clinician louder by 1 dB), each
    channel hearing the other 30 dB down."""
    clinician = np.concatenate([_tone(1, 8000), np.zeros(RATE), _tone(1, 9000)])
    patient = np.concatenate([np.zeros(RATE), _tone(1, 8000, 300), _tone(1, 8000, 300)])
    bleed = 10 ** (-30 / 20)
    stereo = np.stack([clinician + bleed * patient, patient + bleed * clinician], axis=1)
    return PcmAudio(samples=stereo.astype(np.int16), sample_rate=RATE)


def test_words_go_to_the_louder_channel_and_make_turns() -> None:
    words = [
        TimedText(" Any", 0.1, 0.4), TimedText(" pain?", 0.4, 0.9),
        TimedText(" No,", 1.1, 1.4), TimedText(" none.", 1.4, 1.9),
    ]  # fmt: skip
    assert channel_turns(_two_voices(), words) == [
        ChannelTurn(0, "Any pain?", 0.1, 0.9),
        ChannelTurn(1, "No, none.", 1.1, 1.9),
    ]


def test_a_word_spoken_over_stays_with_the_speaker_before_it() -> None:
    """Both talk at 2-3 s, the clinician barely louder: no clear lead, so the word stays
    with the patient who was talking; with no one before it, the louder channel has it."""
    over = TimedText(" really", 2.2, 2.8)
    patient = TimedText(" No", 1.2, 1.8)
    assert [t.channel for t in channel_turns(_two_voices(), [patient, over])] == [1]
    assert [t.channel for t in channel_turns(_two_voices(), [over])] == [0]


def test_timed_phrases_are_turns_too_and_untimed_text_has_none() -> None:
    phrases = [TimedText(" Any pain?", 0.0, 1.0), TimedText(" No.", 1.0, 2.0)]
    assert [(t.channel, t.text) for t in channel_turns(_two_voices(), phrases)] == [
        (0, "Any pain?"),
        (1, "No."),
    ]
    assert channel_turns(_two_voices(), []) == []
