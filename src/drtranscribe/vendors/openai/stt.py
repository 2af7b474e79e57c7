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
validated, where ``text`` cannot tell a truncated answer from a short one. A request for
timed words (two-channel audio) asks the Whisper models for ``verbose_json`` with timed
segments (phrases: the word times come without punctuation); the others answer untimed.

``base_url`` in :class:`~drtranscribe.config.ProviderSettings` is the SDK's base URL:
``https://api.groq.com/openai/v1``, ``https://api.openai.com/v1``; for Azure it is the
resource endpoint ``https://{resource}.openai.azure.com`` and ``model`` is the
deployment name.
"""

from __future__ import annotations

from typing import Any, ClassVar

import openai
from openai import AsyncOpenAI

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.transcription.base import (
    Heard,
    SpeechToText,
    TimedText,
    TranscriptionRequest,
    wav_bytes,
)
from drtranscribe.vendors.openai.client import (
    OPENAI_CALL_ERRORS,
    azure_openai_client,
    openai_client,
    raise_openai_error,
)


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

    @property
    def times_phrases(self) -> bool:
        """Whisper models answer ``verbose_json`` with timed segments; the
        ``gpt-4o-*-transcribe`` models accept only ``json`` and ``text``."""
        return "whisper" in self.model.lower()

    async def _transcribe_impl(self, request: TranscriptionRequest) -> Heard:
        timed = request.timed and self.times_phrases
        call: dict[str, Any] = {
            "file": ("audio.wav", wav_bytes(request.audio), "audio/wav"),
            "model": self.model,
            "language": request.language or openai.omit,
            "prompt": request.prompt or openai.omit,
            "temperature": 0.0,
        }
        result: object
        try:
            if timed:
                result = await self._transcriptions.create(
                    **call, response_format="verbose_json", timestamp_granularities=["segment"]
                )
            else:
                result = await self._transcriptions.create(**call, response_format="json")
        except OPENAI_CALL_ERRORS as exc:
            raise_openai_error(self.name, exc)
        # Without strict validation the SDK builds the model without checking it: a body
        # with no "text" (or a non-JSON body, which arrives as str) is invalid here.
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise ProviderInvalidResponse(self.name, detail="no text in the transcription")
        return Heard(text, _timed_segments(self.name, result) if timed else None)

    async def aclose(self) -> None:
        await self._client.close()


def _timed_segments(provider: str, result: object) -> tuple[TimedText, ...]:
    """``verbose_json``'s ``segments`` (each ``{text, start, end, ...}``) as timed phrases."""
    spans = []
    for segment in getattr(result, "segments", None) or []:
        text, start, end = (
            getattr(segment, "text", None),
            getattr(segment, "start", None),
            getattr(segment, "end", None),
        )
        if not isinstance(text, str) or not all(isinstance(t, int | float) for t in (start, end)):
            raise ProviderInvalidResponse(provider, detail="a segment without text or times")
        spans.append(TimedText(" " + text.strip(), float(start), float(end)))  # type: ignore[arg-type]
    return tuple(spans)


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
