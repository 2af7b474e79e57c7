"""Transcript segments: the unit the transcription side produces and the note rests on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drtranscribe.domain.note import Speaker

#: Where a segment's speaker role comes from, most trusted first: the client named the
#: speaker's role (``speakers``), the audio channel the segment was heard on, or a
#: reading of the text (who asks, who reports symptoms).
SpeakerSource = Literal["client", "channel", "inferred"]


class Segment(BaseModel):
    """One stretch of transcript.

    A segment covers one or more consecutive audio chunks. It is sent first as an
    interim result (``final=False``) and revised under the same ``id`` until an event
    marks it final.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id, e.g. 'seg-0003'.")
    chunk_seq: int = Field(description="Sequence number of the latest chunk this segment covers.")
    first_chunk_seq: int = Field(description="Sequence number of the first chunk it covers.")
    text: str
    start: float = Field(description="Start, in seconds of session time.")
    end: float = Field(description="End, in seconds of session time.")
    provider: str = Field(description="Name of the speech-to-text provider that answered.")
    latency_ms: float = Field(description="Time from the chunk's arrival to this result.")
    final: bool = False
    speaker: Speaker | None = Field(
        default=None, description="The speaker's role, when known: clinician, patient or other."
    )
    speaker_name: str | None = Field(
        default=None, description="The speaker as the meeting shows them (captions only)."
    )
    channel: int | None = Field(
        default=None, description="The audio channel it was heard on (two-channel audio)."
    )
    speaker_source: SpeakerSource | None = Field(
        default=None,
        description="How the role is known: `client` (named by the client), `channel` "
        "(two-channel audio), `inferred` (read from the text).",
    )


def transcript_order(segment: Segment) -> tuple[int, float, str]:
    """Segments in the order they were spoken: by the chunk they start in, then by start
    time (a two-channel window's turns), then by id (channels that start together)."""
    return (segment.first_chunk_seq, segment.start, segment.id)
