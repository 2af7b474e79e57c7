"""Transcript segments: the unit the transcription side produces and the note rests on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drtranscribe.domain.note import Speaker


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
    speaker: Speaker | None = None
