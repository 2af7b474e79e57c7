"""Transcript segments for tests: ``seg-0003`` style ids, one second per segment."""

from __future__ import annotations

from typing import Any

from drtranscribe.domain.transcript import Segment


def segment(
    i: int,
    text: str,
    speaker: Any = None,
    *,
    final: bool = False,
    provider: str = "test",
    segment_id: str | None = None,
) -> Segment:
    return Segment(
        id=segment_id or f"seg-{i:04d}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text,
        start=float(i),
        end=float(i + 1),
        provider=provider,
        latency_ms=0.0,
        final=final,
        speaker=speaker,
    )
