"""Speech-to-text providers through their real SDKs against the fake provider server.

Every provider: the success path, the request it puts on the wire, and the mapping of
each failure to the ProviderError tree (no provider body in any message or log line).
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import structlog
from pydantic import SecretStr

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderInvalidResponse,
    ProviderStatusError,
    ProviderTimeout,
)
from drtranscribe.transcription.base import TimedText, TranscriptionRequest, joined
from drtranscribe.vendors.gemini.stt import GeminiSTT
from drtranscribe.vendors.openai.stt import AzureOpenAISTT, GroqSTT, OpenAISTT
from tests.fakes.provider_server import (  # noqa: F401 - pytest fixtures
    AZURE_API_VERSION,
    DEFAULT_TRANSCRIPT,
    ECHO,
    REDACTED,
    BadContent,
    Behaviour,
    Drop,
    FakeProviderServer,
    Hang,
    Malformed,
    Ok,
    Status,
    fake_providers_fixture,
    provider_server_fixture,
    refused_url_fixture,
)

pytestmark = pytest.mark.integration

RATE = 16000


@dataclass(frozen=True)
class Case:
    cls: Any  # a SpeechToText subclass taking (settings, *, name=...)
    provider: str  # key for FakeProviderServer.settings
    route: str
    auth_header: str

    @property
    def id(self) -> str:
        return str(self.cls.__name__)


CASES = [
    Case(GroqSTT, "groq", "groq.stt", "authorization"),
    Case(OpenAISTT, "openai", "openai.stt", "authorization"),
    Case(AzureOpenAISTT, "azure", "azure.stt", "api-key"),
    Case(GeminiSTT, "gemini", "gemini.stt", "x-goog-api-key"),
]


def _build(case: Case, settings: ProviderSettings) -> Any:
    return case.cls(settings)


def tone(seconds: float = 1.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
async def make(fake_providers: FakeProviderServer) -> AsyncIterator[Callable[..., Any]]:
    """Build a provider against the fake (settings overridable); closed after the test."""
    built: list[Any] = []

    def build(case: Case, **overrides: Any) -> Any:
        provider = _build(case, fake_providers.settings(case.provider, **overrides))
        built.append(provider)
        return provider

    yield build
    for provider in built:
        await provider.aclose()


def _assert_no_echo(exc: BaseException, logs: list[Any]) -> None:
    assert ECHO not in str(exc)
    assert ECHO not in "".join(traceback.format_exception(exc))
    assert ECHO not in repr(logs)


# ---------------------------------------------------------------------------- success


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_success_returns_the_transcript(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.transcript = "the patient takes metformin"
    stt = make(case)
    result = await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert result.text == "the patient takes metformin"
    assert result.provider == stt.name == case.cls.name
    assert len(fake_providers.requests_to(case.route)) == 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_an_empty_transcript_is_a_valid_answer(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Ok(text=""))
    result = await make(case).transcribe(TranscriptionRequest(audio=tone()))
    assert result.text == ""


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_provider_latency_within_the_deadline_still_succeeds(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Ok(text="late but fine", delay_s=0.2))
    result = await make(case).transcribe(TranscriptionRequest(audio=tone()))
    assert result.text == "late but fine"
    assert result.latency_ms >= 200


@pytest.mark.parametrize("case", [c for c in CASES if c.cls is not GeminiSTT], ids=lambda c: c.id)
async def test_openai_wire_request_shape(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    stt = make(case, model="custom-model")
    audio = tone(1.5)
    await stt.transcribe(TranscriptionRequest(audio=audio, language="de", prompt="Metformin"))
    (rec,) = fake_providers.requests_to(case.route)
    expected_path = {
        "groq": "/openai/v1/audio/transcriptions",
        "openai": "/v1/audio/transcriptions",
        "azure": "/openai/deployments/custom-model/audio/transcriptions",
    }[case.provider]
    assert rec.path == expected_path
    assert rec.authenticated
    assert rec.headers[case.auth_header] == REDACTED
    assert rec.fields["model"] == "custom-model"
    assert rec.fields["language"] == "de"
    assert rec.fields["prompt"] == "Metformin"
    assert rec.fields["response_format"] == "json"
    assert float(rec.fields["temperature"]) == 0.0
    assert rec.upload is not None
    assert rec.upload.content_type == "audio/wav"
    assert rec.upload.filename == "audio.wav"
    assert (rec.upload.sample_rate, rec.upload.channels, rec.upload.frames) == (
        RATE,
        1,
        audio.size,
    )
    if case.provider == "azure":
        assert rec.query == {"api-version": AZURE_API_VERSION}
        assert "authorization" not in rec.headers
    else:
        assert rec.query == {}


@pytest.mark.parametrize("case", [c for c in CASES if c.cls is not GeminiSTT], ids=lambda c: c.id)
async def test_default_model_and_no_prompt_field_without_a_prompt(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    stt = make(case)
    await stt.transcribe(TranscriptionRequest(audio=tone()))
    (rec,) = fake_providers.requests_to(case.route)
    assert rec.fields["model"] == case.cls.DEFAULT_MODEL
    assert rec.fields["language"] == "en"
    assert "prompt" not in rec.fields


@pytest.mark.parametrize("case", [c for c in CASES if c.cls is not GeminiSTT], ids=lambda c: c.id)
async def test_a_timed_request_asks_whisper_models_for_timed_segments(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Ok(text="Any chest pain? No, none at all."))
    stt = make(case, model="whisper-large-v3")
    result = await stt.transcribe(TranscriptionRequest(audio=tone(2.0), timed=True))
    (rec,) = fake_providers.requests_to(case.route)
    assert rec.fields["response_format"] == "verbose_json"
    assert rec.fields["timestamp_granularities[]"] == "segment"
    assert result.text == "Any chest pain? No, none at all."
    assert result.spans == (
        TimedText(" Any chest pain?", 0.0, 1.0),
        TimedText(" No, none at all.", 1.0, 2.0),
    )
    assert joined(result.spans) == result.text


@pytest.mark.parametrize(
    ("case", "model"),
    [(CASES[1], "gpt-4o-mini-transcribe"), (CASES[3], "gemini-2.5-flash")],
    ids=["openai-gpt-4o", "gemini"],
)
async def test_a_timed_request_to_a_model_without_times_is_answered_untimed(
    case: Case, model: str, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.transcript = "any chest pain"
    result = await make(case, model=model).transcribe(
        TranscriptionRequest(audio=tone(), timed=True)
    )
    assert (result.text, result.spans) == ("any chest pain", None)
    (rec,) = fake_providers.requests_to(case.route)
    assert rec.fields.get("response_format", "json") == "json"


async def test_azure_api_version_from_settings(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    stt = make(CASES[2], api_version="2025-03-01-preview", model="whisper-eu")
    await stt.transcribe(TranscriptionRequest(audio=tone()))
    (rec,) = fake_providers.requests_to("azure.stt")
    assert rec.path == "/openai/deployments/whisper-eu/audio/transcriptions"
    assert rec.query == {"api-version": "2025-03-01-preview"}


async def test_gemini_request_shape(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    stt = make(CASES[3], model="gemini-2.5-flash-lite")
    audio = tone(0.75)
    await stt.transcribe(TranscriptionRequest(audio=audio, language="fr", prompt="Amoxicilline"))
    (rec,) = fake_providers.requests_to("gemini.stt")
    assert rec.path == "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert rec.authenticated
    assert rec.headers["x-goog-api-key"] == REDACTED
    assert rec.upload is not None
    assert rec.upload.content_type == "audio/wav"
    assert (rec.upload.sample_rate, rec.upload.channels, rec.upload.frames) == (
        RATE,
        1,
        audio.size,
    )
    config = rec.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["text"]
    assert config["temperature"] == 0.0
    assert "Expected language: fr" in rec.text
    assert "Amoxicilline" in rec.text
    assert "transcri" in rec.text.lower()


async def test_gemini_default_model(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    await make(CASES[3]).transcribe(TranscriptionRequest(audio=tone()))
    (rec,) = fake_providers.requests_to("gemini.stt")
    assert rec.model == GeminiSTT.DEFAULT_MODEL


# ---------------------------------------------------------------------------- failures

FAULTS: list[tuple[str, Behaviour, type[ProviderError], bool]] = [
    ("500", Status(500), ProviderStatusError, True),
    ("503", Status(503), ProviderStatusError, True),
    ("400", Status(400), ProviderStatusError, False),
    ("401", Status(401), ProviderStatusError, False),
    ("403", Status(403), ProviderStatusError, False),
    ("malformed-json", Malformed(), ProviderInvalidResponse, True),
    ("no-text", BadContent("not a transcript"), ProviderInvalidResponse, True),
    ("dropped", Drop(), ProviderConnectionError, True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(
    ("fault", "behaviour", "error", "retryable"), FAULTS, ids=[f[0] for f in FAULTS]
)
async def test_failures_map_to_provider_errors(
    case: Case,
    fault: str,
    behaviour: Behaviour,
    error: type[ProviderError],
    retryable: bool,
    make: Callable[..., Any],
    fake_providers: FakeProviderServer,
) -> None:
    fake_providers.script(case.route, behaviour)
    stt = make(case)
    with structlog.testing.capture_logs() as logs, pytest.raises(error) as info:
        await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert type(info.value) is error
    assert info.value.retryable is retryable
    assert info.value.provider == stt.name
    if isinstance(info.value, ProviderStatusError):
        assert info.value.status == int(fault)
        assert info.value.retry_after_s is None
    assert fake_providers.pending(case.route) == 0
    _assert_no_echo(info.value, logs)
    # The provider stays usable: the next request succeeds.
    assert (await stt.transcribe(TranscriptionRequest(audio=tone()))).text == DEFAULT_TRANSCRIPT


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_429_with_retry_after_is_retryable_with_the_delay(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Status(429, retry_after=7))
    with structlog.testing.capture_logs() as logs, pytest.raises(ProviderStatusError) as info:
        await make(case).transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.status == 429
    assert info.value.retryable
    assert info.value.retry_after_s == 7
    _assert_no_echo(info.value, logs)


async def test_gemini_429_retry_delay_from_the_body(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script("gemini.stt", Status(429, retry_info_s=7))
    with pytest.raises(ProviderStatusError) as info:
        await make(CASES[3]).transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.retry_after_s == 7


async def test_retry_after_as_an_http_date(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script("groq.stt", Status(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))
    with pytest.raises(ProviderStatusError) as info:
        await make(CASES[0]).transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.retry_after_s == 0  # a date in the past: retry now


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_wrong_key_is_a_permanent_401(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    stt = make(case, api_key=SecretStr("wrong-key"))
    with pytest.raises(ProviderStatusError) as info:
        await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.status == 401
    assert not info.value.retryable
    assert info.value.is_configuration_problem
    (rec,) = fake_providers.requests_to(case.route)
    assert not rec.authenticated
    assert "wrong-key" not in repr(rec.headers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_connection_refused(case: Case, make: Callable[..., Any], refused_url: str) -> None:
    stt = make(case, url=refused_url)
    with pytest.raises(ProviderConnectionError) as info:
        await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.retryable
    assert info.value.provider == stt.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_hang_times_out_in_the_sdk(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    """The SDK's own timeout (settings.timeout_s) fires; the base deadline is far away."""
    fake_providers.script(case.route, Hang())
    stt = make(case, timeout_s=0.3)
    stt.timeout_s = 10.0
    with pytest.raises(ProviderTimeout) as info:
        await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert info.value.retryable
    assert isinstance(info.value.__cause__, Exception)
    assert not isinstance(info.value.__cause__, TimeoutError)  # the SDK's error, mapped


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_hang_hits_the_deadline(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    """The base class deadline fires first; the SDK timeout is far away."""
    fake_providers.script(case.route, Hang())
    stt = make(case, timeout_s=10.0)
    stt.timeout_s = 0.3
    with pytest.raises(ProviderTimeout) as info:
        await stt.transcribe(TranscriptionRequest(audio=tone()))
    assert isinstance(info.value.__cause__, TimeoutError)


# ---------------------------------------------------------------------------- probe


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_probe_sends_half_a_second_of_synthetic_audio(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    await make(case).probe()
    (rec,) = fake_providers.requests_to(case.route)
    assert rec.upload is not None
    assert rec.upload.frames == RATE // 2
    assert "prompt" not in rec.fields


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_probe_raises_the_mapped_error(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Status(503))
    with pytest.raises(ProviderStatusError) as info:
        await make(case).probe()
    assert info.value.status == 503


# ---------------------------------------------------------------------------- config


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_missing_key_is_a_config_error(case: Case) -> None:
    with pytest.raises(ConfigError):
        _build(case, ProviderSettings(base_url="http://127.0.0.1:9", api_version="v1"))


def test_azure_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError):
        AzureOpenAISTT(ProviderSettings(api_key=SecretStr("k")))


async def test_names_and_defaults_follow_the_constructor_convention() -> None:
    settings = ProviderSettings(api_key=SecretStr("k"), base_url="http://127.0.0.1:9")
    groq = GroqSTT(settings, name="groq-eu")
    try:
        assert groq.name == "groq-eu"
        assert GroqSTT.name == "groq"
        assert groq.model == GroqSTT.DEFAULT_MODEL == "whisper-large-v3-turbo"
        assert groq.timeout_s == settings.timeout_s
    finally:
        await groq.aclose()
