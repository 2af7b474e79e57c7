"""Speech-to-text providers by configured name. A plain dict: nothing registers on import,
and a provider's module (and its SDK) is imported only when a chain names it."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from drtranscribe.config import ProviderSettings, Settings
from drtranscribe.errors import ConfigError
from drtranscribe.providers import is_usable, provider_settings
from drtranscribe.transcription.base import SpeechToText

log = structlog.get_logger(__name__)


def _local_whisper(settings: Settings, _: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.local_whisper import LocalWhisper

    return LocalWhisper(settings.whisper)


def _groq(_: Settings, config: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.openai_compat import GroqSTT

    return GroqSTT(config)


def _openai(_: Settings, config: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.openai_compat import OpenAISTT

    return OpenAISTT(config)


def _azure_openai(_: Settings, config: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.openai_compat import AzureOpenAISTT

    return AzureOpenAISTT(config)


def _gemini(_: Settings, config: ProviderSettings) -> SpeechToText:
    from drtranscribe.transcription.gemini import GeminiSTT

    return GeminiSTT(config)


PROVIDERS: dict[str, Callable[[Settings, ProviderSettings], SpeechToText]] = {
    "local_whisper": _local_whisper,
    "groq": _groq,
    "openai": _openai,
    "azure_openai": _azure_openai,
    "gemini": _gemini,
}


def build_stt(settings: Settings) -> list[SpeechToText]:
    """The configured chain, minus cloud providers that have no key."""
    unknown = [n for n in settings.stt_chain if n not in PROVIDERS]
    if unknown:
        raise ConfigError(f"unknown speech-to-text providers {unknown}; known: {sorted(PROVIDERS)}")
    chain = []
    for name in settings.stt_chain:
        if not is_usable(settings, name):
            log.info("provider.not_configured", chain="stt", provider=name)
            continue
        chain.append(PROVIDERS[name](settings, provider_settings(settings, name)))
    if not chain:
        raise ConfigError("no usable speech-to-text provider: add local_whisper or configure a key")
    return chain
