"""Two-channel recovery: a channel's window that closed on its speaker's silence is not
reopened after an instance died before its final pass; a mixed window's turns are
gathered back into one window, closed for its final pass."""

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


def _transcriber(board: _Board, **channels: Any) -> Transcriber:
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
        **(channels or {"lane": 0, "role": "clinician"}),
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


def _turn(segment_id: str, seq: int, channel: int, start: float) -> Segment:
    return Segment(
        id=segment_id, chunk_seq=seq, first_chunk_seq=0, text="words", start=start,
        end=start + 1, provider="local", latency_ms=1.0, final=False, channel=channel,
        speaker=("clinician", "patient")[channel], speaker_source="channel",
    )  # fmt: skip


async def test_a_mixed_windows_turns_make_one_window_closed_for_its_final_pass() -> None:
    board = _Board([_turn("seg-0000", 0, 0, 0.2), _turn("seg-0000-t2", 1, 1, 6.0)])
    chunks = [
        ChunkRecord(seq=0, start_s=0, duration_s=5, transcribed=True),
        ChunkRecord(seq=1, start_s=5, duration_s=5, transcribed=True),
        ChunkRecord(seq=2, start_s=10, duration_s=5, transcribed=False),
    ]
    transcriber = _transcriber(board, channel_roles=["clinician", "patient"])
    await transcriber.recover(chunks, _load)
    assert transcriber.window is None
    window = transcriber.finals.get_nowait()
    assert (window.seqs, window.sent) == ([0, 1], ["seg-0000", "seg-0000-t2"])
    assert (window.start_s, window.end_s) == (0, 10)  # the chunks' span, not the turns'
    # the turns as they were, in the window's time, should its final pass fail
    assert [(t.text, t.start, t.end) for t in window.spans] == [
        (" words", 0.2, 1.2),
        (" words", 6.0, 7.0),
    ]
    assert window.audio[0].channels == 2  # heard whole, to be split again
    assert [c[0] for c in _queued(transcriber)] == [2]  # never transcribed: queued


def _queued(transcriber: Transcriber) -> list[Any]:
    out = []
    while not transcriber.chunks.empty():
        out.append(transcriber.chunks.get_nowait())
    return out
