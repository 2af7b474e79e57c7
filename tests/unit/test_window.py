import numpy as np
import pytest

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.config import SegmentSettings
from drtranscribe.session.window import Window, should_close

pytestmark = pytest.mark.unit

RULES = SegmentSettings(max_window_seconds=28, min_window_seconds=8)


def _chunk(seconds: float, *, quiet_tail: bool) -> PcmAudio:
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    samples = (np.sin(2 * np.pi * 200 * t) * 10000).astype(np.int16)
    if quiet_tail:
        samples[-int(0.5 * 16000) :] = 0
    return PcmAudio(samples=samples.reshape(-1, 1), sample_rate=16000)


def _window(duration: float) -> Window:
    return Window(first_seq=0, start_s=0.0, end_s=duration)


def test_short_window_stays_open_even_at_a_quiet_boundary() -> None:
    assert not should_close(_window(5), _chunk(5, quiet_tail=True), RULES)


def test_long_enough_window_closes_at_a_quiet_boundary_only() -> None:
    assert should_close(_window(10), _chunk(5, quiet_tail=True), RULES)
    assert not should_close(_window(10), _chunk(5, quiet_tail=False), RULES)


def test_window_never_outgrows_one_whisper_pass() -> None:
    assert should_close(_window(25), _chunk(5, quiet_tail=False), RULES)
    assert not should_close(_window(20), _chunk(5, quiet_tail=False), RULES)
