"""OpenAI's SDK for every OpenAI-compatible vendor: OpenAI, Groq, Azure OpenAI and
OpenAI-compatible servers (Ollama, vLLM, llama.cpp). Client construction (the SDK never
retries: the fallback chain owns retries) and the mapping of the SDK's errors to the
package's ``ProviderError`` tree, once, for speech-to-text (:mod:`.stt`) and the note's LLM
(:mod:`.llm`). Provider error bodies may echo the request, so no mapped error and no log
line carries them.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import NoReturn

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
    raise_mapped,
)

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
    """Raise the mapped error (:func:`~drtranscribe.errors.raise_mapped`)."""
    raise_mapped(map_openai_error(provider, exc), exc)


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
