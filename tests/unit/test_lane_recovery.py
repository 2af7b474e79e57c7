"""Two-channel recovery: a channel's window that closed on its speaker's silence is not
reopened after an instance died before its final pass."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.config import Settings
from drtranscribe.domain.transcript import Segment
from drtranscribe.session.transcriber import Transcriber
from drtranscribe.state.store import ChunkRecord

pytestmark = pytest.mark.unit

RATE = 16000


def _loud_chunk() -> PcmAudio:
    """5 s of two-channel audio whose tail is loud on both channels (not a quiet end)."""
    t = np.arange(5 * RATE) / RATE
    tone = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    return PcmAudio(samples=np.stack([tone, tone], axis=1), sample_rate=RATE)


class _Board:
    def __init__(self, segments: list[Segment]) -> None:
        self.segments = {s.id: s for s in segments}

    def ordered(self) -> list[Segment]:
        return sorted(self.segments.values(), key=lambda s: (s.first_chunk_seq, s.id))


def _transcriber(board: _Board) -> Transcriber:
    services: Any = SimpleNamespace(session=Settings(environment="test").session)
    return Transcriber(
        services,
        "s_test",
        token=1,
        language="en",
        emit=None,  # type: ignore[arg-type]
        board=board,  # type: ignore[arg-type]
        taken_over=None,  # type: ignore[arg-type]
        log=SimpleNamespace(info=lambda *a, **k: None),
        lane=0,
        role="clinician",
    )


def _segment(first: int, last: int) -> Segment:
    return Segment(
        id=f"seg-{first:04d}-ch0", chunk_seq=last, first_chunk_seq=first, text="any chest pain",
        start=5.0 * first, end=5.0 * (last + 1), provider="local", latency_ms=1.0,
        final=False, channel=0, speaker="clinician", speaker_source="channel",
    )  # fmt: skip


async def _load(_: int) -> PcmAudio:
    return _loud_chunk()


async def test_a_window_closed_by_silence_goes_to_its_final_pass() -> None:
    board = _Board([_segment(0, 0)])
    chunks = [
        ChunkRecord(seq=0, start_s=0, duration_s=5, transcribed=False, lanes_done=frozenset({0})),
        # the next chunk was silent on channel 0: done for it, and it closed the window
        ChunkRecord(seq=1, start_s=5, duration_s=5, transcribed=False, lanes_done=frozenset({0})),
    ]
    transcriber = _transcriber(board)
    await transcriber.recover(chunks, _load)
    assert transcriber.window is None
    assert transcriber.finals.qsize() == 1


async def test_an_open_window_is_reopened() -> None:
    board = _Board([_segment(0, 0)])
    chunks = [
        ChunkRecord(seq=0, start_s=0, duration_s=5, transcribed=False, lanes_done=frozenset({0})),
    ]
    transcriber = _transcriber(board)
    await transcriber.recover(chunks, _load)
    assert transcriber.window is not None
    assert transcriber.finals.qsize() == 0
