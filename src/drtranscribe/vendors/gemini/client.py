"""Google's ``google-genai`` SDK for Gemini: the client (API key, version, base URL, no SDK
retries), the mapping of its errors to the package's ``ProviderError`` tree, and what both
uses of Gemini read from an answer (text, token usage, thinking settings), for
speech-to-text (:mod:`.stt`) and the note's LLM (:mod:`.llm`).
"""

from __future__ import annotations

import json
import re
from typing import NoReturn

import httpx
import pydantic
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from drtranscribe.config import ProviderSettings
from drtranscribe.errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderInvalidResponse,
    ProviderStatusError,
    ProviderTimeout,
    raise_mapped,
)

DEFAULT_API_VERSION = "v1beta"
PARSE_ERRORS: tuple[type[Exception], ...] = (json.JSONDecodeError, pydantic.ValidationError)
#: Exceptions a ``generate_content`` call may raise that :func:`map_genai_error` maps.
GENAI_CALL_ERRORS: tuple[type[Exception], ...] = (
    genai_errors.APIError,
    httpx.HTTPError,
    *PARSE_ERRORS,
)

_RETRY_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


# ---------------------------------------------------------------------------- the edge


def _retry_after(exc: genai_errors.APIError) -> float | None:
    """``Retry-After`` header if present, else the ``google.rpc.RetryInfo`` detail."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        value = headers.get("retry-after")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    details = error.get("details", []) if isinstance(error, dict) else []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def map_genai_error(provider: str, exc: BaseException) -> ProviderError:
    """The one mapping from ``google-genai`` (and httpx) errors to ``ProviderError``."""
    if isinstance(exc, genai_errors.APIError):
        status = exc.code if isinstance(exc.code, int) and exc.code >= 400 else 502
        return ProviderStatusError(provider, status, retry_after_s=_retry_after(exc))
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(provider)
    if isinstance(exc, httpx.TransportError):
        return ProviderConnectionError(provider)
    if isinstance(exc, PARSE_ERRORS):
        return ProviderInvalidResponse(provider)
    return ProviderError(provider, retryable=False, detail=type(exc).__name__)


def raise_genai_error(provider: str, exc: BaseException) -> NoReturn:
    """Raise the mapped error (:func:`~drtranscribe.errors.raise_mapped`)."""
    raise_mapped(map_genai_error(provider, exc), exc)


class GeminiClient:
    """A ``genai.Client`` plus the httpx client it runs on; ``aclose`` closes both."""

    def __init__(self, settings: ProviderSettings, *, provider: str) -> None:
        if settings.api_key is None or not settings.api_key.get_secret_value():
            raise ConfigError(f"{provider}: no api_key configured")
        self._http = httpx.AsyncClient(timeout=settings.timeout_s)
        options = types.HttpOptions(
            base_url=settings.base_url,
            api_version=settings.api_version or DEFAULT_API_VERSION,
            timeout=max(1, int(settings.timeout_s * 1000)),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=self._http,
        )
        self.client = genai.Client(
            api_key=settings.api_key.get_secret_value(), vertexai=False, http_options=options
        )

    async def generate(
        self, *, model: str, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        return await self.client.aio.models.generate_content(
            model=model, contents=contents, config=config
        )

    async def aclose(self) -> None:
        await self.client.aio.aclose()
        self.client.close()
        await self._http.aclose()


def thinking_config(model: str) -> types.ThinkingConfig | None:
    """Thinking off where a model allows it (2.5 Flash / Flash-Lite); the model's default
    elsewhere (2.5 Pro cannot turn it off)."""
    if model.startswith("gemini-2.5-flash"):
        return types.ThinkingConfig(thinking_budget=0)
    return None


def response_text(provider: str, response: types.GenerateContentResponse) -> str:
    """The text of the first candidate; a blocked or cut-off answer is invalid."""
    candidates = response.candidates or []
    if not candidates:
        raise ProviderInvalidResponse(provider, detail="no candidates")
    candidate = candidates[0]
    reason = candidate.finish_reason
    if reason is not None and reason != types.FinishReason.STOP:
        raise ProviderInvalidResponse(provider, detail=f"finish reason {reason.value}")
    parts = candidate.content.parts if candidate.content is not None else None
    return "".join(p.text for p in parts or [] if p.text and not p.thought)


def usage_tokens(response: types.GenerateContentResponse) -> tuple[int | None, int | None]:
    """(input, output) tokens; output counts thinking tokens, which are billed as output."""
    usage = response.usage_metadata
    if usage is None:
        return None, None
    output = None
    if usage.candidates_token_count is not None or usage.thoughts_token_count is not None:
        output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return usage.prompt_token_count, output


# ---------------------------------------------------------------------------- provider
