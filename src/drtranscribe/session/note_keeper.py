"""A session's clinical note: when to update it, with what, and how it reaches the client.

:class:`NoteKeeper` runs the session's note worker. Every published segment marks the
note dirty; the worker wakes, and either

* calls the extraction chain (``_update``): it sends the confirmed note and the segments
  whose current text the chain has not read (``read``: segment id -> text read), merges
  the answer, stores the new version and sends the client a JSON Patch; or
* drafts (``_draft``): when the chain pays per token and the update is not due yet, the
  local rules read the unread segments and their findings are shown at once as
  provisional items (:mod:`drtranscribe.extraction.drafts`). Drafting calls no provider.

Coalescing: while an update runs, newer segments wait and go together into the next
one, so a slow extractor never builds a queue.

Cadence (only when some extractor of the chain pays per token; a free one is called on
every update and reads every segment): a paid chain reads final segments only, each
once (an open window's interim text changes with every chunk; re-sending it would bill
it again and again: drafts show it instead). It is called when the unread final
transcript reaches ``note.min_new_tokens`` (estimated as characters /
4) and at least ``min_interval_s`` has passed since the last call, and always when the
session stops, so the final note is the chain's. ``bench/llm_tokens.py`` measures what
a cadence costs.

When the paid extractors fail and a free fallback of the chain answers, its reading is
shown as drafts and the text stays unread: the LLM reads it at its next call once it is
back (while its breakers are open, the LLM is not even tried). After
``LLM_FAILURES_BEFORE_ADOPTING`` such rounds in which an LLM was really called, counted at
most once per breaker cooldown (so ~1 minute of failing on that text, not a short
outage), or at stop, the fallback's reading of that text is adopted instead
(``drafts.adopt``): the LLM moves on, and nothing it confirmed is lost.

Every write carries the session's fencing token; a newer writer elsewhere makes the
store refuse it (``SessionTakenOver``), and the keeper hands over to ``on_taken_over``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

from drtranscribe import failpoints
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import AllProvidersFailed, SessionTakenOver, StorageError
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.extraction.diff import note_patch
from drtranscribe.extraction.drafts import adopt, confirmed, with_drafts
from drtranscribe.protocol import ErrorMessage, NoteMessage
from drtranscribe.services import ProcessServices

Emit = Callable[[NoteMessage | ErrorMessage], Awaitable[None]]

CHARS_PER_TOKEN = 4  # the usual English estimate; the cadence needs no exact count
#: LLM attempts that may fail on the same unread text (each answered by a free fallback,
#: shown as drafts) before the fallback's reading is kept and the LLM moves on.
LLM_FAILURES_BEFORE_ADOPTING = 3


def unread_tokens(segments: list[Segment], read: Mapping[str, str]) -> int:
    """Estimated tokens of the segments whose current text the chain has not read."""
    chars = sum(len(s.text) for s in segments if read.get(s.id) != s.text)
    return chars // CHARS_PER_TOKEN


def chain_reads(segments: list[Segment], *, pays_per_token: bool) -> list[Segment]:
    """The segments the chain is given: a paid chain, final ones only."""
    return [s for s in segments if s.final] if pays_per_token else segments


class NoteKeeper:
    def __init__(
        self,
        services: ProcessServices,
        session_id: str,
        *,
        token: int,
        transcript: Callable[[], list[Segment]],
        emit: Emit,
        on_taken_over: Callable[[], Awaitable[None]],
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.token = token
        self._transcript = transcript
        self._emit = emit
        self._on_taken_over = on_taken_over
        self.log = log
        self.note = ClinicalNote()
        self.version = 0
        self.read: dict[str, str] = {}  # segment id -> the text the chain has read
        cadence = services.session.note
        self._min_new_tokens = cadence.min_new_tokens
        self._min_interval_s = cadence.min_interval_s
        self._drafts = cadence.drafts
        extractors = [e for e, _ in services.extraction.targets()]
        self._paid = {e.name for e in extractors if e.pays_per_token}
        self.pays_per_token = bool(self._paid)
        self._last_call = -float("inf")
        self._llm_failures = 0  # counted LLM failures on the unread text (see _update)
        self._failure_counted_at = -float("inf")
        self._spacing_s = services.session.extraction_spacing_s
        self._wake: asyncio.TimerHandle | None = None
        self._dirty = asyncio.Event()
        self._idle = asyncio.Condition()
        self._marked = 0  # updates asked for
        self._applied = 0  # updates done (up to the mark seen at their start)
        self._stopping = False

    def restore(self, note: ClinicalNote, version: int, read: Mapping[str, str]) -> None:
        """A resumed session's stored note, and what the chain had read."""
        self.note, self.version, self.read = note, version, dict(read)

    def reread(self, segment_ids: list[str]) -> None:
        """These segments changed beyond their text (their speaker): the chain reads them
        again at its next update."""
        for segment_id in segment_ids:
            self.read.pop(segment_id, None)

    def mark(self) -> None:
        """The transcript changed: the note should catch up."""
        self._marked += 1
        self._dirty.set()

    async def finish(self) -> None:
        """Final update: the chain reads whatever it has not read yet (no cadence)."""
        self._stopping = True
        self._cancel_wake()
        self.mark()
        await self.caught_up()

    async def caught_up(self) -> None:
        async with self._idle:
            await self._idle.wait_for(lambda: self._applied >= self._marked)

    def close(self) -> None:
        self._cancel_wake()

    # ------------------------------------------------------------------ worker

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            mark = self._marked
            try:
                if self._due():
                    await self._update()
                elif self._drafts:
                    await self._draft()
            except SessionTakenOver:
                await self._on_taken_over()
            except AllProvidersFailed as exc:
                self.log.error("extract.all_failed", providers=len(exc.errors))
                await self._emit(
                    ErrorMessage(code="extraction_failed", message=str(exc), retryable=True)
                )
            except StorageError:
                self.log.error("storage.unavailable", stage="note")
                await self._emit(
                    ErrorMessage(
                        code="state_save_failed",
                        message="the note could not be saved; it is updated again",
                        retryable=True,
                    )
                )
            except Exception:
                self.log.exception("session.note_error")
                await self._emit(ErrorMessage(code="internal_error", message="note update failed"))
            async with self._idle:
                self._applied = mark
                self._idle.notify_all()

    def _readable(self) -> list[Segment]:
        """What the chain reads: a paid one, final segments only."""
        return chain_reads(self._transcript(), pays_per_token=self.pays_per_token)

    def _due(self) -> bool:
        """Whether this update calls the chain (else it only drafts)."""
        if not self.pays_per_token or self._stopping:
            return True
        wait = self._last_call + self._min_interval_s - time.monotonic()
        if wait > 0:
            self._wake_in(wait)
            return False
        unread = unread_tokens(self._readable(), self.read)
        return unread > 0 and unread >= self._min_new_tokens

    def _wake_in(self, delay_s: float) -> None:
        """Look again once the interval has passed (segments may not come to wake us)."""
        if self._wake is None or self._wake.cancelled():
            loop = asyncio.get_running_loop()
            self._wake = loop.call_later(delay_s, self._woken)

    def _woken(self) -> None:
        self._wake = None
        self.mark()

    def _cancel_wake(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None

    async def _update(self) -> None:
        segments = self._readable()
        changed = frozenset(s.id for s in segments if self.read.get(s.id) != s.text)
        if not changed:
            return
        request = ExtractionRequest(note=confirmed(self.note), segments=segments, changed=changed)

        tried: set[str] = set()  # the extractors this update really called

        async def call(extractor: Extractor) -> ClinicalNote:
            tried.add(extractor.name)
            return await extractor.extract(request)

        started = time.monotonic()
        self._last_call = started
        answered = await self.services.extraction.call_detailed(call)
        self.services.metrics.stage_latency.labels("extraction", answered.provider).observe(
            time.monotonic() - started
        )
        note = answered.value
        if self.pays_per_token and answered.provider not in self._paid:
            # The LLMs failed (or are known down) and a free fallback answered. A failure
            # counts towards adopting only when an LLM was really called, and at most once
            # per breaker cooldown, so that a short outage does not adopt anything.
            if tried & self._paid and started - self._failure_counted_at >= self._spacing_s:
                self._llm_failures += 1
                self._failure_counted_at = started
            if not self._stopping and self._llm_failures < LLM_FAILURES_BEFORE_ADOPTING:
                # Show the rules' reading as drafts; the text stays unread for the LLM.
                self.log.warning("note.fallback_drafted", provider=answered.provider)
                if self._drafts:
                    await self._draft()
                return
            # The session ends, or the LLM failed on this text again and again (content it
            # refuses, say): the rules' reading of it stands, what the LLM confirmed stays.
            self.log.warning("note.fallback_adopted", provider=answered.provider)
            note = adopt(self.note, segments, changed)
        self._llm_failures = 0
        read = {s.id: s.text for s in segments}
        if self.pays_per_token and self._drafts:  # segments that came in meanwhile
            now = self._transcript()
            note = with_drafts(note, now, {s.id for s in now if read.get(s.id) != s.text})
        await self._save(note, read, source=answered.provider, changed=len(changed), at=started)

    async def _draft(self) -> None:
        started = time.monotonic()
        segments = self._transcript()
        unread = {s.id for s in segments if self.read.get(s.id) != s.text}
        if unread:
            note = with_drafts(self.note, segments, unread)
            await self._save(note, self.read, source="draft", changed=len(unread), at=started)

    async def _save(
        self, note: ClinicalNote, read: dict[str, str], *, source: str, changed: int, at: float
    ) -> None:
        """Store and send ``note`` if it differs; ``read`` is what the chain has read now.
        ``source``: the provider that answered, or "draft"."""
        ops = note_patch(self.note, note)
        if ops:
            version = self.version + 1
            failpoints.hit("during_extraction", version)
            await self.services.store.save_note(
                self.session_id, self.token, version, note, extracted_through=read
            )
            self.note, self.version = note, version
            await self._emit(NoteMessage(version=version, patch=ops))
        elif read != self.read:  # nothing new in the note, but the text is read: remember
            await self.services.store.save_note(  # it, or a resume would bill it again
                self.session_id, self.token, self.version, self.note, extracted_through=read
            )
        self.read = read
        self.log.info(
            "note.updated",
            source=source,
            note_version=self.version,
            operations=len(ops),
            fields_changed=sorted({op.path.split("/")[1] for op in ops}),
            segments_changed=changed,
            latency_ms=round((time.monotonic() - at) * 1000, 1),
        )
