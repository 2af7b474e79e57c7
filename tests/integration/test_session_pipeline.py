"""The session pipeline with a real Redis and real audio store, and scripted providers.

The providers here are real ``SpeechToText`` / ``Extractor`` subclasses whose answers are
scripted, so revision, coalescing and failure paths can be driven deterministically.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jsonpatch
import numpy as np
import pytest
from pydantic import BaseModel

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.config import (
    ChainSettings,
    NoteSettings,
    ResilienceSettings,
    SegmentSettings,
    Settings,
)
from drtranscribe.crypto.keys import LocalKeyStore, SessionKeys
from drtranscribe.domain.note import ClinicalNote, Medication
from drtranscribe.errors import ProviderConnectionError
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.protocol import AudioFormat, StartMessage
from drtranscribe.resilience.chain import ChainPolicy, FallbackChain
from drtranscribe.resilience.retry import RetryPolicy
from drtranscribe.services import ProcessServices
from drtranscribe.session.lifecycle import start_session
from drtranscribe.session.live import LiveSession
from drtranscribe.state.store import SessionStore, connect
from drtranscribe.storage.local import LocalAudioStore
from drtranscribe.transcription.base import Priority, SpeechToText, TranscriptionRequest

pytestmark = pytest.mark.integration

RATE = 16000
ONE_ROUND = ChainPolicy(deadline_s=10, retry=RetryPolicy(attempts=1))


def _chunk(seconds: float = 5.0, *, quiet_tail: bool = False) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    samples = (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16)
    if quiet_tail:
        samples[-RATE // 2 :] = 0
    return PcmAudio(samples=samples.reshape(-1, 1), sample_rate=RATE).to_s16le()


class ScriptedSTT(SpeechToText):
    """Interim requests get the next interim line; final passes get the next final line."""

    name = "scripted"

    def __init__(self, interim: list[str], final: list[str], fail_interim: set[int] | None = None):
        super().__init__(timeout_s=5)
        self.interim = list(interim)
        self.final = list(final)
        self.fail_interim = fail_interim or set()
        self.fail_final = False
        self.calls = 0

    async def _transcribe_impl(self, request: TranscriptionRequest) -> str:
        if request.priority is Priority.FINAL:
            if self.fail_final:
                raise ProviderConnectionError(self.name)
            return self.final.pop(0)
        index = self.calls
        self.calls += 1
        if index in self.fail_interim:
            raise ProviderConnectionError(self.name)
        return self.interim.pop(0)


class KeywordExtractor(Extractor):
    """Medications named in the transcript; optionally gated to hold an update in flight."""

    name = "keywords"
    LEXICON = ("aspirin", "ibuprofen", "metformin")

    def __init__(self) -> None:
        super().__init__(timeout_s=5)
        self.requests: list[ExtractionRequest] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail_next = False

    async def _extract_impl(self, request: ExtractionRequest) -> ClinicalNote:
        self.requests.append(request)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ProviderConnectionError(self.name)
        meds: dict[str, Medication] = {}
        for segment in request.segments:
            for word in self.LEXICON:
                if word in segment.text.lower():
                    med = meds.setdefault(word, Medication(id=f"med-{word}", name=word))
                    med.evidence.append(segment.id)
        return ClinicalNote(medications=list(meds.values()))


def two_windows() -> ScriptedSTT:
    """Four chunks, two windows (close them with a quiet second and fourth chunk)."""
    return ScriptedSTT(
        interim=["aspirin", "daily", "and ibuprofen", "too"],
        final=["aspirin daily", "and ibuprofen too"],
    )


class PaidKeywordExtractor(KeywordExtractor):
    """The same, billed per token like a hosted LLM: the session calls it at a cadence.
    It merges into the note it is sent, as the LLM extractors do, and can be told to fail
    on every call."""

    name = "paid-keywords"
    pays_per_token = True

    def __init__(self) -> None:
        super().__init__()
        self.fail_always = False
        self.also: list[Medication] = []  # what only the model finds (the rules never do)

    async def _extract_impl(self, request: ExtractionRequest) -> ClinicalNote:
        if self.fail_always:
            self.requests.append(request)
            raise ProviderConnectionError(self.name)
        found = await super()._extract_impl(request)
        held = {m.id for m in request.note.medications}
        new = [m for m in [*found.medications, *self.also] if m.id not in held]
        return request.note.model_copy(update={"medications": [*request.note.medications, *new]})


Sent = list[dict[str, Any]]
MakeSession = Callable[..., Awaitable[tuple[LiveSession, Sent]]]


@pytest.fixture(name="make_session")
async def make_session_fixture(tmp_path: Path, redis_url: str) -> AsyncIterator[MakeSession]:
    stores: list[SessionStore] = []

    async def factory(
        stt: SpeechToText,
        extractor: Extractor | list[Extractor],
        *,
        min_interval_s: float = 0.0,
        min_new_tokens: int = 0,
        drafts: bool = True,
        cooldown_s: float = 30.0,
        audio: AudioFormat | None = None,
        segments: SegmentSettings | None = None,
    ) -> tuple[LiveSession, Sent]:
        cadence = NoteSettings(
            min_interval_s=min_interval_s, min_new_tokens=min_new_tokens, drafts=drafts
        )
        # the cooldown also spaces the LLM failures counted towards adopting
        extraction = ChainSettings(cooldown_s=cooldown_s)
        settings = Settings(
            environment="test",
            data_dir=tmp_path,
            redis_url=redis_url,
            segments=segments or SegmentSettings(max_window_seconds=28, min_window_seconds=8),
            resilience=ResilienceSettings(extraction=extraction),
            note=cadence,
        )
        keys = SessionKeys(LocalKeyStore(tmp_path / "keys"))
        store = SessionStore(connect(redis_url, socket_timeout_s=1), ttl_s=600, keys=keys)
        stores.append(store)
        services = ProcessServices(
            session=settings.session,
            store=store,
            audio=LocalAudioStore(tmp_path / "audio", keys=keys),
            # One round per call: the chain's retries have their own tests (test_chain.py).
            stt=FallbackChain([stt], kind="stt", policy=ONE_ROUND),
            extraction=FallbackChain(
                extractor if isinstance(extractor, list) else [extractor],
                kind="extraction",
                policy=ONE_ROUND,
            ),
        )
        sent: Sent = []

        async def emit(message: BaseModel) -> None:
            sent.append(message.model_dump(mode="json", by_alias=True))

        mono = AudioFormat(encoding="pcm_s16le", sample_rate=RATE, channels=1)
        start = StartMessage(type="start", audio=audio or mono)
        return await start_session(services, start, emit), sent

    yield factory
    for store in stores:
        await store.aclose()


def _rebuild(sent: Sent) -> Any:
    note = ClinicalNote().model_dump(mode="json")
    for message in sent:
        if message["type"] == "note":
            ops = [{k: v for k, v in op.items() if k != "evidence"} for op in message["patch"]]
            note = jsonpatch.apply_patch(copy.deepcopy(note), ops)
    return note


async def test_a_revised_segment_re_derives_the_note(make_session: MakeSession) -> None:
    stt = ScriptedSTT(interim=["I take aspirin", "every day"], final=["I take ibuprofen every day"])
    session, sent = await make_session(stt, KeywordExtractor())
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk())
    final = await session.stop()

    segments = [m["segment"] for m in sent if m["type"] == "transcript"]
    assert [(s["id"], s["final"], s["text"]) for s in segments] == [
        ("seg-0000", False, "I take aspirin"),
        ("seg-0000", False, "I take aspirin every day"),
        ("seg-0000", True, "I take ibuprofen every day"),
    ]
    assert [m.name for m in final.note.medications] == ["ibuprofen"]
    assert final.note.medications[0].evidence == ["seg-0000"]
    # aspirin came and went through the patch stream, and the stream rebuilds the note.
    assert any(op["op"] == "remove" for m in sent if m["type"] == "note" for op in m["patch"])
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_note_updates_coalesce_while_an_extraction_runs(make_session: MakeSession) -> None:
    stt = ScriptedSTT(
        interim=["aspirin", "one", "two", "three", "metformin"],
        final=["aspirin one two three metformin"],
    )
    extractor = KeywordExtractor()
    extractor.gate = asyncio.Event()
    session, sent = await make_session(stt, extractor)
    await session.accept_chunk(_chunk(4.0))
    await extractor.entered.wait()  # the first extraction is in flight and held
    for _ in range(4):
        await session.accept_chunk(_chunk(4.0))
    await session.transcriber.chunks.join()  # all interim results are in while the update is held
    assert len(extractor.requests) == 1
    extractor.gate.set()
    final = await session.stop()
    # The held call, then ONE call for all four revisions that arrived meanwhile (then
    # possibly one more for the final pass, unless it was already in by then).
    assert len(extractor.requests) in (2, 3)
    assert "metformin" in extractor.requests[1].segments[0].text
    assert sorted(m.name for m in final.note.medications) == ["aspirin", "metformin"]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_a_chunk_every_provider_failed_is_reported_and_recovered(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(
        interim=["first words", "third words"],
        final=["first words second words third words"],
        fail_interim={1},
    )
    session, sent = await make_session(stt, KeywordExtractor())
    for _ in range(3):
        await session.accept_chunk(_chunk())
    final = await session.stop()
    errors = [m for m in sent if m["type"] == "error"]
    # About an acked chunk: chunk_seq, never seq (seq means "this frame was not stored").
    assert [(e["code"], e["retryable"], e["seq"], e["chunk_seq"]) for e in errors] == [
        ("transcription_failed", True, None, 1)
    ]
    assert "scripted" in str(errors[0]["message"])
    assert [m["seq"] for m in sent if m["type"] == "ack"] == [0, 1, 2]
    # The failed chunk stayed in its segment; the final pass heard it.
    assert [s.text for s in final.transcript] == ["first words second words third words"]
    chunks = await session.services.store.chunks(session.session_id)
    assert [(c.seq, c.transcribed) for c in chunks] == [(0, True), (1, True), (2, True)]
    assert final.audio is not None
    assert final.audio.duration_s == pytest.approx(15.0)


async def test_a_chunk_no_pass_could_transcribe_is_kept_for_reprocessing(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(interim=["first words", "third words"], final=[], fail_interim={1})
    stt.fail_final = True
    session, _ = await make_session(stt, KeywordExtractor())
    for _ in range(3):
        await session.accept_chunk(_chunk())
    final = await session.stop()
    assert [s.text for s in final.transcript] == ["first words third words"]
    assert final.transcript[0].provider == "interim"
    chunks = await session.services.store.chunks(session.session_id)
    assert [(c.seq, c.transcribed) for c in chunks] == [(0, True), (1, False), (2, True)]
    assert final.audio is not None
    assert final.audio.duration_s == pytest.approx(15.0)  # its audio is in the recording


async def test_a_failed_extraction_is_reported_and_caught_up(make_session: MakeSession) -> None:
    stt = ScriptedSTT(interim=["aspirin", "metformin"], final=["aspirin metformin"])
    extractor = KeywordExtractor()
    extractor.fail_next = True
    session, sent = await make_session(stt, extractor)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk())
    final = await session.stop()
    codes = [m["code"] for m in sent if m["type"] == "error"]
    assert codes == ["extraction_failed"]
    assert sorted(m.name for m in final.note.medications) == ["aspirin", "metformin"]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_an_extraction_cadence_coalesces_until_stop(make_session: MakeSession) -> None:
    stt = ScriptedSTT(
        interim=["aspirin", "one", "two", "metformin"], final=["aspirin one", "two metformin"]
    )
    extractor = PaidKeywordExtractor()
    session, sent = await make_session(stt, extractor, min_interval_s=3600, drafts=False)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))  # first window closes: final text
    await extractor.entered.wait()  # the first update runs at once
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))  # second window: final text
    await session.transcriber.chunks.join()
    await session.transcriber.finals.join()
    await session.notes.caught_up()
    assert len(extractor.requests) == 1  # the second window waits for the cadence ...
    assert [m.name for m in session.note.medications] == ["aspirin"]  # (no drafts here)
    final = await session.stop()  # ... which stop cuts short
    assert len(extractor.requests) == 2
    assert extractor.requests[1].changed == {"seg-0002"}
    assert sorted(m.name for m in final.note.medications) == ["aspirin", "metformin"]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_a_free_extractor_ignores_the_cadence(make_session: MakeSession) -> None:
    stt = ScriptedSTT(interim=["aspirin", "metformin"], final=["aspirin metformin"])
    extractor = KeywordExtractor()
    session, _ = await make_session(stt, extractor, min_interval_s=3600, min_new_tokens=10**6)
    for _ in range(2):
        await session.accept_chunk(_chunk(4.0))
        await session.transcriber.chunks.join()
        await session.notes.caught_up()
    assert [m.name for m in session.note.medications] == ["aspirin", "metformin"]
    assert not any(m.provisional for m in session.note.medications)
    await session.stop()


async def test_drafts_fill_in_between_paid_updates_until_the_llm_confirms_them(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(
        interim=["I take aspirin 75 mg daily.", "And metformin 500 mg twice a day."],
        final=["I take aspirin 75 mg daily. And metformin 500 mg twice a day."],
    )
    extractor = PaidKeywordExtractor()
    session, sent = await make_session(stt, extractor, min_new_tokens=10**6)
    await session.accept_chunk(_chunk(4.0))
    await session.transcriber.chunks.join()
    await session.notes.caught_up()
    assert extractor.requests == []  # not due: the local rules drafted instead
    assert [(m.id, m.dose, m.provisional) for m in session.note.medications] == [
        ("med-aspirin", "75 mg", True)
    ]
    stored = await session.services.store.snapshot(session.session_id)
    assert stored is not None
    assert stored.note == session.note  # drafts are stored: they survive a failover
    await session.accept_chunk(_chunk(4.0))
    await session.transcriber.chunks.join()
    await session.notes.caught_up()
    assert [(m.id, m.provisional) for m in session.note.medications] == [
        ("med-aspirin", True),
        ("med-metformin", True),
    ]
    final = await session.stop()
    (request,) = extractor.requests  # stop calls the chain once, whatever the cadence
    assert request.note == ClinicalNote()  # the LLM is never sent drafts
    assert [(m.id, m.provisional) for m in final.note.medications] == [
        ("med-aspirin", False),
        ("med-metformin", False),
    ]
    assert _rebuild(sent) == final.note.model_dump(mode="json")
    drafted = [op for m in sent if m["type"] == "note" for op in m["patch"]]
    assert any(op["path"].endswith("/provisional") and op["value"] is False for op in drafted)


async def test_a_paid_chain_reads_final_text_once_enough_of_it_is_unread(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(
        interim=["aspirin", "then metformin"],
        final=["aspirin, then metformin, and more words to pass the threshold"],
    )
    extractor = PaidKeywordExtractor()
    session, sent = await make_session(stt, extractor, min_new_tokens=10)  # ~40 characters
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))  # 10 s, quiet: the window closes
    await session.transcriber.chunks.join()
    await session.transcriber.finals.join()
    await session.notes.caught_up()
    # Interim text is only drafted; the final pass's text is read, once.
    (request,) = extractor.requests
    assert [(s.text, s.final) for s in request.segments if s.id in request.changed] == [
        ("aspirin, then metformin, and more words to pass the threshold", True)
    ]
    assert [(m.name, m.provisional) for m in session.note.medications] == [
        ("aspirin", False),
        ("metformin", False),
    ]
    drafts = [op for m in sent if m["type"] == "note" for op in m["patch"]]
    assert any(op["op"] == "add" and op["value"].get("provisional") is True for op in drafts)
    final = await session.stop()
    assert len(extractor.requests) == 1  # nothing unread at stop: no second call
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_a_free_fallback_mid_session_drafts_and_the_llm_reads_the_text_later(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(interim=["aspirin", "and ibuprofen"], final=["aspirin and ibuprofen"])
    llm, fallback = PaidKeywordExtractor(), KeywordExtractor()
    llm.fail_next = True  # the LLM is down for the first due call
    session, sent = await make_session(stt, [llm, fallback], min_new_tokens=1)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))
    await session.transcriber.chunks.join()
    await session.transcriber.finals.join()
    await session.notes.caught_up()
    assert len(llm.requests) == 1  # tried, failed ...
    assert fallback.requests  # ... the free fallback answered ...
    assert [(m.name, m.provisional) for m in session.note.medications] == [
        ("aspirin", True),  # ... as drafts
        ("ibuprofen", True),
    ]
    assert session.notes.read == {}  # the LLM has still to read it
    final = await session.stop()
    assert len(llm.requests) == 2
    assert llm.requests[1].changed == {"seg-0000"}
    assert [(m.name, m.provisional) for m in final.note.medications] == [
        ("aspirin", False),
        ("ibuprofen", False),
    ]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def _settle(session: LiveSession) -> None:
    await session.transcriber.chunks.join()
    await session.transcriber.finals.join()
    await session.notes.caught_up()


async def test_an_llm_that_keeps_failing_on_the_text_is_moved_past_and_nothing_is_lost(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(
        interim=["aspirin", "more", "words", "here", "and ibuprofen", "end"],
        final=["aspirin more", "words here and ibuprofen end"],
    )
    llm, fallback = PaidKeywordExtractor(), KeywordExtractor()
    llm.fail_always = True  # e.g. content the model refuses
    session, sent = await make_session(stt, [llm, fallback], min_new_tokens=1, cooldown_s=0)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))  # seg-0000 final: due
    await _settle(session)
    assert len(llm.requests) == 1
    assert [(m.name, m.provisional) for m in session.note.medications] == [("aspirin", True)]
    for _ in range(2):  # each new segment tries the LLM on the same unread text again
        await session.accept_chunk(_chunk())
        await _settle(session)
    # Third failure on that text: the rules' reading is adopted and the LLM moves on.
    assert len(llm.requests) == 3
    assert "seg-0000" in session.notes.read
    assert [(m.name, m.provisional) for m in session.note.medications] == [("aspirin", False)]
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))
    final = await session.stop()
    assert len(llm.requests) == 3  # its breaker is open now: not even tried
    assert [(m.name, m.provisional) for m in final.note.medications] == [
        ("aspirin", False),
        ("ibuprofen", False),  # adopted at stop
    ]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_a_fallback_at_stop_keeps_what_the_llm_confirmed(
    make_session: MakeSession,
) -> None:
    stt = two_windows()
    llm, fallback = PaidKeywordExtractor(), KeywordExtractor()
    llm.also = [Medication(id="med-vitamin-d", name="vitamin D", evidence=["seg-0000"])]
    session, _ = await make_session(stt, [llm, fallback], min_new_tokens=1)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))
    await _settle(session)
    assert [m.name for m in session.note.medications] == ["aspirin", "vitamin D"]
    # What only the LLM wrote (the rules never find it) must survive a fallback at stop.
    llm.fail_always = True
    await session.accept_chunk(_chunk())
    final = await session.stop()
    assert [(m.name, m.provisional) for m in final.note.medications] == [
        ("aspirin", False),
        ("vitamin D", False),
        ("ibuprofen", False),
    ]


async def test_stop_while_a_paid_call_is_in_flight_reads_the_rest_after_it(
    make_session: MakeSession,
) -> None:
    stt = two_windows()
    llm = PaidKeywordExtractor()
    llm.gate = asyncio.Event()
    session, sent = await make_session(stt, llm, min_new_tokens=1)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))
    await llm.entered.wait()  # the call for seg-0000 is in flight, held
    await session.accept_chunk(_chunk())
    stopping = asyncio.create_task(session.stop())
    await session.transcriber.chunks.join()
    assert not stopping.done()
    llm.gate.set()
    final = await stopping
    assert [sorted(r.changed) for r in llm.requests] == [["seg-0000"], ["seg-0002"]]
    assert [(m.name, m.provisional) for m in final.note.medications] == [
        ("aspirin", False),
        ("ibuprofen", False),
    ]
    assert _rebuild(sent) == final.note.model_dump(mode="json")


async def test_the_interval_wakes_the_worker_when_no_segment_comes(
    make_session: MakeSession,
) -> None:
    stt = two_windows()
    llm = PaidKeywordExtractor()
    session, _ = await make_session(stt, llm, min_interval_s=0.2, min_new_tokens=1)
    for quiet in (False, True, False, True):  # two windows, both final
        await session.accept_chunk(_chunk(quiet_tail=quiet))
    await _settle(session)
    # The second window came within the interval: only one call so far, and nothing
    # else will arrive to wake the worker ...
    assert len(llm.requests) in (1, 2)
    llm.entered.clear()
    if len(llm.requests) == 1:
        async with asyncio.timeout(10):  # a failure bound, not a synchronisation
            await llm.entered.wait()  # ... the interval's own timer does
    assert [sorted(r.changed) for r in llm.requests] == [["seg-0000"], ["seg-0002"]]
    await session.stop()


async def test_text_the_llm_read_is_remembered_even_when_the_note_did_not_change(
    make_session: MakeSession,
) -> None:
    stt = ScriptedSTT(interim=["hello", "there"], final=["hello there, how are you"])
    llm = PaidKeywordExtractor()
    session, sent = await make_session(stt, llm, min_new_tokens=1)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))
    await _settle(session)
    assert len(llm.requests) == 1
    assert not [m for m in sent if m["type"] == "note"]  # nothing to say yet
    stored = await session.services.store.snapshot(session.session_id)
    assert stored is not None
    # A session resumed elsewhere will not send (and pay for) this text again.
    assert stored.extracted_through == {"seg-0000": "hello there, how are you"}
    await session.stop()


async def test_failures_of_a_short_outage_do_not_make_the_llm_skip_text(
    make_session: MakeSession,
) -> None:
    stt = two_windows()
    llm, fallback = PaidKeywordExtractor(), KeywordExtractor()
    llm.fail_always = True
    # Failures within one cooldown count once: nothing is adopted.
    session, _ = await make_session(stt, [llm, fallback], min_new_tokens=1, cooldown_s=3600)
    await session.accept_chunk(_chunk())
    await session.accept_chunk(_chunk(quiet_tail=True))  # seg-0000 final: fails
    await _settle(session)
    await session.accept_chunk(_chunk())  # tried again on the same text: fails
    await _settle(session)
    assert len(llm.requests) == 2
    assert session.notes.read == {}  # still unread: the LLM reads it once it is back
    llm.fail_always = False
    await session.accept_chunk(_chunk(quiet_tail=True))  # seg-0002 final
    await _settle(session)
    # Back: the LLM itself reads the text it failed on (it was never adopted).
    assert "seg-0000" in llm.requests[2].changed
    final = await session.stop()
    assert {s for r in llm.requests[2:] for s in r.changed} == {"seg-0000", "seg-0002"}
    assert [(m.name, m.provisional) for m in final.note.medications] == [
        ("aspirin", False),
        ("ibuprofen", False),
    ]
