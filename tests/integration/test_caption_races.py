"""Caption finality against revisions in flight, on a real Redis: a quiet timer that falls
due while a newer revision is being stored must not finalise the older text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from drtranscribe.config import CaptionSettings, Settings
from drtranscribe.crypto.keys import LocalKeyStore, SessionKeys
from drtranscribe.extraction.local import LocalExtractor
from drtranscribe.protocol import CaptionMessage, StartMessage
from drtranscribe.resilience.chain import FallbackChain
from drtranscribe.services import ProcessServices
from drtranscribe.session.lifecycle import start_session
from drtranscribe.session.live import LiveSession
from drtranscribe.state.record import CaptionRecord
from drtranscribe.state.store import SessionStore, connect
from drtranscribe.storage.local import LocalAudioStore
from drtranscribe.transcription.base import SpeechToText, TranscriptionRequest

pytestmark = pytest.mark.integration


class NoSpeech(SpeechToText):
    """A captions session never transcribes audio."""

    name = "none"

    async def _transcribe_impl(self, request: TranscriptionRequest) -> str:
        raise AssertionError("a captions session transcribed audio")


Gated = tuple[LiveSession, "GatedStore", list[dict[str, Any]]]


class GatedStore(SessionStore):
    """Holds the write of one caption message until the test lets it through."""

    def __init__(self, *args: Any, hold_seq: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hold_seq = hold_seq
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def record_caption(
        self, session_id: str, token: int, caption: CaptionRecord, *, advance: bool
    ) -> None:
        if advance and caption.seq == self.hold_seq:
            self.entered.set()
            await self.release.wait()
        await super().record_caption(session_id, token, caption, advance=advance)


@pytest.fixture
async def gated(
    tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[LiveSession, GatedStore, list[dict[str, Any]]]]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        redis_url=redis_url,
        captions=CaptionSettings(quiet_final_s=2.0),  # never due within a test step
    )
    keys = SessionKeys(LocalKeyStore(tmp_path / "keys"))
    store = GatedStore(connect(redis_url, socket_timeout_s=1), ttl_s=600, keys=keys, hold_seq=1)
    services = ProcessServices(
        session=settings.session,
        store=store,
        audio=LocalAudioStore(tmp_path / "audio", keys=keys),
        stt=FallbackChain([NoSpeech()], kind="stt"),
        extraction=FallbackChain([LocalExtractor()], kind="extraction"),
    )
    sent: list[dict[str, Any]] = []

    async def emit(message: BaseModel) -> None:
        sent.append(message.model_dump(mode="json", by_alias=True))

    start = StartMessage(type="start", input="captions", speakers={"Kim": "patient"})
    session = await start_session(services, start, emit)
    yield session, store, sent
    await session.abort()
    await store.aclose()


def _caption(seq: int, text: str) -> CaptionMessage:
    return CaptionMessage(type="caption", seq=seq, caption_id="c1", speaker="Kim", text=text)


async def test_a_quiet_timer_never_finalises_text_older_than_a_revision_in_flight(
    gated: Gated,
) -> None:
    session, store, sent = gated
    await session.accept_caption(_caption(0, "I have had a cough"))
    assert "c1" in session.captions._quiet  # its quiet period runs

    newer = asyncio.create_task(
        session.accept_caption(_caption(1, "I have had a cough for a week"))
    )
    await store.entered.wait()  # the newer revision is being written...
    assert "c1" not in session.captions._quiet  # ...and the older text's timer is gone
    store.release.set()
    await newer

    final = await session.stop()
    assert [(s.text, s.final) for s in final.transcript] == [
        ("I have had a cough for a week", True)
    ]
    stored = await store.captions(session.session_id)
    assert [(c.text, c.final, c.seq) for c in stored] == [
        ("I have had a cough for a week", True, 1)
    ]
    acks = [m["seq"] for m in sent if m["type"] == "ack"]
    assert acks == [0, 1]


async def test_the_same_words_after_finality_are_a_no_op_revision(gated: Gated) -> None:
    session, store, sent = gated
    store.hold_seq = -1  # nothing held
    message = CaptionMessage(
        type="caption", seq=0, caption_id="c1", speaker="Kim", text="No fever.", final=True
    )
    await session.accept_caption(message)
    again = message.model_copy(update={"seq": 1})
    await session.accept_caption(again)  # the meeting re-sent its last caption
    assert [m["seq"] for m in sent if m["type"] == "ack"] == [0, 1]
    assert session.next_seq == 2
    final = await session.stop()
    assert [(s.text, s.final) for s in final.transcript] == [("No fever.", True)]
