"""Transcript files as turns: who spoke (a role, and the name the file gives), what they
said, and when, if the file says.

Read from three formats, told apart by their first characters:

* WebVTT (``WEBVTT`` first), the format Meet, Teams and Zoom export captions in: one turn
  per cue, its speaker from the ``<v Name>`` voice tag, its times from the cue timing;
* JSON ``{"turns": [{"speaker", "text", "start"?, "end"?}]}``;
* plain text with ``Doctor:`` / ``Patient:`` (or ``D:`` / ``P:``, ...) prefixes; a line
  without a prefix continues the previous turn.

A speaker written as a role label (doctor, clinician, patient, ...) has that role; any
other name (``Dr. Rivera``) has none until someone says which role it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from drtranscribe.domain.note import Speaker
from drtranscribe.errors import DrTranscribeError

_PREFIX = re.compile(
    r"^\s*(?P<who>doctor|dr|d|clinician|physician|patient|pt|p|guest_clinician|guest_family)"
    r"\s*[:\-]\s*",
    re.IGNORECASE,
)
_ROLES: dict[str, Speaker] = {
    "doctor": "clinician", "dr": "clinician", "d": "clinician", "clinician": "clinician",
    "physician": "clinician", "guest_clinician": "clinician",
    "patient": "patient", "pt": "patient", "p": "patient", "guest_family": "other",
}  # fmt: skip
_CUE_TIME = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s*-->\s*(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+(?P<name>[^>]+)>")
_TAG = re.compile(r"</?[^>]*>")


class TranscriptFileError(DrTranscribeError):
    """A transcript file that cannot be read as one."""


@dataclass(frozen=True)
class Turn:
    role: Speaker | None
    name: str | None  # as the file names the speaker
    text: str
    start: float | None = None  # seconds from the beginning, when the file says
    end: float | None = None


def role_of(label: str | None) -> Speaker | None:
    """The role a speaker label names (``Doctor`` → clinician), or None for a name."""
    return _ROLES.get(label.strip().lower()) if label else None


def parse_turns(raw: str, source: str = "transcript") -> list[Turn]:
    """The turns of a transcript file's text; :class:`TranscriptFileError` if unreadable."""
    head = raw.lstrip("\ufeff").lstrip()
    if head.startswith("WEBVTT"):
        return _vtt_turns(head, source)
    if head.startswith("{"):
        return _json_turns(head, source)
    return _labelled_turns(raw)


def _labelled_turns(raw: str) -> list[Turn]:
    turns: list[Turn] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        match = _PREFIX.match(line)
        if match:
            label = match["who"]
            turns.append(Turn(role_of(label), label.capitalize(), line[match.end() :].strip()))
        elif turns:
            last = turns[-1]
            turns[-1] = Turn(last.role, last.name, f"{last.text} {line.strip()}")
        else:
            turns.append(Turn(None, None, line.strip()))
    return turns


def _json_turns(raw: str, source: str) -> list[Turn]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TranscriptFileError(f"{source}: invalid JSON (line {exc.lineno})") from exc
    listed = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(listed, list) or not all(isinstance(t, dict) for t in listed):
        raise TranscriptFileError(f'{source}: expected {{"turns": [{{"speaker", "text"}}]}}')
    turns: list[Turn] = []
    for t in listed:
        text = str(t.get("text") or "").strip()
        if not text:
            continue
        name = str(t.get("speaker") or "").strip() or None
        start, end = t.get("start"), t.get("end")
        turns.append(
            Turn(
                role_of(name),
                name,
                text,
                float(start) if isinstance(start, int | float) else None,
                float(end) if isinstance(end, int | float) else None,
            )
        )
    return turns


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1]) + 60 * int(parts[-2])
    return seconds + (3600 * int(parts[-3]) if len(parts) == 3 else 0)


def _vtt_turns(raw: str, source: str) -> list[Turn]:
    turns: list[Turn] = []
    blocks = re.split(r"\n\s*\n", raw.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks[1:]:  # the first block is the header
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue  # NOTE, STYLE, REGION blocks
        match = _CUE_TIME.match(lines[timing])
        if match is None:
            raise TranscriptFileError(f"{source}: bad cue timing {lines[timing][:60]!r}")
        payload = " ".join(line.strip() for line in lines[timing + 1 :] if line.strip())
        voice = _VOICE.search(payload)
        name = voice["name"].strip() if voice else None
        text = " ".join(_TAG.sub("", payload).split())
        if text:
            turns.append(
                Turn(role_of(name), name, text, _seconds(match["start"]), _seconds(match["end"]))
            )
    if not turns and len(blocks) > 1:
        raise TranscriptFileError(f"{source}: no cues")
    return turns
