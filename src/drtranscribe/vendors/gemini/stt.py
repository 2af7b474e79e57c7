"""Speech-to-text with Gemini through the ``google-genai`` SDK.

Gemini has no transcription endpoint: the audio goes inline (``inlineData`` with
``mimeType: audio/wav``, base64) into ``POST /v1beta/models/{model}:generateContent``
with a transcription instruction, authenticated by the ``x-goog-api-key`` header.
The answer is constrained to ``{"text": string}`` by structured output
(``responseMimeType: application/json`` + ``responseJsonSchema``), so a preamble such as
"Here is the transcript:" cannot slip into the text and a truncated answer is detected.

References:
https://ai.google.dev/gemini-api/docs/audio (inline audio, supported MIME types),
https://ai.google.dev/gemini-api/docs/structured-output (JSON schema output),
https://ai.google.dev/api/generate-content (request and response fields, usageMetadata),
https://ai.google.dev/gemini-api/docs/troubleshooting (error statuses).

The SDK is given its own ``httpx.AsyncClient`` (so the transport is httpx whatever
optional packages are installed, and :meth:`aclose` closes it), a timeout, and
``HttpRetryOptions(attempts=1)``: the fallback chain owns retries. ``base_url`` and
``api_version`` in :class:`~drtranscribe.config.ProviderSettings` override the endpoint
(``https://generativelanguage.googleapis.com``, ``v1beta``), which is how tests point
the provider at a fake. Errors are mapped once by :func:`map_genai_error` (the Gemini
extractor uses it too); no error body, which may echo the request, is kept: a mapped
status or parse error is raised ``from None``.

``gemini-2.5-flash`` by default, with thinking off (``thinking_budget=0``, the Flash
models allow it): transcription gains nothing from it and it adds latency.
"""

from __future__ import annotations

import json
from typing import Any

from google.genai import types

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.transcription.base import SpeechToText, TranscriptionRequest, wav_bytes
from drtranscribe.vendors.gemini.client import (
    GENAI_CALL_ERRORS,
    GeminiClient,
    raise_genai_error,
    response_text,
    thinking_config,
)

TRANSCRIBE_INSTRUCTION = (
    "You are a medical transcriptionist. Transcribe the speech in the audio verbatim, in "
    "the language it is spoken. Write only what is said: no summary, no speaker labels, "
    "no timestamps, no comments. Keep drug names, doses and numbers exactly as spoken. "
    'If there is no speech, return an empty string. Answer as JSON: {"text": "..."}.'
)

TRANSCRIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "The verbatim transcript."}},
    "required": ["text"],
    "additionalProperties": False,
}


def transcription_prompt(language: str, context: str | None) -> str:
    text = f"Transcribe this audio. Expected language: {language or 'auto-detect'}."
    if context:
        text += (
            "\nEarlier in this consultation (for spelling of names and terms only; do not "
            f"transcribe it):\n{context}"
        )
    return text


class GeminiSTT(SpeechToText):
    name = "gemini"
    DEFAULT_MODEL = "gemini-2.5-flash"

    def __init__(self, settings: ProviderSettings, *, name: str = "gemini") -> None:
        super().__init__(timeout_s=settings.timeout_s)
        self.name = name
        self.model = settings.model or self.DEFAULT_MODEL
        self._gemini = GeminiClient(settings, provider=name)

    def _config(self) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=TRANSCRIBE_INSTRUCTION,
            temperature=0.0,
            response_mime_type="application/json",
            response_json_schema=TRANSCRIPT_SCHEMA,
            thinking_config=thinking_config(self.model),
        )

    async def _transcribe_impl(self, request: TranscriptionRequest) -> str:
        contents = [
            types.Content(
                role="user",
                parts=[
                    types.Part.from_text(
                        text=transcription_prompt(request.language, request.prompt)
                    ),
                    types.Part.from_bytes(data=wav_bytes(request.audio), mime_type="audio/wav"),
                ],
            )
        ]
        try:
            response = await self._gemini.generate(
                model=self.model, contents=contents, config=self._config()
            )
        except GENAI_CALL_ERRORS as exc:
            raise_genai_error(self.name, exc)
        raw = response_text(self.name, response)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ProviderInvalidResponse(self.name, detail="answer is not JSON") from None
        text = answer.get("text") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise ProviderInvalidResponse(self.name, detail="no text in the answer")
        return text

    async def aclose(self) -> None:
        await self._gemini.aclose()
