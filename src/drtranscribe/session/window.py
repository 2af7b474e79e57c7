"""Grouping chunk results into segments that get a second, final pass.

Each chunk is transcribed alone at once (the interim result). Chunks accumulate in an
open window; the window closes at a chunk boundary that is quiet, once it is long
enough, or before it would outgrow what Whisper sees in one pass (30 s). A closed
window is transcribed again as a whole and that text is the segment's final version:
words cut at chunk boundaries inside the window are heard whole the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drtranscribe.audio.pcm import PcmAudio, concat
from drtranscribe.config import SegmentSettings
from drtranscribe.transcription.base import TimedText


@dataclass
class Window:
    first_seq: int
    start_s: float
    end_s: float
    seqs: list[int] = field(default_factory=list)
    audio: list[PcmAudio] = field(default_factory=list)
    interim: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # chunks whose interim pass failed
    arrived_at: float = 0.0  # monotonic arrival time of the latest chunk
    emitted: bool = False
    lane: int | None = None  # the channel, when channels are transcribed apart
    # Mixed channels: the interim words' times (from the window's start), and the ids of
    # the turn segments sent so far.
    spans: list[TimedText] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    @property
    def segment_id(self) -> str:
        lane = "" if self.lane is None else f"-ch{self.lane}"
        return f"seg-{self.first_seq:04d}{lane}"

    def turn_id(self, index: int) -> str:
        """The id of the window's ``index``-th turn (mixed channels): ``seg-0003``, then
        ``seg-0003-t2``, ``seg-0003-t3``..."""
        return self.segment_id if index == 0 else f"{self.segment_id}-t{index + 1}"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def interim_text(self) -> str:
        return " ".join(t for t in self.interim if t)

    def combined_audio(self) -> PcmAudio:
        return concat(self.audio)


def should_close(window: Window, last_chunk: PcmAudio, rules: SegmentSettings) -> bool:
    """Close after ``last_chunk`` when the next chunk of the same length would not fit, or
    when the window is long enough and the chunk ends quietly."""
    if window.duration_s + last_chunk.duration_s > rules.max_window_seconds:
        return True
    if window.duration_s < rules.min_window_seconds:
        return False
    return last_chunk.tail_rms_dbfs(rules.quiet_tail_seconds) < rules.quiet_rms_dbfs
