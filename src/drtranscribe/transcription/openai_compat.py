"""Speech-to-text over the OpenAI audio transcription API: OpenAI, Groq, Azure OpenAI.

All three speak the same multipart request (``file``, ``model``, ``language``,
``prompt``, ``response_format``, ``temperature``) and answer ``{"text": ...}`` for
``response_format=json``; they differ in base URL and authentication:

* OpenAI ``POST https://api.openai.com/v1/audio/transcriptions``, ``Authorization: Bearer``
  (https://platform.openai.com/docs/api-reference/audio/createTranscription,
  https://platform.openai.com/docs/guides/speech-to-text).
* Groq ``POST https://api.groq.com/openai/v1/audio/transcriptions``, ``Authorization: Bearer``
  (https://console.groq.com/docs/speech-to-text).
* Azure OpenAI ``POST {endpoint}/openai/deployments/{deployment}/audio/transcriptions
  ?api-version=...``, ``api-key`` header
  (https://learn.microsoft.com/en-us/azure/ai-services/openai/reference).

The official ``openai`` SDK talks to all three. The SDK never retries (``max_retries=0``):
the fallback chain owns retries. Its errors are mapped here, once, to the package's
``ProviderError`` tree by :func:`map_openai_error` (the OpenAI-compatible extractors use
the same function). Provider error bodies may echo the request, so no mapped error and
no log line carries them, and a mapped status or parse error is raised ``from None``:
the SDK's own message quotes the body.

Audio goes up as 16-bit PCM WAV, mono, 16 kHz (``audio.wav``): lossless, accepted by
every one of these services, and 32 kB/s is far below their 25 MB upload limit for
chunks of 30 s. ``response_format="json"`` because every model accepts it
(``gpt-4o-*-transcribe`` accept only ``json`` and ``text``) and a JSON body can be
validated, where ``text`` cannot tell a truncated answer from a short one.

``base_url`` in :class:`~drtranscribe.config.ProviderSettings` is the SDK's base URL:
``https://api.groq.com/openai/v1``, ``https://api.openai.com/v1``; for Azure it is the
resource endpoint ``https://{resource}.openai.azure.com`` and ``model`` is the
deployment name.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import ClassVar, NoReturn

import httpx
import openai
import pydantic
from openai import AsyncAzureOpenAI, AsyncOpenAI

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderInvalidResponse,
    ProviderStatusError,
    ProviderTimeout,
)
from drtranscribe.transcription.base import SpeechToText, TranscriptionRequest, wav_bytes

DEFAULT_AZURE_API_VERSION = "2024-10-21"  # GA; has /audio/transcriptions and json_schema output

#: What the SDK raises for an answer it could not parse, besides its own error types.
PARSE_ERRORS: tuple[type[Exception], ...] = (json.JSONDecodeError, pydantic.ValidationError)


# ---------------------------------------------------------------------------- the edge


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``retry-after-ms`` (OpenAI), else ``Retry-After`` in seconds or as an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def map_openai_error(provider: str, exc: BaseException) -> ProviderError:
    """The one mapping from ``openai`` SDK (and httpx) errors to ``ProviderError``.

    Only the type, the status and Retry-After survive: messages and bodies stay behind.
    """
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return ProviderTimeout(provider)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return ProviderConnectionError(provider)
    if isinstance(exc, openai.APIStatusError):
        return ProviderStatusError(
            provider, exc.status_code, retry_after_s=retry_after_seconds(exc.response.headers)
        )
    if isinstance(exc, (openai.APIResponseValidationError, *PARSE_ERRORS)):
        return ProviderInvalidResponse(provider)
    return ProviderError(provider, retryable=False, detail=type(exc).__name__)


#: Exceptions a provider call may raise that :func:`map_openai_error` maps.
OPENAI_CALL_ERRORS: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    httpx.HTTPError,
    *PARSE_ERRORS,
)


def raise_openai_error(provider: str, exc: BaseException) -> NoReturn:
    """Raise the mapped error. A timeout or connection failure keeps its cause; a status
    or parse error does not, because the SDK's message quotes the provider's body."""
    mapped = map_openai_error(provider, exc)
    if isinstance(mapped, ProviderTimeout | ProviderConnectionError):
        raise mapped from exc
    raise mapped from None


def _api_key(settings: ProviderSettings, provider: str, *, required: bool = True) -> str:
    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key.get_secret_value()
    if required:
        raise ConfigError(f"{provider}: no api_key configured")
    return "unused"  # local OpenAI-compatible servers (Ollama, vLLM) ignore the key


def openai_client(
    settings: ProviderSettings,
    *,
    provider: str,
    default_base_url: str,
    key_required: bool = True,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` with an explicit base URL (never ``OPENAI_BASE_URL`` from the
    environment), the settings' timeout and no SDK retries."""
    return AsyncOpenAI(
        api_key=_api_key(settings, provider, required=key_required),
        base_url=settings.base_url or default_base_url,
        timeout=settings.timeout_s,
        max_retries=0,
    )


def azure_openai_client(
    settings: ProviderSettings, *, provider: str, deployment: str
) -> AsyncAzureOpenAI:
    """An ``AsyncAzureOpenAI`` bound to one deployment: every call goes to
    ``{endpoint}/openai/deployments/{deployment}/...?api-version=...``."""
    if not settings.base_url:
        raise ConfigError(f"{provider}: base_url (the Azure OpenAI endpoint) is required")
    return AsyncAzureOpenAI(
        azure_endpoint=settings.base_url,
        azure_deployment=deployment,
        api_version=settings.api_version or DEFAULT_AZURE_API_VERSION,
        api_key=_api_key(settings, provider),
        timeout=settings.timeout_s,
        max_retries=0,
    )


# ---------------------------------------------------------------------------- providers


class _OpenAITranscriber(SpeechToText):
    """One ``/audio/transcriptions`` call per chunk through an ``openai`` SDK client."""

    DEFAULT_MODEL: ClassVar[str]

    def __init__(self, settings: ProviderSettings, *, name: str) -> None:
        super().__init__(timeout_s=settings.timeout_s)
        self.name = name
        self.model = settings.model or self.DEFAULT_MODEL
        self._client = self._make_client(settings)
        # Resolved now: the SDK imports its resource modules (~0.5 s, blocking) on first
        # access, which must not happen on the event loop during a live session.
        self._transcriptions = self._client.audio.transcriptions

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        raise NotImplementedError

    async def _transcribe_impl(self, request: TranscriptionRequest) -> str:
        try:
            result = await self._transcriptions.create(
                file=("audio.wav", wav_bytes(request.audio), "audio/wav"),
                model=self.model,
                language=request.language or openai.omit,
                prompt=request.prompt or openai.omit,
                response_format="json",
                temperature=0.0,
            )
        except OPENAI_CALL_ERRORS as exc:
            raise_openai_error(self.name, exc)
        # Without strict validation the SDK builds the model without checking it: a body
        # with no "text" (or a non-JSON body, which arrives as str) is invalid here.
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise ProviderInvalidResponse(self.name, detail="no text in the transcription")
        return text

    async def aclose(self) -> None:
        await self._client.close()


class GroqSTT(_OpenAITranscriber):
    """Whisper on Groq. ``whisper-large-v3-turbo``: Groq's fast multilingual Whisper."""

    name = "groq"
    DEFAULT_MODEL = "whisper-large-v3-turbo"
    DEFAULT_BASE_URL = "https://api.groq.com/openai/v1"

    def __init__(self, settings: ProviderSettings, *, name: str = "groq") -> None:
        super().__init__(settings, name=name)

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        return openai_client(settings, provider=self.name, default_base_url=self.DEFAULT_BASE_URL)


class OpenAISTT(_OpenAITranscriber):
    """OpenAI transcription.

    ``gpt-4o-mini-transcribe`` by default: OpenAI reports a lower word error rate than
    ``whisper-1`` at half its per-minute price, and its ``prompt`` is free text (useful
    for clinical vocabulary) where ``whisper-1`` treats it as preceding transcript.
    """

    name = "openai"
    DEFAULT_MODEL = "gpt-4o-mini-transcribe"
    DEFAULT_BASE_URL = "https://api.openai.com/v1"

    def __init__(self, settings: ProviderSettings, *, name: str = "openai") -> None:
        super().__init__(settings, name=name)

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        return openai_client(settings, provider=self.name, default_base_url=self.DEFAULT_BASE_URL)


class AzureOpenAISTT(_OpenAITranscriber):
    """Azure OpenAI transcription; ``settings.model`` is the deployment name."""

    name = "azure_openai"
    DEFAULT_MODEL = "whisper"  # the deployment name Azure's quickstarts use

    def __init__(self, settings: ProviderSettings, *, name: str = "azure_openai") -> None:
        super().__init__(settings, name=name)

    @property
    def deployment(self) -> str:
        return self.model

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        return azure_openai_client(settings, provider=self.name, deployment=self.model)
