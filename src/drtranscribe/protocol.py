"""WebSocket protocol v1: every message as a pydantic model.

Client → server: a ``start`` text message, then the session's inputs, then ``stop``. The
inputs are binary frames (one audio chunk each, numbered by the server from 0 in arrival
order) or, in a captions session (``start.input == "captions"``), ``caption`` messages that
carry their own number. ``speakers`` names speakers' roles at any time.
Server → client: ``session``, ``ack``, ``transcript``, ``note``, ``speakers``, ``error``,
``warning``, ``final``.

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

from drtranscribe.config import CaptionSettings, LimitSettings
from drtranscribe.domain.note import ClinicalNote, Speaker
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
    "rate_limited": "More audio chunks (or caption messages) than their rate limit allows "
    "(announced in `session.limits`); not stored: resend it later.",
    "too_many_violations": "Too many invalid frames, or retryable refusals resent without "
    "waiting, on this connection; closed with 1008.",
    "start_timeout": "No `start` or `resume` within `start_timeout_s` of connecting; closed with "
    "1008.",
    "session_time_limit": "The session reached its maximum duration; it is finalised (`final`) "
    "and the connection closed with 4003.",
    "wrong_input": "An input the session was not started for: audio in a captions session, or "
    "a caption in an audio session. Not stored.",
    "caption_out_of_order": "A caption whose `seq` is not the next one the server expects "
    "(`session.next_seq`, then one more per acked caption). Not stored; the error's `seq` is "
    "the caption's. Resend from the expected number.",
    "caption_too_long": "A caption longer than the announced `max_caption_chars`. Not stored.",
    "caption_final": "A revision of a caption that is already final (the client said so, or it "
    "was quiet for `caption_quiet_s`) that changes its text. Not stored; the final text "
    "stands. (The same text again is stored as a no-op revision and acked.)",
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
    channel_roles: list[Speaker] | None = Field(
        default=None,
        min_length=2,
        max_length=8,
        description='One speaker per channel, in channel order (e.g. `["clinician", '
        "\"patient\"]`: the clinician's microphone on channel 0, the meeting's audio on 1). "
        "Each segment then carries the role of the channel that spoke it.",
    )

    @model_validator(mode="after")
    def _pcm_needs_layout(self) -> AudioFormat:
        if self.encoding == "pcm_s16le" and (self.sample_rate is None or self.channels is None):
            raise ValueError("pcm_s16le needs sample_rate and channels")
        roles = self.channel_roles
        if roles and self.channels is not None and len(roles) != self.channels:
            raise ValueError("channel_roles needs one role per channel")
        return self


SpeakerName = Annotated[str, Field(min_length=1, max_length=128)]


class StartMessage(_Message):
    type: Literal["start"]
    protocol: Literal[1] = 1
    input: Literal["audio", "captions"] = Field(
        default="audio",
        description="`audio`: binary frames, described by `audio`. `captions`: `caption` "
        "messages (live captions of a meeting), no audio.",
    )
    audio: AudioFormat | None = Field(default=None, description="Required for `audio` input.")
    speakers: dict[SpeakerName, Speaker] = Field(
        default_factory=dict,
        max_length=32,
        description="Speakers' roles by the name the meeting shows (e.g. "
        '`{"Dr. Rivera": "clinician"}`); a `speakers` message may change them later.',
    )
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

    @model_validator(mode="after")
    def _input_has_its_format(self) -> StartMessage:
        if self.input == "audio" and self.audio is None:
            raise ValueError("an audio session needs `audio`")
        if self.input == "captions" and self.audio is not None:
            raise ValueError("a captions session has no `audio`")
        return self


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


class CaptionMessage(_Message):
    """One caption as the meeting shows it now. A caption id seen before revises that
    caption (its text corrected or extended); it is final once the client says so or after
    `caption_quiet_s` without a revision. Acked (by `seq`) once stored."""

    type: Literal["caption"]
    seq: int = Field(
        ge=0, description="This message's number: `session.next_seq` first, then one more each."
    )
    caption_id: str = Field(min_length=1, max_length=128, description="Stable per caption.")
    speaker: SpeakerName | None = Field(
        default=None, description="The speaker as the meeting shows them (a display name)."
    )
    text: str = Field(description="The caption's whole text so far (not a delta).")
    start: float | None = Field(
        default=None, ge=0, description="Seconds since the session began; default: arrival."
    )
    end: float | None = Field(default=None, ge=0, description="As `start`.")
    final: bool = Field(default=False, description="The caption will not change again.")


class SpeakersMessage(_Message):
    """Name speakers' roles (adds to or changes those given so far). Past segments are
    re-labelled and the note re-derived; the server answers with `speakers`."""

    type: Literal["speakers"]
    roles: dict[SpeakerName, Speaker] = Field(min_length=1, max_length=32)


#: What a client reading a meeting's captions can report about them.
SourceStatus = Literal["ok", "captions_off", "captions_not_found", "captions_quiet"]


class SourceStatusMessage(_Message):
    """The client's view of its input: the captions it reads from a meeting page are off,
    cannot be found (the page changed), or went quiet while the meeting had sound; or they
    are back (`ok`). The server logs it and counts problems
    (`drt_source_problems_total{status}`; log event `source.status`) for monitoring to
    alert on; nothing else changes and there is no answer."""

    type: Literal["source_status"]
    status: SourceStatus
    quiet_s: float | None = Field(
        default=None, ge=0, le=86400, description="`captions_quiet`: seconds without a caption."
    )


AnyClientMessage = (
    StartMessage
    | ResumeMessage
    | StopMessage
    | CaptionMessage
    | SpeakersMessage
    | SourceStatusMessage
)
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
            f"unknown message type {str(kind)[:32]!r}; "
            f"expected one of {', '.join(CLIENT_MESSAGES)}",
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
    max_caption_chars: int = Field(description="Longest caption text.")
    caption_quiet_s: float = Field(description="A caption not revised this long is final.")
    caption_rate_per_s: float = Field(
        description="Caption messages per second a connection may send, sustained."
    )
    caption_burst: int = Field(description="Caption messages a new connection may send at once.")

    @classmethod
    def announced(cls, limits: LimitSettings, captions: CaptionSettings) -> Limits:
        """What a client is told of the service's limits."""
        return cls(
            max_frame_bytes=limits.max_frame_bytes,
            max_text_bytes=limits.max_text_bytes,
            max_chunk_seconds=limits.max_chunk_seconds,
            max_pending_chunks=limits.max_pending_chunks,
            chunk_rate_per_s=limits.chunk_rate_per_s,
            chunk_burst=limits.chunk_burst,
            max_caption_chars=captions.max_chars,
            caption_quiet_s=captions.quiet_final_s,
            caption_rate_per_s=captions.rate_per_s,
            caption_burst=captions.burst,
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
        description="Sequence number of the next input (chunk or caption): after a resume, "
        "resend every input from this one on."
    )
    input: Literal["audio", "captions"] = "audio"
    speakers: dict[str, Speaker] = Field(
        default_factory=dict, description="Speakers' roles in force (named by the client)."
    )
    limits: Limits


class AckMessage(_Message):
    """Sent once an input (a chunk's audio, a caption) and its state are stored; the client
    may then drop it."""

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


class SpeakersAppliedMessage(_Message):
    """The speakers' roles now in force (after `speakers`, stored); re-labelled segments
    follow as `transcript` messages, the re-derived note as `note`."""

    type: Literal["speakers"] = "speakers"
    roles: dict[str, Speaker]


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
        description="Only on the refusal of an input: it was NOT stored; for an audio frame "
        "the seq it would have had, for a caption its own `seq`. Never names an acked input.",
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
    | SpeakersAppliedMessage
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
    "caption": CaptionMessage,
    "speakers": SpeakersMessage,
    "source_status": SourceStatusMessage,
}
SERVER_MESSAGES: dict[str, type[BaseModel]] = {
    "session": SessionMessage,
    "ack": AckMessage,
    "transcript": TranscriptMessage,
    "note": NoteMessage,
    "speakers": SpeakersAppliedMessage,
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
