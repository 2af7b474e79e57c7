"""Note extraction with Gemini through ``google-genai``.

``POST /v1beta/models/{model}:generateContent`` with the incremental prompt's
instructions as ``systemInstruction``, the update as user content, and structured
output: ``responseMimeType: application/json`` plus ``responseJsonSchema`` (the same
strict-subset schema the OpenAI-style extractors send, with nullable fields as ``anyOf``
with ``null`` rather than type arrays; Gemini's JSON Schema support covers
``$defs``/``$ref``, ``anyOf`` and ``enum``). Token usage comes from
``usageMetadata`` (thinking tokens are counted as output, as they are billed).

References: https://ai.google.dev/gemini-api/docs/structured-output,
https://ai.google.dev/api/generate-content,
https://ai.google.dev/gemini-api/docs/thinking (``thinkingBudget: 0`` on Flash).
"""

from __future__ import annotations

from google.genai import types

from drtranscribe.config import ProviderSettings
from drtranscribe.extraction.llm_base import MAX_OUTPUT_TOKENS, Completion, LLMExtractor
from drtranscribe.extraction.llm_note import strict_note_schema
from drtranscribe.extraction.llm_prompt import DEFAULT_CONTEXT_SEGMENTS, NotePrompt
from drtranscribe.vendors.gemini.client import (
    GENAI_CALL_ERRORS,
    GeminiClient,
    raise_genai_error,
    response_text,
    thinking_config,
    usage_tokens,
)


class GeminiExtractor(LLMExtractor):
    """Gemini. ``gemini-2.5-flash`` with thinking off: fast enough for live updates."""

    name = "gemini"
    DEFAULT_MODEL = "gemini-2.5-flash"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str = "gemini",
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)
        self._gemini = GeminiClient(settings, provider=name)

    def _config(self, prompt: NotePrompt) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=prompt.system,
            temperature=0.0,
            max_output_tokens=MAX_OUTPUT_TOKENS,
            response_mime_type="application/json",
            response_json_schema=strict_note_schema(type_arrays=False),
            thinking_config=thinking_config(self.model),
        )

    async def _complete(self, prompt: NotePrompt) -> Completion:
        contents = [types.Content(role="user", parts=[types.Part.from_text(text=prompt.user)])]
        try:
            response = await self._gemini.generate(
                model=self.model, contents=contents, config=self._config(prompt)
            )
        except GENAI_CALL_ERRORS as exc:
            raise_genai_error(self.name, exc)
        input_tokens, output_tokens = usage_tokens(response)
        return Completion(
            content=response_text(self.name, response),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    async def aclose(self) -> None:
        await self._gemini.aclose()
