"""Transcript files for ``drtranscribe extract``, run through the live incremental path.

Accepted: plain text with ``Doctor:`` / ``Patient:`` (or ``D:`` / ``P:``) prefixes — a line
without a prefix continues the previous turn — or JSON ``{"turns": [{"speaker", "text"}]}``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import DrTranscribeError
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.extraction.local import LocalExtractor

_PREFIX = re.compile(
    r"^\s*(?P<who>doctor|dr|d|clinician|physician|patient|pt|p|guest_clinician|guest_family)\s*[:\-]\s*",
    re.IGNORECASE,
)
_SPEAKERS: dict[str, Speaker] = {
    "doctor": "clinician", "dr": "clinician", "d": "clinician", "clinician": "clinician",
    "physician": "clinician", "guest_clinician": "clinician",
    "patient": "patient", "pt": "patient", "p": "patient", "guest_family": "other",
}  # fmt: skip


class TranscriptFileError(DrTranscribeError):
    """A transcript file that cannot be read as one."""


def speaker_of(label: str | None) -> Speaker | None:
    return _SPEAKERS.get(label.strip().lower()) if label else None


def read_turns(path: Path) -> list[tuple[Speaker | None, str]]:
    """Turns of a transcript file; :class:`TranscriptFileError` when it cannot be read."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptFileError(f"{path.name}: not UTF-8 text") from exc
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TranscriptFileError(f"{path.name}: invalid JSON (line {exc.lineno})") from exc
        listed = data.get("turns") if isinstance(data, dict) else None
        if not isinstance(listed, list) or not all(isinstance(t, dict) for t in listed):
            raise TranscriptFileError(f'{path.name}: expected {{"turns": [{{"speaker", "text"}}]}}')
        return [
            (speaker_of(str(t.get("speaker") or "")), str(t.get("text") or ""))
            for t in listed
            if str(t.get("text") or "").strip()
        ]
    turns: list[tuple[Speaker | None, str]] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        match = _PREFIX.match(line)
        if match:
            turns.append((speaker_of(match["who"]), line[match.end() :].strip()))
        elif turns:
            who, text = turns[-1]
            turns[-1] = (who, f"{text} {line.strip()}")
        else:
            turns.append((None, line.strip()))
    return turns


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
