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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from drtranscribe.audio.channels import mixdown, own_voice
from drtranscribe.audio.pcm import PcmAudio, resample_mono
from drtranscribe.config import ChainSettings, SegmentSettings
from drtranscribe.domain.note import Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import AllProvidersFailed, SessionTakenOver, StorageError
from drtranscribe.protocol import AudioFormat, ErrorMessage
from drtranscribe.services import ProcessServices
from drtranscribe.session.board import TranscriptBoard
from drtranscribe.session.channel_turns import channel_turns
from drtranscribe.session.window import Window, should_close
from drtranscribe.state.store import ChunkRecord
from drtranscribe.transcription.base import (
    Priority,
    SpeechToText,
    TimedText,
    TranscriptionRequest,
    TranscriptionResult,
)


def transcribers_for(
    audio_format: AudioFormat | None, services: ProcessServices, *args: Any, **kwargs: Any
) -> list[Transcriber]:
    """One transcriber for the whole audio. When the client says whose each channel is
    (two-channel audio), that one transcribes the channels mixed and gives each word to
    its channel (``segments.two_channel: mixed``), or there is one per channel
    (``separate``); ``args``/``kwargs`` as for :class:`Transcriber`."""
    roles = audio_format.channel_roles if audio_format is not None else None
    if not roles:
        return [Transcriber(services, *args, **kwargs)]
    if services.session.segments.two_channel == "mixed":
        return [Transcriber(services, *args, **kwargs, channel_roles=roles)]
    return [
        Transcriber(services, *args, **kwargs, lane=lane, role=role)
        for lane, role in enumerate(roles)
    ]


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
        channel_roles: Sequence[Speaker] | None = None,
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
        # Two-channel audio heard mixed: each window's words are split into turns by the
        # channel that spoke them (:mod:`.channel_turns`), one segment per turn.
        self.channel_roles = tuple(channel_roles) if channel_roles and lane is None else None
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
        open_windows: dict[int, list[Segment]] = {}  # a window's segments, by first chunk
        for segment in self.board.ordered():
            if segment.provider == "captions" or (
                self.lane is not None and segment.channel != self.lane
            ):
                continue
            covered.update(range(segment.first_chunk_seq, segment.chunk_seq + 1))
            if not segment.final:
                open_windows.setdefault(segment.first_chunk_seq, []).append(segment)
        for first_seq, parts in open_windows.items():
            last_seq = max(p.chunk_seq for p in parts)
            window = Window(
                first_seq=first_seq,
                # where the window's audio starts (a turn may start later in it)
                start_s=by_seq[first_seq].start_s if first_seq in by_seq else parts[0].start,
                end_s=(
                    by_seq[last_seq].start_s + by_seq[last_seq].duration_s
                    if last_seq in by_seq
                    else max(p.end for p in parts)
                ),
                lane=self.lane,
            )
            for seq in range(first_seq, last_seq + 1):
                window.seqs.append(seq)
                window.audio.append(self.heard(await load_chunk(seq)))
                if not by_seq[seq].transcribed_by(self.lane):
                    window.failed.append(seq)
            window.interim = [" ".join(p.text for p in parts)]
            window.sent = [p.id for p in parts]
            if self.channel_roles is not None:  # the turns as they were, should the final pass fail
                window.spans = [
                    TimedText(" " + p.text, p.start - window.start_s, p.end - window.start_s)
                    for p in parts
                    if p.text
                ]
            window.emitted = True
            window.arrived_at = time.monotonic()
            # On a channel, a later chunk already done for it means the window had closed
            # (its speaker fell silent, or a later turn began): it is not reopened. Mixed
            # channels: the words' times are not stored, so the window is closed now and
            # its final pass splits it into turns again.
            closed = self.channel_roles is not None or (
                self.lane is not None
                and any(c.seq > last_seq and c.transcribed_by(self.lane) for c in chunks)
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
        mixed = self.channel_roles is not None
        request = TranscriptionRequest(
            audio=await asyncio.to_thread(resample_mono, mixdown(audio) if mixed else audio),
            language=self.language,
            priority=priority,
            timed=mixed,
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
        spans: tuple[TimedText, ...] | None = None
        try:
            result = await self.transcribe(audio, Priority.INTERIM)
            text, provider, stt_s = result.text, result.provider, result.latency_ms / 1000
            spans = result.spans
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
        if self.channel_roles is not None:
            offset = start_s - window.start_s
            window.spans += [
                TimedText(s.text, s.start + offset, s.end + offset)
                for s in (spans or _untimed(text, audio.duration_s))
            ]
        window.seqs.append(seq)
        window.audio.append(audio)
        window.interim.append(text)
        window.end_s = end_s
        window.arrived_at = arrived
        if failed:
            window.failed.append(seq)
        elif window.interim_text or window.emitted:
            await self._publish_window(
                window,
                text=window.interim_text,
                spans=window.spans,
                provider=provider,
                latency_ms=round((time.monotonic() - arrived) * 1000, 1),
                final=False,
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
            spans: Sequence[TimedText] | None = None
            try:
                result = await self.transcribe(window.combined_audio(), Priority.FINAL)
                text, provider, recovered = result.text, result.provider, True
                spans = result.spans
                self.services.metrics.stage_latency.labels("stt_final", provider).observe(
                    result.latency_ms / 1000
                )
            except AllProvidersFailed:
                # Keep the interim text as final rather than lose the words; chunks whose
                # interim pass failed stay marked untranscribed in the store.
                self.log.warning("stt.final_pass_failed", chunk_seq=window.seqs[-1])
                text, provider = window.interim_text, "interim"
                spans = window.spans if window.spans else None
            try:
                if recovered and window.failed:
                    await self._mark_transcribed(window.failed)
                if text or window.emitted:
                    await self._publish_window(
                        window,
                        text=text,
                        spans=spans or _untimed(text, window.duration_s),
                        provider=provider,
                        latency_ms=round((time.monotonic() - window.arrived_at) * 1000, 1),
                        final=True,
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

    async def _publish_window(
        self,
        window: Window,
        *,
        text: str,
        spans: Sequence[TimedText],
        provider: str,
        latency_ms: float,
        final: bool,
    ) -> None:
        """The window's transcript as a segment; mixed channels: as one segment per turn,
        the turns no longer heard (the final pass may hear fewer) emptied."""
        fields: dict[str, Any] = {
            "chunk_seq": window.seqs[-1],
            "provider": provider,
            "latency_ms": latency_ms,
            "final": final,
        }
        if self.channel_roles is None:
            await self.publish(
                self._segment(window, text=text, end=round(window.end_s, 3), **fields)
            )
            return
        turns = channel_turns(window.combined_audio(), spans)
        ids = [window.turn_id(index) for index in range(max(len(turns), len(window.sent)))]
        for index, segment_id in enumerate(ids):
            if index < len(turns):
                turn = turns[index]
                segment = Segment(
                    id=segment_id,
                    first_chunk_seq=window.first_seq,
                    start=round(window.start_s + turn.start, 3),
                    end=round(window.start_s + turn.end, 3),
                    text=turn.text,
                    channel=turn.channel,
                    speaker=self.channel_roles[turn.channel],
                    speaker_source="channel",
                    **fields,
                )
            elif (gone := self.board.segments.get(segment_id)) is not None:
                # A turn the words no longer show (the final pass heard fewer): emptied.
                segment = gone.model_copy(update={"text": "", **fields})
            else:
                continue
            if _shown(self.board.segments.get(segment_id)) != _shown(segment):
                await self.publish(segment)
        window.sent = ids


def _shown(segment: Segment | None) -> tuple[Any, ...] | None:
    """What a client sees of a turn: it is sent again only when this changes."""
    if segment is None:
        return None
    return (segment.text, segment.channel, segment.start, segment.end, segment.final)


def _untimed(text: str, duration_s: float) -> tuple[TimedText, ...]:
    """A provider's text without times: one span over the whole audio."""
    return (TimedText(" " + text, 0.0, duration_s),) if text else ()
