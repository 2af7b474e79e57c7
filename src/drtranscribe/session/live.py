"""One consultation, live: receive → store → ack → transcribe → segment → note → final.

The WebSocket endpoint (or the in-process CLI) feeds chunks in and receives server
messages through an ``emit`` callback; this module knows nothing about frames.

A session is made by :mod:`.lifecycle` (started or resumed); this class takes chunks in
(store → ack), runs three tasks, and finishes:

* the chunk worker and the final worker of :mod:`.transcriber` (interim results in chunk
  order; windows re-transcribed at a lower priority);
* the note worker (:mod:`.note_keeper`) keeps the clinical note up to date: it
  coalesces segments while an extraction runs, calls a paid extractor at a cadence and
  drafts with the local rules in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import structlog
from pydantic import BaseModel

from drtranscribe import failpoints
from drtranscribe.audio.decode import decode_chunk
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import (
    AudioError,
    ProtocolError,
)
from drtranscribe.protocol import (
    AckMessage,
    AudioFormat,
    CaptionMessage,
    ErrorMessage,
    FinalMessage,
    Limits,
    SessionMessage,
)
from drtranscribe.services import ProcessServices
from drtranscribe.session.board import TranscriptBoard
from drtranscribe.session.captions import CaptionDesk
from drtranscribe.session.note_keeper import NoteKeeper
from drtranscribe.session.speakers import SpeakerRoles
from drtranscribe.session.transcriber import Transcriber, transcribers_for
from drtranscribe.state.record import recording_at
from drtranscribe.state.store import ChunkRecord
from drtranscribe.storage.base import final_key

log = structlog.get_logger(__name__)

Emit = Callable[[BaseModel], Awaitable[None]]


class LiveSession:
    def __init__(
        self,
        services: ProcessServices,
        session_id: str,
        audio_format: AudioFormat | None,
        language: str,
        emit: Emit,
        *,
        token: int,
        on_taken_over: Callable[[], Awaitable[None]] | None = None,
        speakers: dict[str, Speaker] | None = None,
    ) -> None:
        self.services = services
        self.token = token  # fencing token: every write of this writer carries it
        self.limits = services.session.limits
        self.session_id = session_id
        self.audio_format = audio_format  # None: a captions session
        self.language = language
        self._emit = emit
        self.log = log.bind(session_id=session_id)

        self.next_seq = 0
        self.elapsed_s = 0.0
        self.created_at = time.time()
        self.layout: tuple[int, int] | None = None  # (sample_rate, channels)
        self.notes = NoteKeeper(
            services,
            session_id,
            token=token,
            transcript=self.transcript,
            emit=emit,
            on_taken_over=self._taken_over,
            log=self.log,
        )
        self.board = TranscriptBoard(
            services,
            session_id,
            token=token,
            emit=emit,
            notes=self.notes,
            roles=SpeakerRoles(speakers),
        )
        self.transcribers = transcribers_for(
            audio_format,
            services,
            session_id,
            token=token,
            language=language,
            emit=emit,
            board=self.board,
            taken_over=self._taken_over,
            log=self.log,
        )
        self.transcriber = self.transcribers[0]
        self.captions = CaptionDesk(
            services,
            session_id,
            token=token,
            board=self.board,
            session_time=lambda: time.time() - self.created_at,
            emit=emit,
            taken_over=self._taken_over,
            log=self.log,
        )
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.on_taken_over = on_taken_over  # the connection's: close it (4001)
        self.taken_over = False

    async def load_chunk(self, seq: int) -> PcmAudio:
        return decode_wav(await self.services.audio.get_chunk(self.session_id, seq))

    def session_message(self, resume_token: str, *, resumed: bool) -> SessionMessage:
        return SessionMessage(
            session_id=self.session_id,
            resume_token=resume_token,
            resumed=resumed,
            next_seq=self.next_seq,
            input="audio" if self.audio_format is not None else "captions",
            speakers=self.board.roles.declared,
            limits=Limits.announced(self.limits, self.services.session.captions),
        )

    def spawn(self) -> None:
        # Every log line of the session's workers names it, whoever started them (a new
        # connection, a resume, the in-process CLI): the workers run in a copy of the
        # caller's context with session_id bound.
        workers = [("note", self.notes.run)]
        if self.audio_format is not None:
            for t in self.transcribers:
                lane = "" if t.lane is None else f":ch{t.lane}"
                workers += [(f"chunks{lane}", t.chunk_worker), (f"finals{lane}", t.final_worker)]
        for name, work in workers:
            coro = work()
            context = contextvars.copy_context()  # one each: a worker's binds stay its own
            context.run(structlog.contextvars.bind_contextvars, session_id=self.session_id)
            task = asyncio.create_task(coro, name=f"{self.session_id}:{name}", context=context)
            self._tasks.append(task)

    async def abort(self) -> None:
        """The client went away: stop working, keep everything stored (resumable)."""
        await self._stop_workers()
        await self.captions.aclose()
        self.notes.close()
        self.services.store.keys_of.forget(self.session_id)  # no longer served here
        self.log.info("session.detached", next_seq=self.next_seq)

    # ------------------------------------------------------------------ input

    def check_frame_size(self, data: bytes) -> None:
        limit = self.limits.max_frame_bytes
        if len(data) > limit:
            raise AudioError("frame_too_large", f"frame of {len(data)} bytes; the limit is {limit}")

    async def accept_chunk(self, data: bytes) -> int:
        """Decode, store and ack one chunk; queue it for transcription. Returns its seq.

        Raises :class:`ProtocolError` (nothing stored, nothing acked) for bad audio or
        back-pressure, and :class:`StateStoreError` when storage failed (not acked).
        """
        if self._stopping:
            raise ProtocolError("protocol_order", "audio after stop")
        if self.audio_format is None:
            raise ProtocolError("wrong_input", "this is a captions session: send captions")
        arrived = time.monotonic()
        limits = self.limits
        self.check_frame_size(data)
        if self.pending >= limits.max_pending_chunks:
            raise ProtocolError(
                "backpressure", "too many chunks waiting; resend later", retryable=True
            )
        audio = decode_chunk(
            data, self.audio_format, expect=self.layout, max_seconds=limits.max_chunk_seconds
        )
        seq = self.next_seq
        start_s = self.elapsed_s
        await self.services.audio.put_chunk(self.session_id, seq, encode_wav(audio))
        failpoints.hit("before_ack", seq)
        extra: dict[str, str | int | float] = {"elapsed_s": start_s + audio.duration_s}
        if self.layout is None:
            extra |= {"sample_rate": audio.sample_rate, "channels": audio.channels}
        await self.services.store.record_chunk(
            self.session_id,
            self.token,
            ChunkRecord(seq=seq, start_s=start_s, duration_s=audio.duration_s, transcribed=False),
            extra,
        )
        # Durable: only now does the session advance and the client hear about it.
        self.layout = (audio.sample_rate, audio.channels)
        self.next_seq = seq + 1
        self.elapsed_s = start_s + audio.duration_s
        self.services.metrics.chunks.labels("acked").inc()
        await self._emit(AckMessage(seq=seq))
        failpoints.hit("after_ack", seq)
        for transcriber in self.transcribers:
            transcriber.queue((seq, transcriber.heard(audio), start_s, arrived))
        return seq

    @property
    def pending(self) -> int:
        """Chunks stored but not yet transcribed (on the slowest channel)."""
        return max(t.pending for t in self.transcribers)

    async def accept_caption(self, message: CaptionMessage) -> None:
        """Store and ack one caption message, then publish its segment.

        Raises :class:`ProtocolError` (nothing stored, nothing acked) for a caption that
        must not be stored, and :class:`StateStoreError` when storage failed (not acked).
        """
        if self._stopping:
            raise ProtocolError("protocol_order", "caption after stop")
        if self.audio_format is not None:
            raise ProtocolError("wrong_input", "this is an audio session: send audio frames")
        record = await self.captions.accept(message, self.next_seq)
        if record is None:  # stored already (a resend): say so again
            await self._emit(AckMessage(seq=message.seq))
            return
        self.next_seq = record.seq + 1
        self.services.metrics.chunks.labels("acked").inc()
        await self._emit(AckMessage(seq=record.seq))
        failpoints.hit("caption_acked", record.seq)
        await self.captions.publish(record.caption_id)

    async def name_speakers(self, roles: dict[str, Speaker]) -> None:
        """The client named speakers' roles: stored, confirmed, past segments re-labelled."""
        changed = await self.board.name_roles(roles)
        self.log.info("session.speakers_named", roles=len(roles), relabelled=len(changed))

    async def wait_for_room(self) -> None:
        """For in-process producers: wait until another chunk would not be pushed back."""
        limit = self.limits.max_pending_chunks
        for work in self.transcribers:
            async with work.room:
                await work.room.wait_for(partial(_has_room, work, limit))

    async def stop(self) -> FinalMessage:
        """Finish: drain transcription, close the last window, final note, combined audio."""
        self._stopping = True
        for transcriber in self.transcribers:
            await transcriber.drain()
        await self.captions.finish()
        await self.notes.finish()
        await self._stop_workers()

        final_audio_key: str | None = None
        if self.next_seq and self.layout is not None:
            final_audio_key = final_key(self.session_id, datetime.now(UTC).date())
            await self.services.audio.combine(
                self.session_id,
                list(range(self.next_seq)),
                final_audio_key,
                sample_rate=self.layout[0],
                channels=self.layout[1],
            )
        failpoints.hit("during_stop")
        await self.services.store.update_meta(
            self.session_id,
            self.token,
            {
                "status": "finished",
                "finished_at": time.time(),
                "final_audio_key": final_audio_key or "",
            },
        )
        final = self.final_message(final_audio_key)
        self.log.info(
            "session.finished",
            chunks=self.next_seq,
            segments=len(self.board.segments),
            note_version=self.note_version,
            audio_s=round(self.elapsed_s, 2),
        )
        return final

    def final_message(self, final_audio_key: str | None) -> FinalMessage:
        audio_location = recording_at(
            self.services.audio.uri, final_audio_key, self.elapsed_s, self.layout
        )
        return FinalMessage(
            session_id=self.session_id,
            note_version=self.note_version,
            note=self.note,
            transcript=self.transcript(),
            audio=audio_location,
        )

    @property
    def note(self) -> ClinicalNote:
        return self.notes.note

    @property
    def note_version(self) -> int:
        return self.notes.version

    def transcript(self) -> list[Segment]:
        return self.board.ordered()

    async def _stop_workers(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _taken_over(self) -> None:
        """Another writer holds the fence now: stop writing, tell the client, let go."""
        if self.taken_over:
            return
        self.taken_over = True
        self.log.warning("session.taken_over")
        await self._emit(
            ErrorMessage(code="session_taken_over", message="this session was resumed elsewhere")
        )
        if self.on_taken_over is not None:
            await self.on_taken_over()


def _has_room(transcriber: Transcriber, limit: int) -> bool:
    return transcriber.pending < limit
