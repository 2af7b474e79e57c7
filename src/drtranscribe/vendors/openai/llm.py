"""Note extraction with OpenAI-style chat completions: OpenAI, Azure OpenAI, Groq and any
OpenAI-compatible server (Ollama, vLLM, llama.cpp server).

One ``POST .../chat/completions`` per note update, through the official ``openai`` SDK
(no SDK retries: the chain owns them), with structured output::

    response_format={"type": "json_schema",
                     "json_schema": {"name": "clinical_note", "schema": ..., "strict": ...}}

References: https://platform.openai.com/docs/api-reference/chat/create,
https://platform.openai.com/docs/guides/structured-outputs,
https://console.groq.com/docs/structured-outputs,
https://learn.microsoft.com/en-us/azure/ai-services/openai/reference (``api-key``,
``api-version``, ``/openai/deployments/{deployment}/chat/completions``).

The schema is the strict subset (see :mod:`drtranscribe.extraction.llm_note`), so
``strict`` is on for OpenAI and Azure (constrained decoding) and for Groq's
``openai/gpt-oss-*`` models, the ones Groq supports strict mode on; other Groq models
get the same schema best-effort. OpenAI-compatible servers get ``strict`` too: those
that constrain decoding honour it, the others ignore it. Whatever the mode, the answer
is validated, and an invalid one is a retryable ``ProviderInvalidResponse``.

Prompting is incremental (:mod:`drtranscribe.extraction.llm_prompt`); the shared flow
(validation, stable ids, the ``extract.llm_call`` log line with token usage, the probe)
is :class:`~drtranscribe.extraction.llm_base.LLMExtractor`. Gemini's extractor is
:mod:`drtranscribe.vendors.gemini.llm`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import openai
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.shared_params import ResponseFormatJSONSchema

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.extraction.llm_base import MAX_OUTPUT_TOKENS, Completion, LLMExtractor
from drtranscribe.extraction.llm_note import SCHEMA_NAME, strict_note_schema
from drtranscribe.extraction.llm_prompt import DEFAULT_CONTEXT_SEGMENTS, NotePrompt
from drtranscribe.vendors.openai.client import (
    OPENAI_CALL_ERRORS,
    azure_openai_client,
    openai_client,
    raise_openai_error,
)

__all__ = [
    "AzureOpenAIExtractor",
    "GroqExtractor",
    "OpenAICompatibleExtractor",
    "OpenAIExtractor",
    "response_format",
]

_NO_TEMPERATURE = ("o1", "o3", "o4", "gpt-5")  # reasoning models reject a temperature


def response_format(*, strict: bool) -> ResponseFormatJSONSchema:
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": strict_note_schema(), "strict": strict},
    }


def _messages(prompt: NotePrompt) -> list[ChatCompletionMessageParam]:
    system: ChatCompletionSystemMessageParam = {"role": "system", "content": prompt.system}
    user: ChatCompletionUserMessageParam = {"role": "user", "content": prompt.user}
    return [system, user]


def _answer(provider: str, completion: Any) -> Completion:
    """Content and usage of a chat completion. The SDK does not validate what it parses,
    so every field is checked here."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise ProviderInvalidResponse(provider, detail="no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if getattr(message, "refusal", None):
        raise ProviderInvalidResponse(provider, detail="the model refused")
    if getattr(choice, "finish_reason", None) == "length":
        raise ProviderInvalidResponse(provider, detail="answer cut off at the token limit")
    content = getattr(message, "content", None)
    usage = getattr(completion, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    return Completion(
        content=content if isinstance(content, str) else None,
        input_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
        output_tokens=completion_tokens if isinstance(completion_tokens, int) else None,
    )


class _ChatExtractor(LLMExtractor):
    """One chat completion per update through an ``openai`` SDK client."""

    #: Name of the output-limit parameter the server understands.
    LIMIT_PARAM: ClassVar[Literal["max_completion_tokens", "max_tokens"]] = "max_completion_tokens"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str,
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)
        self._client = self._make_client(settings)
        # Resolved now: the SDK imports its resource modules on first access (blocking).
        self._completions = self._client.chat.completions

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        raise NotImplementedError

    @property
    def strict(self) -> bool:
        return True

    def _reasoning_effort(self) -> Literal["low"] | None:
        return None

    async def _complete(self, prompt: NotePrompt) -> Completion:
        limit = MAX_OUTPUT_TOKENS
        try:
            completion = await self._completions.create(
                model=self.model,
                messages=_messages(prompt),
                response_format=response_format(strict=self.strict),
                temperature=openai.omit if self.model.startswith(_NO_TEMPERATURE) else 0.0,
                max_completion_tokens=(
                    limit if self.LIMIT_PARAM == "max_completion_tokens" else openai.omit
                ),
                max_tokens=limit if self.LIMIT_PARAM == "max_tokens" else openai.omit,
                reasoning_effort=self._reasoning_effort() or openai.omit,
            )
        except OPENAI_CALL_ERRORS as exc:
            raise_openai_error(self.name, exc)
        return _answer(self.name, completion)

    async def aclose(self) -> None:
        await self._client.close()


class OpenAIExtractor(_ChatExtractor):
    """OpenAI. ``gpt-4.1-mini``: strict structured outputs, no reasoning latency."""

    name = "openai"
    DEFAULT_MODEL = "gpt-4.1-mini"
    DEFAULT_BASE_URL = "https://api.openai.com/v1"
    KEY_REQUIRED: ClassVar[bool] = True

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str = "openai",
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        # A custom base_url without a key is a local server (Ollama, vLLM): no key needed.
        required = self.KEY_REQUIRED and not settings.base_url
        return openai_client(
            settings,
            provider=self.name,
            default_base_url=self.DEFAULT_BASE_URL,
            key_required=required,
        )


class OpenAICompatibleExtractor(OpenAIExtractor):
    """Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server) at ``base_url``.

    The key is optional, and the output limit is sent as ``max_tokens``, which these
    servers understand (``max_completion_tokens`` is newer). ``settings.model`` names
    the served model; the default is a small local one.
    """

    name = "openai_compatible"
    DEFAULT_MODEL = "llama3.1:8b"
    DEFAULT_BASE_URL = "http://localhost:11434/v1"  # Ollama
    KEY_REQUIRED = False
    LIMIT_PARAM = "max_tokens"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str = "openai_compatible",
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)


class AzureOpenAIExtractor(_ChatExtractor):
    """Azure OpenAI; ``settings.model`` is the deployment name, ``base_url`` the endpoint."""

    name = "azure_openai"
    DEFAULT_MODEL = "gpt-4.1-mini"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str = "azure_openai",
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        return azure_openai_client(settings, provider=self.name, deployment=self.model)


class GroqExtractor(_ChatExtractor):
    """Groq. ``openai/gpt-oss-120b``: strict structured outputs on Groq, with low
    reasoning effort to keep an update around a second."""

    name = "groq"
    DEFAULT_MODEL = "openai/gpt-oss-120b"
    DEFAULT_BASE_URL = "https://api.groq.com/openai/v1"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str = "groq",
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(settings, name=name, context_segments=context_segments)

    def _make_client(self, settings: ProviderSettings) -> AsyncOpenAI:
        return openai_client(settings, provider=self.name, default_base_url=self.DEFAULT_BASE_URL)

    @property
    def strict(self) -> bool:
        return self.model.startswith("openai/gpt-oss")

    def _reasoning_effort(self) -> Literal["low"] | None:
        return "low" if self.model.startswith("openai/gpt-oss") else None
