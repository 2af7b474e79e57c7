"""The session record: a session's metadata (``drt:{sid}:meta``) as one typed model, read
by the session (resume) and the HTTP API alike. Redis keeps strings; this is where they
become numbers, layouts and audio locations, once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from drtranscribe.protocol import AudioFormat, AudioLocation


def hash_token(token: str) -> str:
    """What the record keeps of a resume token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: str = "active"  # reserved, active, finished
    tenant: str = "default"
    input: Literal["audio", "captions"] = "audio"
    audio_format: AudioFormat | None = None
    language: str = "en"
    next_seq: int = 0
    elapsed_s: float = 0.0
    created_at: float = 0.0
    sample_rate: int | None = None
    channels: int | None = None
    final_audio_key: str | None = None
    resume_token_sha256: str = ""
    sealed: bool = False  # its content is sealed with a data key (see drtranscribe.crypto)

    @field_validator("audio_format", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        return AudioFormat.model_validate_json(value) if isinstance(value, str) else value

    @field_validator("final_audio_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @classmethod
    def of(cls, meta: Mapping[str, str]) -> SessionRecord | None:
        """The record in a meta hash as Redis returns it; None for no session."""
        return cls.model_validate(dict(meta)) if meta else None

    @property
    def layout(self) -> tuple[int, int] | None:
        """(sample rate, channels) once the first chunk fixed them."""
        if self.sample_rate is None or self.channels is None:
            return None
        return self.sample_rate, self.channels

    def belongs_to(self, tenant: str) -> bool:
        return self.tenant == tenant

    def opens_with(self, resume_token: str) -> bool:
        """Does ``resume_token`` open this session? (constant time)"""
        expected = self.resume_token_sha256
        return bool(expected) and hmac.compare_digest(expected, hash_token(resume_token))

    def audio_location(self, uri: Callable[[str], str]) -> AudioLocation | None:
        """Where the combined recording is, once the session finished with one."""
        return recording_at(uri, self.final_audio_key, self.elapsed_s, self.layout)


def recording_at(
    uri: Callable[[str], str],
    key: str | None,
    duration_s: float,
    layout: tuple[int, int] | None,
) -> AudioLocation | None:
    """The protocol's description of a combined recording (None until there is one)."""
    if not key or layout is None:
        return None
    return AudioLocation(
        uri=uri(key), duration_s=round(duration_s, 3), sample_rate=layout[0], channels=layout[1]
    )


class CaptionRecord(BaseModel):
    """A caption as last stored (``drt:{sid}:captions``, sealed, keyed by its segment):
    its newest revision, which message numbers it spans, and whether it is final."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    caption_id: str
    segment_id: str
    first_seq: int
    seq: int  # the message that made this revision
    speaker: str | None
    text: str
    start: float
    end: float
    final: bool = False
