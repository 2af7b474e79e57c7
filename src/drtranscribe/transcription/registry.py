"""Speech-to-text providers by configured name. A plain dict: nothing registers on import,
and a provider's module (and its SDK) is imported only when a chain names it."""

from __future__ import annotations

from collections.abc import Callable

from drtranscribe.config import Settings
from drtranscribe.errors import ConfigError
from drtranscribe.transcription.base import SpeechToText


def _local_whisper(settings: Settings) -> SpeechToText:
    from drtranscribe.transcription.local_whisper import LocalWhisper

    return LocalWhisper(settings.whisper)


PROVIDERS: dict[str, Callable[[Settings], SpeechToText]] = {
    "local_whisper": _local_whisper,
}


def build_stt(settings: Settings) -> list[SpeechToText]:
    unknown = [n for n in settings.stt_chain if n not in PROVIDERS]
    if unknown:
        raise ConfigError(f"unknown speech-to-text providers {unknown}; known: {sorted(PROVIDERS)}")
    return [PROVIDERS[name](settings) for name in settings.stt_chain]
