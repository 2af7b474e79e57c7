"""The speech-to-text port.

A provider implements ``_transcribe_impl``; the public ``transcribe`` owns the deadline,
error mapping and the canonical log line. Audio arrives as mono float32 at 16 kHz. A
request may ask for timed words (``timed``): local Whisper times every word, the cloud
Whisper models time phrases, and the others answer text only.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
import structlog

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.errors import ProviderError, ProviderTimeout

log = structlog.get_logger(__name__)


SAMPLE_RATE = 16000


def wav_bytes(audio: npt.NDArray[np.float32]) -> bytes:
    """Mono float32 at 16 kHz as a 16-bit PCM WAV file (what cloud providers upload)."""
    clipped = np.clip(np.nan_to_num(audio, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    samples = np.round(clipped * 32767.0).astype(np.int16).reshape(-1, 1)
    return encode_wav(PcmAudio(samples=samples, sample_rate=SAMPLE_RATE))


def probe_audio(seconds: float = 0.5) -> npt.NDArray[np.float32]:
    """A quiet 440 Hz tone: synthetic, never patient audio."""
    t = np.arange(int(seconds * SAMPLE_RATE), dtype=np.float32) / SAMPLE_RATE
    tone: npt.NDArray[np.float32] = (0.1 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    return tone


class Priority(IntEnum):
    """Lower runs first when providers queue work: interim results keep the live view fast."""

    INTERIM = 0
    FINAL = 1
    BACKGROUND = 2


@dataclass(frozen=True)
class TimedText:
    """A word (or, from providers that time only phrases, a phrase) with its time in the
    request's audio. ``text`` keeps the spacing the provider wrote, so the texts of a
    result's spans concatenate to its text (:func:`joined`)."""

    text: str
    start: float
    end: float


def joined(spans: Sequence[TimedText]) -> str:
    return " ".join("".join(s.text for s in spans).split())


@dataclass(frozen=True)
class Heard:
    """What a provider heard: the text, and its timed spans when they were asked for and
    the provider gives them."""

    text: str
    spans: tuple[TimedText, ...] | None = None


@dataclass(frozen=True)
class TranscriptionRequest:
    audio: npt.NDArray[np.float32]
    language: str = "en"
    priority: Priority = Priority.INTERIM
    prompt: str | None = None
    #: Ask for the time of each word (two-channel audio attributes words to speakers by
    #: it); a provider that cannot time words answers with phrases or without times.
    timed: bool = False

    @property
    def duration_s(self) -> float:
        return self.audio.size / 16000


@dataclass(frozen=True)
class TranscriptionResult:
    text: str
    provider: str
    latency_ms: float
    spans: tuple[TimedText, ...] | None = None  # when the request asked for ``timed``


class SpeechToText(ABC):
    name: str = "stt"

    def __init__(self, *, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s

    async def transcribe(self, request: TranscriptionRequest) -> TranscriptionResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                heard = await self._transcribe_impl(request)
        except TimeoutError as exc:
            log.warning("stt.timeout", provider=self.name)
            raise ProviderTimeout(self.name) from exc
        except ProviderError as exc:
            log.warning("stt.failed", provider=self.name, category=exc.category)
            raise
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        log.debug(
            "stt.done",
            provider=self.name,
            latency_ms=latency_ms,
            audio_s=round(request.duration_s, 2),
            priority=request.priority.name.lower(),
        )
        if isinstance(heard, str):
            heard = Heard(heard)
        return TranscriptionResult(
            text=heard.text.strip(),
            provider=self.name,
            latency_ms=latency_ms,
            spans=heard.spans if request.timed else None,
        )

    @abstractmethod
    async def _transcribe_impl(self, request: TranscriptionRequest) -> str | Heard:
        """The text heard in ``request.audio``; with its timed spans (:class:`Heard`) when
        ``request.timed`` asks for them and the provider can give them."""

    async def probe(self) -> None:
        """Health probe with synthetic input (half a second of a quiet tone), never
        patient audio. Raises :class:`ProviderError` when the provider cannot answer."""
        await self.transcribe(
            TranscriptionRequest(audio=probe_audio(), priority=Priority.BACKGROUND)
        )

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load models / open connections."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""
