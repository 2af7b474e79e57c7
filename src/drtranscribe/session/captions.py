"""Caption input: a meeting's live captions become transcript segments.

A meeting rewrites a caption in place while its speaker talks (words corrected, the line
extended), then starts a new one. Each ``caption`` message is the caption's whole text
now, under a stable ``caption_id``: a known id revises its segment (as interim audio
results do), a new id opens the next segment. A caption is final when the client says so
or when it has not changed for ``captions.quiet_final_s``; a revision after that is
refused (``caption_final``) and the final text stands.

Every message has a number (``seq``): ``session.next_seq`` first, then one more per stored
message, so a resumed client resends exactly what was not stored. A message is stored
(its caption's newest revision, sealed, together with the new ``next_seq``) before it is
acked; its segment is published after. On resume the records rebuild the captions, any
segment that lags its record is published again, and open captions start a new quiet
period.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from drtranscribe import failpoints
from drtranscribe.config import CaptionSettings
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import ProtocolError, SessionTakenOver, StorageError
from drtranscribe.protocol import CaptionMessage, ErrorMessage
from drtranscribe.services import ProcessServices
from drtranscribe.session.board import TranscriptBoard
from drtranscribe.state.record import CaptionRecord

PROVIDER = "captions"  # a caption segment's `provider`: the meeting's own captions


class CaptionDesk:
    def __init__(
        self,
        services: ProcessServices,
        session_id: str,
        *,
        token: int,
        board: TranscriptBoard,
        session_time: Callable[[], float],
        emit: Callable[[Any], Awaitable[None]],
        taken_over: Callable[[], Awaitable[None]],
        log: Any,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.token = token
        self.board = board
        self._session_time = session_time  # seconds since the session began
        self._emit = emit
        self._taken_over = taken_over
        self.log = log
        self.rules: CaptionSettings = services.session.captions
        self.captions: dict[str, CaptionRecord] = {}  # caption id -> newest revision
        self._arrived: dict[str, float] = {}  # caption id -> when its revision arrived
        self._quiet: dict[str, asyncio.TimerHandle] = {}
        self._work: set[asyncio.Task[None]] = set()
        # One caption change at a time (a revision, a finalisation): a quiet timer firing
        # while a revision is being stored must not finalise the text before it.
        self._lock = asyncio.Lock()
        self._unpublished: set[str] = set()  # caption ids whose segment lags their record

    # ------------------------------------------------------------------ input

    def revise(self, message: CaptionMessage, next_seq: int) -> CaptionRecord | None:
        """The caption record this message makes; None for a repeat of the message
        stored last for its caption (acked again, nothing stored). Raises
        :class:`ProtocolError` for a message that must not be stored."""
        known = self.captions.get(message.caption_id)
        if message.seq != next_seq:
            if known is not None and known.seq == message.seq and _same(known, message):
                return None  # a resend of what was stored: ack it again
            raise ProtocolError(
                "caption_out_of_order", f"caption seq {message.seq}; expected {next_seq}"
            )
        if len(message.text) > self.rules.max_chars:
            raise ProtocolError(
                "caption_too_long",
                f"caption of {len(message.text)} characters; the limit is {self.rules.max_chars}",
            )
        if known is not None and known.final:
            if message.text == known.text and message.speaker in (None, known.speaker):
                # the same words again (the meeting re-sent its last caption): stored as a
                # no-op revision, so the client's numbering goes on
                return known.model_copy(update={"seq": message.seq})
            raise ProtocolError("caption_final", "this caption is final; its text stands")
        now = round(self._session_time(), 3)
        start = message.start if message.start is not None else (known.start if known else now)
        end = message.end if message.end is not None else now
        speaker = message.speaker
        if speaker is None and known is not None:
            speaker = known.speaker
        return CaptionRecord(
            caption_id=message.caption_id,
            segment_id=known.segment_id if known else f"seg-{len(self.captions):04d}",
            first_seq=known.first_seq if known else message.seq,
            seq=message.seq,
            speaker=message.speaker
            if message.speaker is not None
            else (known.speaker if known else None),
            text=message.text,
            start=start,
            end=max(end, start),
            final=message.final,
        )

    async def accept(self, message: CaptionMessage, next_seq: int) -> CaptionRecord | None:
        """Store what ``message`` makes of its caption: durable, the revision and the new
        ``next_seq`` in one write. None for a resend of what was stored (nothing to do)."""
        async with self._lock:
            record = self.revise(message, next_seq)
            if record is None:
                return None
            self._cancel_quiet(record.caption_id)  # before the write: no finalising under it
            await self.services.store.record_caption(
                self.session_id, self.token, record, advance=True
            )
            self.captions[record.caption_id] = record
            self._arrived[record.caption_id] = time.monotonic()
            self._unpublished.add(record.caption_id)
            failpoints.hit("caption_stored", record.seq)
            return record

    async def publish(self, caption_id: str) -> None:
        """The caption's segment as its record is now, sent (with any that lag theirs); an
        open caption's quiet period starts again."""
        async with self._lock:
            await self._publish_locked(caption_id)

    async def _publish_locked(self, caption_id: str) -> None:
        self._unpublished.add(caption_id)
        for pending in sorted(self._unpublished, key=lambda c: self.captions[c].first_seq):
            record = self.captions[pending]
            self._cancel_quiet(pending)
            try:
                await self.board.publish(self._segment(record))
            except SessionTakenOver:
                await self._taken_over()
                return
            except StorageError as exc:
                self.log.error(
                    "storage.unavailable", chunk_seq=record.seq, error=type(exc).__name__
                )
                await self._emit(
                    ErrorMessage(
                        code="state_save_failed",
                        message="the caption's segment could not be saved; the caption is "
                        "stored and its segment is sent again",
                        retryable=True,
                        chunk_seq=record.seq,
                    )
                )
                if not record.final:
                    self._arm(pending, self.rules.quiet_final_s)
                return
            self._unpublished.discard(pending)
            if not record.final:
                self._arm(pending, self.rules.quiet_final_s)

    # ------------------------------------------------------------------ finality

    def _arm(self, caption_id: str, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        self._quiet[caption_id] = loop.call_later(delay_s, self._quiet_for_long, caption_id)

    def _cancel_timers(self) -> None:
        for handle in self._quiet.values():
            handle.cancel()
        self._quiet.clear()

    def _cancel_quiet(self, caption_id: str) -> None:
        handle = self._quiet.pop(caption_id, None)
        if handle is not None:
            handle.cancel()

    def _quiet_for_long(self, caption_id: str) -> None:
        self._quiet.pop(caption_id, None)
        task = asyncio.create_task(self.finalise(caption_id, reason="quiet"))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def finalise(self, caption_id: str, *, reason: Literal["quiet", "stop"]) -> None:
        """Make an open caption final (its newest revision): stored first, then its final
        segment sent. At stop, a failure is raised: the session must not finish without it."""
        async with self._lock:
            record = self.captions.get(caption_id)
            if record is None or record.final:
                return
            final = record.model_copy(update={"final": True})
            try:
                await self.services.store.record_caption(
                    self.session_id, self.token, final, advance=False
                )
            except SessionTakenOver:
                await self._taken_over()
                return
            except StorageError as exc:
                self.log.error(
                    "storage.unavailable", stage="caption_final", error=type(exc).__name__
                )
                if reason == "stop":
                    raise
                self._arm(caption_id, self.rules.quiet_final_s)  # try again later
                return
            self.captions[caption_id] = final
            self.log.info("caption.final", chunk_seq=final.seq, reason=reason)
            await self._publish_locked(caption_id)

    async def finish(self) -> None:
        """At stop: every open caption final, in order."""
        self._cancel_timers()
        if self._work:
            await asyncio.gather(*self._work, return_exceptions=True)
        for record in sorted(self.captions.values(), key=lambda c: c.first_seq):
            await self.finalise(record.caption_id, reason="stop")
        async with self._lock:
            if self._unpublished:  # segments that lag their (final) record: send them now
                await self._publish_locked(next(iter(self._unpublished)))
            if self._unpublished:
                raise StorageError("caption segments could not be saved")

    async def aclose(self) -> None:
        """The session is let go (client gone): no more timers; everything is stored."""
        self._cancel_timers()
        for task in self._work:
            task.cancel()
        for task in list(self._work):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ------------------------------------------------------------------ resume

    async def recover(self, records: list[CaptionRecord]) -> None:
        """Rebuild from the stored records: segments that lag their record are published
        again; open captions get a fresh quiet period."""
        self.captions = {r.caption_id: r for r in records}
        for record in records:
            self._arrived[record.caption_id] = time.monotonic()
            stored = self.board.segments.get(record.segment_id)
            lags = stored is None or (stored.text, stored.final, stored.speaker_name) != (
                record.text,
                record.final,
                record.speaker,
            )
            if lags:
                await self.publish(record.caption_id)
            elif not record.final:
                self._arm(record.caption_id, self.rules.quiet_final_s)

    def _segment(self, record: CaptionRecord) -> Segment:
        arrived = self._arrived.get(record.caption_id, time.monotonic())
        return Segment(
            id=record.segment_id,
            chunk_seq=record.seq,
            first_chunk_seq=record.first_seq,
            text=record.text,
            start=record.start,
            end=record.end,
            provider=PROVIDER,
            latency_ms=round((time.monotonic() - arrived) * 1000, 1),
            final=record.final,
            speaker_name=record.speaker,
        )


def _same(record: CaptionRecord, message: CaptionMessage) -> bool:
    """Is ``message`` the one that made ``record`` (the caption may be final since)?"""
    return (
        record.text == message.text
        and (record.final or not message.final)
        and (message.speaker is None or record.speaker == message.speaker)
    )
