"""Every provider, described once: its name, what it offers (speech-to-text, the note's
extraction, or both), where its key and endpoint come from, and how each adapter is built.
Both chains are built from this table.

A chain in ``settings.yaml`` lists providers in order, e.g. ``[groq, gemini, openai,
local_whisper]``. A cloud provider without a key is skipped (and logged once at start),
so the same settings file serves production and the offline default: with no keys the
chain is just the local provider. Keys come from ``providers.<name>.api_key``
(``DRT_PROVIDERS__GROQ__API_KEY``) or, when that is unset, the provider's conventional
variable (``GROQ_API_KEY``, ...). A factory imports its vendor's module (and SDK) only when
a chain names the provider: nothing registers on import.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import structlog
from pydantic import SecretStr

from drtranscribe.config import ProviderSettings, Settings
from drtranscribe.errors import ConfigError

if TYPE_CHECKING:
    from drtranscribe.extraction.base import Extractor
    from drtranscribe.transcription.base import SpeechToText

log = structlog.get_logger(__name__)
T = TypeVar("T")
Factory = Callable[[Settings, ProviderSettings], T]


@dataclass(frozen=True)
class Provider:
    name: str
    #: What makes it usable: a key, a base URL (self-hosted servers), both (Azure), or
    #: nothing (the local providers, always there).
    needs: Literal["key", "url", "key_and_url", "nothing"] = "key"
    env_keys: tuple[str, ...] = ()
    env_urls: tuple[str, ...] = ()
    stt: Factory[SpeechToText] | None = None
    extraction: Factory[Extractor] | None = None


# -------------------------------------------------------------- factories (lazy imports)


def _local_whisper(settings: Settings, _: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.local_whisper import LocalWhisper

    return LocalWhisper(settings.whisper)


def _local(_: Settings, __: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.local import LocalExtractor

    return LocalExtractor()


def _adapter(module: str, cls: str) -> Factory[Any]:
    """A factory that imports ``module`` (and its vendor's SDK) only when it is called and
    builds ``cls`` from the provider's settings."""

    def build(_: Settings, config: ProviderSettings) -> Any:
        return getattr(importlib.import_module(module), cls)(config)

    return build


_OPENAI_STT = "drtranscribe.vendors.openai.stt"
_OPENAI_LLM = "drtranscribe.vendors.openai.llm"
_GEMINI_STT = "drtranscribe.vendors.gemini.stt"
_GEMINI_LLM = "drtranscribe.vendors.gemini.llm"


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("local_whisper", needs="nothing", stt=_local_whisper),
        Provider("local", needs="nothing", extraction=_local),
        Provider(
            "groq",
            env_keys=("GROQ_API_KEY",),
            stt=_adapter(_OPENAI_STT, "GroqSTT"),
            extraction=_adapter(_OPENAI_LLM, "GroqExtractor"),
        ),
        Provider(
            "openai",
            env_keys=("OPENAI_API_KEY",),
            stt=_adapter(_OPENAI_STT, "OpenAISTT"),
            extraction=_adapter(_OPENAI_LLM, "OpenAIExtractor"),
        ),
        Provider(
            "gemini",
            env_keys=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            stt=_adapter(_GEMINI_STT, "GeminiSTT"),
            extraction=_adapter(_GEMINI_LLM, "GeminiExtractor"),
        ),
        Provider(
            "azure_openai",
            needs="key_and_url",
            env_keys=("AZURE_OPENAI_API_KEY",),
            env_urls=("AZURE_OPENAI_ENDPOINT",),
            stt=_adapter(_OPENAI_STT, "AzureOpenAISTT"),
            extraction=_adapter(_OPENAI_LLM, "AzureOpenAIExtractor"),
        ),
        # Ollama, vLLM, llama.cpp: a base URL is enough.
        Provider(
            "openai_compatible",
            needs="url",
            env_urls=("OPENAI_COMPATIBLE_BASE_URL",),
            extraction=_adapter(_OPENAI_LLM, "OpenAICompatibleExtractor"),
        ),
    )
}


def provider_settings(settings: Settings, name: str) -> ProviderSettings:
    """``providers.<name>`` from the settings, its key and URL filled in from the
    provider's conventional variables where the settings leave them unset."""
    provider = PROVIDERS[name]
    configured = settings.providers.get(name, ProviderSettings())
    updates: dict[str, object] = {}
    if configured.api_key is None:
        key = next((os.environ[v] for v in provider.env_keys if os.environ.get(v)), None)
        if key:
            updates["api_key"] = SecretStr(key)
    if configured.base_url is None:
        url = next((os.environ[v] for v in provider.env_urls if os.environ.get(v)), None)
        if url:
            updates["base_url"] = url
    return configured.model_copy(update=updates) if updates else configured


def is_usable(settings: Settings, name: str) -> bool:
    needs = PROVIDERS[name].needs
    if needs == "nothing":
        return True
    config = provider_settings(settings, name)
    has_url = config.base_url is not None
    return {"key": config.configured, "url": has_url, "key_and_url": config.configured and has_url}[
        needs
    ]


def _build(settings: Settings, names: list[str], chain: str, capability: str) -> list[T]:
    """The providers of one chain in order, minus cloud providers that are not set up."""
    offered = {n: p for n, p in PROVIDERS.items() if getattr(p, capability) is not None}
    unknown = [n for n in names if n not in offered]
    if unknown:
        raise ConfigError(f"unknown {chain} providers {unknown}; known: {sorted(offered)}")
    members: list[T] = []
    for name in names:
        if not is_usable(settings, name):
            log.info("provider.not_configured", chain=chain, provider=name)
            continue
        factory: Factory[T] = getattr(offered[name], capability)
        members.append(factory(settings, provider_settings(settings, name)))
    if not members:
        raise ConfigError(f"no usable {chain} provider: add a local one or configure a key")
    return members


def build_stt(settings: Settings) -> list[SpeechToText]:
    """The speech-to-text chain as configured, minus cloud providers that have no key."""
    return _build(settings, settings.stt_chain, "speech-to-text", "stt")


def build_extractors(settings: Settings) -> list[Extractor]:
    """The extraction chain as configured, minus cloud providers that have no key."""
    return _build(settings, settings.extraction_chain, "extraction", "extraction")
