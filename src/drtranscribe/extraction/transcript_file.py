"""Transcript files for ``drtranscribe extract``, run through the live incremental path.

Accepted (:mod:`drtranscribe.domain.turns`): plain text with ``Doctor:`` / ``Patient:`` (or
``D:`` / ``P:``) prefixes, JSON ``{"turns": [{"speaker", "text"}]}``, or WebVTT.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.domain.turns import TranscriptFileError, parse_turns
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.extraction.local import LocalExtractor


def read_turns(path: Path) -> list[tuple[Speaker | None, str]]:
    """Turns of a transcript file (:mod:`drtranscribe.domain.turns`: labelled text, JSON
    turns or WebVTT) as (role, text); :class:`TranscriptFileError` when it cannot be read."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptFileError(f"{path.name}: not UTF-8 text") from exc
    return [(t.role, t.text) for t in parse_turns(raw, path.name)]


async def extract_turns(
    turns: list[tuple[Speaker | None, str]], extractor: Extractor | None = None
) -> ClinicalNote:
    """Feed turns one by one, as a live session's note worker would."""
    extractor = extractor or LocalExtractor()
    note = ClinicalNote()
    segments: list[Segment] = []
    for index, (speaker, text) in enumerate(turns):
        segment = Segment(
            id=f"seg-{index:04d}",
            chunk_seq=index,
            first_chunk_seq=index,
            text=text,
            start=float(index),
            end=float(index + 1),
            provider="transcript",
            latency_ms=0.0,
            final=True,
            speaker=speaker,
        )
        segments.append(segment)
        note = await extractor.extract(
            ExtractionRequest(note=note, segments=list(segments), changed=frozenset({segment.id}))
        )
    return note


def extract_file(path: Path) -> ClinicalNote:
    return asyncio.run(extract_turns(read_turns(path)))
