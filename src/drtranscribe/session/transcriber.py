"""The session's speech-to-text work: chunks in, transcript segments out.

* the chunk worker transcribes chunks one by one in arrival order (interim results), so
  transcript events keep chunk order, and groups them into windows (:mod:`.window`);
* the final worker re-transcribes each closed window, in order, at a lower priority than
  any interim decode, and replaces the interim text under the same segment id.

Segments go to the session's transcript board (:mod:`.board`): labelled, saved (sealed)
before they are sent, and the note keeper told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from drtranscribe.audio.channels import own_voice
from drtranscribe.audio.pcm import PcmAudio, resample_mono
from drtranscribe.config import ChainSettings, SegmentSettings
from drtranscribe.domain.note import Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import AllProvidersFailed, SessionTakenOver, StorageError
from drtranscribe.protocol import AudioFormat, ErrorMessage
from drtranscribe.services import ProcessServices
from drtranscribe.session.board import TranscriptBoard
from drtranscribe.session.window import Window, should_close
from drtranscribe.state.store import ChunkRecord
from drtranscribe.transcription.base import (
    Priority,
    SpeechToText,
    TranscriptionRequest,
    TranscriptionResult,
)


def transcribers_for(
    audio_format: AudioFormat | None, *args: Any, **kwargs: Any
) -> list[Transcriber]:
    """One transcriber for the whole audio, or one per channel when the client says whose
    each channel is (two-channel audio); ``args``/``kwargs`` as for :class:`Transcriber`."""
    roles = audio_format.channel_roles if audio_format is not None else None
    if not roles:
        return [Transcriber(*args, **kwargs)]
    return [Transcriber(*args, **kwargs, lane=lane, role=role) for lane, role in enumerate(roles)]


#: A chunk waiting for its interim pass: (seq, audio, start in the session, arrival time).
QueuedChunk = tuple[int, PcmAudio, float, float]


class Transcriber:
    def __init__(
        self,
        services: ProcessServices,
        session_id: str,
        *,
        token: int,
        language: str,
        emit: Callable[[Any], Awaitable[None]],
        board: TranscriptBoard,
        taken_over: Callable[[], Awaitable[None]],
        log: Any,
        lane: int | None = None,
        role: Speaker | None = None,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.token = token
        self.language = language
        self._emit = emit
        self.board = board
        self._taken_over = taken_over
        self.log = log
        self._stt_rules: ChainSettings = services.session.stt
        self._segment_rules: SegmentSettings = services.session.segments
        # Two-channel audio: this transcriber hears one channel (``lane``), whose speaker
        # is ``role``. A turn there ends when its speaker falls silent, so a window closes
        # at the first chunk without speech or with a quiet tail, however short: the two
        # channels' segments then interleave as the conversation did.
        self.lane = lane
        self.role = role
        if lane is not None:
            self._segment_rules = self._segment_rules.model_copy(update={"min_window_seconds": 0.0})
        self.window: Window | None = None  # the open one
        self.chunks: asyncio.Queue[QueuedChunk] = asyncio.Queue()
        self.finals: asyncio.Queue[Window] = asyncio.Queue()
        self.pending = 0  # chunks stored but not transcribed
        self.room = asyncio.Condition()

    def queue(self, chunk: QueuedChunk) -> None:
        """A stored, acked chunk for its interim pass."""
        self.pending += 1
        self.chunks.put_nowait(chunk)

    async def drain(self) -> None:
        """Every queued chunk transcribed, the open window closed and its final pass done."""
        await self.chunks.join()
        if self.window is not None:
            self.finals.put_nowait(self.window)
            self.window = None
        await self.finals.join()

    async def recover(
        self, chunks: list[ChunkRecord], load_chunk: Callable[[int], Awaitable[PcmAudio]]
    ) -> None:
        """Rebuild in-memory windows from stored segments, and queue stored chunks that
        were never transcribed (acked, then the previous instance died)."""
        by_seq = {c.seq: c for c in chunks}
        covered: set[int] = set()
        for segment in self.board.ordered():
            if segment.channel != self.lane or segment.provider == "captions":
                continue
            seqs = list(range(segment.first_chunk_seq, segment.chunk_seq + 1))
            covered.update(seqs)
            if segment.final:
                continue
            window = Window(
                first_seq=segment.first_chunk_seq,
                start_s=segment.start,
                end_s=segment.end,
                lane=self.lane,
            )
            for seq in seqs:
                window.seqs.append(seq)
                window.audio.append(self.heard(await load_chunk(seq)))
                if not by_seq[seq].transcribed_by(self.lane):
                    window.failed.append(seq)
            window.interim = [segment.text]
            window.emitted = True
            window.arrived_at = time.monotonic()
            # On a channel, a later chunk already done for it means the window had closed
            # (its speaker fell silent, or a later turn began): it is not reopened.
            closed = self.lane is not None and any(
                c.seq > segment.chunk_seq and c.transcribed_by(self.lane) for c in chunks
            )
            if closed or should_close(window, window.audio[-1], self._segment_rules):
                self.finals.put_nowait(window)
            else:
                self.window = window
        for chunk in chunks:
            if chunk.seq in covered or chunk.transcribed_by(self.lane):
                continue
            audio = self.heard(await load_chunk(chunk.seq))
            self.queue((chunk.seq, audio, chunk.start_s, time.monotonic()))
            self.log.info("session.chunk_recovered", chunk_seq=chunk.seq)

    def heard(self, audio: PcmAudio) -> PcmAudio:
        """What this transcriber listens to of a chunk: its channel's own voice (the other
        channels' cross-talk gated), or all of it."""
        return audio if self.lane is None else own_voice(audio, self.lane)

    async def _mark_transcribed(self, seqs: list[int]) -> None:
        await self.services.store.mark_transcribed(
            self.session_id, self.token, seqs, lane=self.lane
        )

    def _segment(self, window: Window, **fields: Any) -> Segment:
        """A segment of ``window``; on a channel, it carries the channel's speaker."""
        segment = Segment(
            id=window.segment_id,
            first_chunk_seq=window.first_seq,
            start=round(window.start_s, 3),
            **fields,
        )
        if self.lane is None:
            return segment
        return segment.model_copy(
            update={"channel": self.lane, "speaker": self.role, "speaker_source": "channel"}
        )

    async def transcribe(self, audio: PcmAudio, priority: Priority) -> TranscriptionResult:
        request = TranscriptionRequest(
            audio=await asyncio.to_thread(resample_mono, audio),
            language=self.language,
            priority=priority,
        )

        async def call(provider: SpeechToText) -> TranscriptionResult:
            return await provider.transcribe(request)

        rules = self._stt_rules
        hedge = None
        if rules.hedge_after_s is not None:
            hedge = rules.hedge_after_s + rules.hedge_per_audio_s * request.duration_s
        return await self.services.stt.call(call, hedge_after_s=hedge)

    async def chunk_worker(self) -> None:
        while True:
            seq, audio, start_s, arrived = await self.chunks.get()
            try:
                await self._process_chunk(seq, audio, start_s, arrived)
            except SessionTakenOver:
                await self._taken_over()
            except StorageError as exc:
                self.log.error("storage.unavailable", chunk_seq=seq, error=type(exc).__name__)
                await self._emit(
                    ErrorMessage(
                        code="state_save_failed",
                        message="the chunk's transcript could not be saved; its audio is "
                        "stored and it will be transcribed again",
                        retryable=True,  # the server redoes it; nothing to resend
                        chunk_seq=seq,
                    )
                )
            except Exception:
                self.log.exception("session.chunk_error", chunk_seq=seq)
                await self._emit(
                    ErrorMessage(
                        code="internal_error", message="chunk processing failed", chunk_seq=seq
                    )
                )
            finally:
                self.pending -= 1
                self.chunks.task_done()
                async with self.room:
                    self.room.notify_all()

    async def _process_chunk(
        self, seq: int, audio: PcmAudio, start_s: float, arrived: float
    ) -> None:
        text, provider, failed, stt_s = "", "", False, 0.0
        try:
            result = await self.transcribe(audio, Priority.INTERIM)
            text, provider, stt_s = result.text, result.provider, result.latency_ms / 1000
        except AllProvidersFailed as exc:
            # The chunk's audio is stored; it stays in the window, so the segment's final
            # pass transcribes it again. The client hears about it now.
            failed = True
            self.services.metrics.chunks.labels("failed").inc()
            self.log.error("stt.chunk_failed", chunk_seq=seq, providers=len(exc.errors))
            await self._emit(
                ErrorMessage(
                    code="transcription_failed", message=str(exc), retryable=True, chunk_seq=seq
                )
            )
        end_s = start_s + audio.duration_s
        window = self.window
        if window is not None and self.lane is not None and not text and not failed:
            # This channel's speaker fell silent: their turn (the window) ends here.
            self.finals.put_nowait(window)
            window = self.window = None
        if window is None:
            if not text and not failed:
                # Silence before any speech: no segment to open, nothing invented.
                await self._mark_transcribed([seq])
                self.log.info("stt.chunk_transcribed", chunk_seq=seq, empty=True, provider=provider)
                return
            window = self.window = Window(
                first_seq=seq, start_s=start_s, end_s=end_s, lane=self.lane
            )
        window.seqs.append(seq)
        window.audio.append(audio)
        window.interim.append(text)
        window.end_s = end_s
        window.arrived_at = arrived
        if failed:
            window.failed.append(seq)
        elif window.interim_text or window.emitted:
            await self.publish(
                self._segment(
                    window,
                    chunk_seq=seq,
                    text=window.interim_text,
                    end=round(end_s, 3),
                    provider=provider,
                    latency_ms=round((time.monotonic() - arrived) * 1000, 1),
                    final=False,
                )
            )
            window.emitted = True
        if not failed:
            metrics = self.services.metrics
            metrics.chunks.labels("transcribed").inc()
            metrics.chunk_to_transcript.observe(time.monotonic() - arrived)
            metrics.stage_latency.labels("stt_interim", provider).observe(stt_s)
            await self._mark_transcribed([seq])
            self.log.info(
                "stt.chunk_transcribed",
                chunk_seq=seq,
                provider=provider,
                latency_ms=round((time.monotonic() - arrived) * 1000, 1),
            )
        if should_close(window, audio, self._segment_rules):
            self.finals.put_nowait(window)
            self.window = None

    async def final_worker(self) -> None:
        while True:
            window = await self.finals.get()
            recovered = False
            try:
                result = await self.transcribe(window.combined_audio(), Priority.FINAL)
                text, provider, recovered = result.text, result.provider, True
                self.services.metrics.stage_latency.labels("stt_final", provider).observe(
                    result.latency_ms / 1000
                )
            except AllProvidersFailed:
                # Keep the interim text as final rather than lose the words; chunks whose
                # interim pass failed stay marked untranscribed in the store.
                self.log.warning("stt.final_pass_failed", chunk_seq=window.seqs[-1])
                text, provider = window.interim_text, "interim"
            try:
                if recovered and window.failed:
                    await self._mark_transcribed(window.failed)
                if text or window.emitted:
                    await self.publish(
                        self._segment(
                            window,
                            chunk_seq=window.seqs[-1],
                            text=text,
                            end=round(window.end_s, 3),
                            provider=provider,
                            latency_ms=round((time.monotonic() - window.arrived_at) * 1000, 1),
                            final=True,
                        )
                    )
                self.log.info(
                    "stt.segment_final",
                    chunk_seq=window.seqs[-1],
                    chunks=len(window.seqs),
                    provider=provider,
                    audio_s=round(window.duration_s, 2),
                )
            except SessionTakenOver:
                await self._taken_over()
            except Exception:
                self.log.exception("session.final_error", chunk_seq=window.seqs[-1])
            finally:
                self.finals.task_done()

    async def publish(self, segment: Segment) -> None:
        await self.board.publish(segment)
