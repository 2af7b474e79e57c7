"""Extractors by configured name. A plain dict: nothing registers on import, and a
provider's module (and its SDK) is imported only when a chain names it."""

from __future__ import annotations

from collections.abc import Callable

from drtranscribe.config import ProviderSettings, Settings
from drtranscribe.extraction.base import Extractor
from drtranscribe.providers import build_members


def _local(_: Settings, __: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.local import LocalExtractor

    return LocalExtractor()


def _openai(_: Settings, config: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.llm import OpenAIExtractor

    return OpenAIExtractor(config)


def _openai_compatible(_: Settings, config: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.llm import OpenAICompatibleExtractor

    return OpenAICompatibleExtractor(config)


def _azure_openai(_: Settings, config: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.llm import AzureOpenAIExtractor

    return AzureOpenAIExtractor(config)


def _groq(_: Settings, config: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.llm import GroqExtractor

    return GroqExtractor(config)


def _gemini(_: Settings, config: ProviderSettings) -> Extractor:
    from drtranscribe.extraction.llm_gemini import GeminiExtractor

    return GeminiExtractor(config)


PROVIDERS: dict[str, Callable[[Settings, ProviderSettings], Extractor]] = {
    "local": _local,
    "openai": _openai,
    "openai_compatible": _openai_compatible,
    "azure_openai": _azure_openai,
    "groq": _groq,
    "gemini": _gemini,
}


def build_extractors(settings: Settings) -> list[Extractor]:
    """The configured chain, minus cloud providers that have no key."""
    return build_members(settings, settings.extraction_chain, PROVIDERS, chain="extraction")
