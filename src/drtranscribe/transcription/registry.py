"""Speech-to-text providers by configured name. A plain dict: nothing registers on import,
and a provider's module (and its SDK) is imported only when a chain names it."""

from __future__ import annotations

from collections.abc import Callable

from drtranscribe.config import ProviderSettings, Settings
from drtranscribe.providers import build_members
from drtranscribe.transcription.base import SpeechToText


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
    return build_members(settings, settings.stt_chain, PROVIDERS, chain="speech-to-text")
