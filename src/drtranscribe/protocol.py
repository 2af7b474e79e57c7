"""WebSocket protocol v1: every message as a pydantic model.

Client → server: a ``start`` text message, then binary frames (one audio chunk each,
numbered by the server from 0 in arrival order), then ``stop``.
Server → client: ``session``, ``ack``, ``transcript``, ``note``, ``error``, ``final``.

The JSON Schemas in docs/protocol.md are generated from these models
(``python -m drtranscribe.protocol``) and a test keeps them in step.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_validator,
)

from drtranscribe.config import LimitSettings
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import ProtocolError

PROTOCOL_VERSION = 1

#: Every error code the server sends, with what it means. docs/protocol.md lists them.
ERROR_CODES: dict[str, str] = {
    "invalid_json": "A text frame that is not valid UTF-8 JSON, or not a JSON object.",
    "unknown_message_type": "A message whose `type` the server does not know.",
    "invalid_message": "A known message type with missing or invalid fields.",
    "protocol_order": "A message that is not allowed now (audio before `start`, a second `start`, "
    "anything after `stop`).",
    "frame_too_large": "A frame larger than the announced `max_frame_bytes` (or `max_text_bytes`).",
    "audio_undecodable": "A binary frame that is not audio in the declared format.",
    "audio_format_mismatch": "A WAV chunk whose sample rate, channels or sample format differs "
    "from the session's.",
    "chunk_too_long": "A chunk longer than the announced `max_chunk_seconds`.",
    "backpressure": "Too many chunks are waiting for transcription; resend this one later.",
    "transcription_failed": "Every speech-to-text provider failed for a chunk. Its audio is stored "
    "and will be reprocessed; nothing is lost.",
    "extraction_failed": "A note update failed; the next update will include its segments.",
    "store_unavailable": "The frame could not be stored (the session or the audio store "
    "failed): it was not acked; resend it (carries the frame's `seq`).",
    "state_save_failed": "Work on an acked chunk (its transcript, or the note) could not be "
    "saved while the session store was unavailable (carries `chunk_seq`, never `seq`). The "
    "chunk's audio is stored and the work is redone; nothing to resend.",
    "internal_error": "An unexpected server error; the session's stored data is intact.",
    "session_exists": "`start` for a session id that already exists: use `resume`.",
    "session_not_found": "`resume` named a session that does not exist, has expired, or with a "
    "token that does not match (deliberately indistinguishable).",
    "session_taken_over": "Another connection resumed this session; this one is closed with 4001.",
    "unauthorized": "No valid API key or stream token (or it does not cover this session); "
    "the connection is closed with 1008.",
    "origin_not_allowed": "The browser Origin is not on the allowlist; closed with 1008.",
    "rate_limited": "More audio chunks than the rate limit allows (1/s sustained, with a burst "
    "allowance); the chunk was not stored: resend it later.",
    "too_many_violations": "Too many invalid frames, or retryable refusals resent without "
    "waiting, on this connection; closed with 1008.",
    "start_timeout": "No `start` or `resume` within `start_timeout_s` of connecting; closed with "
    "1008.",
    "session_time_limit": "The session reached its maximum duration; it is finalised (`final`) "
    "and the connection closed with 4003.",
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- client → server


class AudioFormat(_Message):
    """How the binary frames of a session are encoded."""

    encoding: Literal["wav", "pcm_s16le"] = Field(
        description="`wav`: each frame is a complete WAV file (PCM 8/16/24/32-bit or float). "
        "`pcm_s16le`: each frame is raw signed 16-bit little-endian PCM, interleaved."
    )
    sample_rate: int | None = Field(
        default=None, ge=8000, le=192000, description="Required for pcm_s16le."
    )
    channels: int | None = Field(default=None, ge=1, le=8, description="Required for pcm_s16le.")

    @model_validator(mode="after")
    def _pcm_needs_layout(self) -> AudioFormat:
        if self.encoding == "pcm_s16le" and (self.sample_rate is None or self.channels is None):
            raise ValueError("pcm_s16le needs sample_rate and channels")
        return self


class StartMessage(_Message):
    type: Literal["start"]
    protocol: Literal[1] = 1
    audio: AudioFormat
    language: str = Field(default="en", min_length=2, max_length=16)
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=32,
        description="Opaque client metadata (e.g. encounter id); stored, never logged.",
    )
    api_key: str | None = Field(
        default=None,
        max_length=256,
        description="API key or stream token, unless given in the URL (`?token=` / `?api_key=`).",
    )


class ResumeMessage(_Message):
    """Instead of ``start``: carry on a session after a lost connection, on any instance."""

    type: Literal["resume"]
    protocol: Literal[1] = 1
    session_id: str = Field(min_length=1, max_length=64)
    resume_token: str = Field(min_length=1, max_length=256)
    api_key: str | None = Field(
        default=None, max_length=256, description="As in `start`: the key or stream token."
    )


class StopMessage(_Message):
    type: Literal["stop"]


AnyClientMessage = StartMessage | ResumeMessage | StopMessage
ClientMessage = Annotated[AnyClientMessage, Field(discriminator="type")]
_client_adapter: TypeAdapter[AnyClientMessage] = TypeAdapter(ClientMessage)


def parse_client_message(raw: str | bytes) -> AnyClientMessage:
    """Decode one text frame, raising :class:`ProtocolError` with a documented code."""
    try:
        if isinstance(raw, bytes):  # json's own encoding detection, but strict decoding:
            raw = raw.decode(json.detect_encoding(raw))  # no encoded lone surrogates
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("invalid_json", "text frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError("invalid_json", "a message must be a JSON object")
    try:  # json accepts "\ud800" escapes: lone surrogates cannot be stored or sent back
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError(
            "invalid_message", "strings must be valid Unicode (no lone surrogates)"
        ) from exc
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_MESSAGES:
        raise ProtocolError(
            "unknown_message_type",
            f"unknown message type {str(kind)[:32]!r}; expected start, resume or stop",
        )
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "message" for e in exc.errors())
        if len(fields) > 200:  # field names are the client's own: do not echo them unbounded
            fields = fields[:200] + "…"
        raise ProtocolError("invalid_message", f"invalid {kind} message: check {fields}") from exc


# --------------------------------------------------------------------------- server → client


class Limits(_Message):
    max_frame_bytes: int
    max_text_bytes: int
    max_chunk_seconds: float
    max_pending_chunks: int
    chunk_rate_per_s: float = Field(
        description="Audio chunks per second a connection may send, sustained (a client "
        "that paces itself by this and `chunk_burst` is never `rate_limited`)."
    )
    chunk_burst: int = Field(description="Chunks a new connection may send at once.")

    @classmethod
    def announced(cls, limits: LimitSettings) -> Limits:
        """What a client is told of the service's limits."""
        return cls(
            max_frame_bytes=limits.max_frame_bytes,
            max_text_bytes=limits.max_text_bytes,
            max_chunk_seconds=limits.max_chunk_seconds,
            max_pending_chunks=limits.max_pending_chunks,
            chunk_rate_per_s=limits.chunk_rate_per_s,
            chunk_burst=limits.chunk_burst,
        )


class SessionMessage(_Message):
    type: Literal["session"] = "session"
    protocol: int = PROTOCOL_VERSION
    session_id: str
    resume_token: str = Field(
        description="Secret for `resume`; keep it with the session id, never log it."
    )
    resumed: bool = False
    next_seq: int = Field(
        description="Sequence number the server will give the next chunk: after a resume, "
        "resend every chunk from this one on."
    )
    limits: Limits


class AckMessage(_Message):
    """Sent once a chunk's audio and its state are stored; the client may then drop it."""

    type: Literal["ack"] = "ack"
    seq: int


class TranscriptMessage(_Message):
    type: Literal["transcript"] = "transcript"
    segment: Segment


class PatchOperation(_Message):
    """One RFC 6902 operation, plus ``evidence`` (RFC 6902 §4 lets members it does not define
    be carried and ignored by generic JSON Patch libraries)."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")
    evidence: list[str] = Field(
        default_factory=list, description="Ids of the transcript segments this change rests on."
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoteMessage(_Message):
    """A change of the clinical note. Items with `provisional: true` are drafts (the local
    rules' reading of speech the note's LLM has not read yet, sent at once); a later
    `note` confirms one (`provisional` becomes false), corrects it or removes it. With a
    local-only extraction chain nothing is ever provisional."""

    type: Literal["note"] = "note"
    version: int = Field(description="Note version after applying `patch` to version - 1.")
    snapshot: bool = Field(
        default=False,
        description="True after a resume: `patch` replaces the whole note (path ''), whatever "
        "version the client had.",
    )
    patch: list[PatchOperation]

    @field_serializer("patch")
    def _ops_as_sent(self, patch: list[PatchOperation]) -> list[dict[str, Any]]:
        # ``value`` may legitimately be null; only fields that were set are sent.
        return [op.model_dump(by_alias=True, exclude_unset=True) for op in patch]

    @classmethod
    def whole(cls, note: ClinicalNote, version: int, evidence: list[str]) -> NoteMessage:
        """The whole note as one snapshot (after a resume)."""
        value = note.model_dump(mode="json")
        replace = {"op": "replace", "path": "", "value": value, "evidence": evidence}
        return cls(version=version, snapshot=True, patch=[PatchOperation.model_validate(replace)])


class ErrorMessage(_Message):
    type: Literal["error"] = "error"
    code: str = Field(description="Stable code; see the table in docs/protocol.md.")
    message: str
    retryable: bool = Field(
        default=False,
        description="With `seq`: resend that frame later. Without: the failed work may "
        "succeed later (the server retries it); nothing for the client to do.",
    )
    seq: int | None = Field(
        default=None,
        description="Only on the refusal of an audio frame: the frame was NOT stored, and "
        "this is the seq it would have had. Never names an acked chunk.",
    )
    chunk_seq: int | None = Field(
        default=None,
        description="An acked (stored) chunk this error is about, e.g. its transcription "
        "failed: the server redoes the work; the client must not resend it.",
    )
    retry_after_s: float | None = Field(
        default=None,
        description="With a retryable refusal: resending sooner is refused again "
        "(`rate_limited` says when the next chunk fits the rate).",
    )


class WarningMessage(_Message):
    """Something the client should act on soon; the session goes on for now."""

    type: Literal["warning"] = "warning"
    code: str = Field(description="`session_ending`: the session limit is near.")
    message: str
    seconds_left: float | None = None


class AudioLocation(_Message):
    uri: str
    duration_s: float
    sample_rate: int
    channels: int


class FinalMessage(_Message):
    type: Literal["final"] = "final"
    session_id: str
    note_version: int
    note: ClinicalNote
    transcript: list[Segment]
    audio: AudioLocation | None


AnyServerMessage = (
    SessionMessage
    | AckMessage
    | TranscriptMessage
    | NoteMessage
    | ErrorMessage
    | WarningMessage
    | FinalMessage
)
ServerMessage = Annotated[AnyServerMessage, Field(discriminator="type")]
server_adapter: TypeAdapter[AnyServerMessage] = TypeAdapter(ServerMessage)

CLIENT_MESSAGES: dict[str, type[BaseModel]] = {
    "start": StartMessage,
    "resume": ResumeMessage,
    "stop": StopMessage,
}
SERVER_MESSAGES: dict[str, type[BaseModel]] = {
    "session": SessionMessage,
    "ack": AckMessage,
    "transcript": TranscriptMessage,
    "note": NoteMessage,
    "error": ErrorMessage,
    "warning": WarningMessage,
    "final": FinalMessage,
}


def dump(message: BaseModel) -> str:
    return message.model_dump_json(by_alias=True, exclude_none=False)


def message_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every message, keyed ``client.<type>`` / ``server.<type>``."""
    out: dict[str, dict[str, Any]] = {}
    for kind, model in CLIENT_MESSAGES.items():
        out[f"client.{kind}"] = model.model_json_schema(by_alias=True)
    for kind, model in SERVER_MESSAGES.items():
        out[f"server.{kind}"] = model.model_json_schema(by_alias=True)
    return out
