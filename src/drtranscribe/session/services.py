"""What every session shares: built once per process by the app (or the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from drtranscribe.config import Settings
from drtranscribe.extraction.base import Extractor
from drtranscribe.resilience.chain import FallbackChain
from drtranscribe.state.store import SessionStore
from drtranscribe.storage.base import AudioStore
from drtranscribe.transcription.base import SpeechToText


@dataclass
class SessionServices:
    settings: Settings
    store: SessionStore
    audio: AudioStore
    stt: FallbackChain[SpeechToText]
    extraction: FallbackChain[Extractor]
