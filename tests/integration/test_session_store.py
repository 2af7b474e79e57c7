import pytest
import redis.asyncio as aioredis

from drtranscribe.crypto.keys import SessionKeys
from drtranscribe.domain.note import ClinicalNote, Medication
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import SessionTakenOver, StateStoreError
from drtranscribe.state.store import ChunkRecord, SessionStore, connect

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(redis_url: str, session_keys: SessionKeys):  # type: ignore[no-untyped-def]
    s = SessionStore(connect(redis_url, socket_timeout_s=1.0), ttl_s=600, keys=session_keys)
    yield s
    await s.aclose()


def _segment() -> Segment:
    return Segment(
        id="seg-0000", chunk_seq=1, first_chunk_seq=0, text="hello", start=0, end=10,
        provider="local_whisper", latency_ms=12.0,
    )  # fmt: skip


async def test_session_state_round_trips_with_a_ttl_on_every_key(
    store: SessionStore, redis_client: aioredis.Redis
) -> None:
    token = await store.create(
        "s_store", {"status": "active", "next_seq": 0}, {"encounter": "E1"},
        resume_token="rt", instance="i1",
    )  # fmt: skip
    await store.record_chunk("s_store", token, ChunkRecord(0, 0.0, 5.0, False), {"elapsed_s": 5.0})
    await store.record_chunk("s_store", token, ChunkRecord(1, 5.0, 5.0, False), {"elapsed_s": 10.0})
    await store.mark_transcribed("s_store", token, [0])
    await store.save_segment("s_store", token, _segment())
    note = ClinicalNote(medications=[Medication(id="med-aspirin", name="aspirin")])
    await store.save_note("s_store", token, 3, note, extracted_through={"seg-0000": "hello"})

    meta = await store.meta("s_store")
    assert meta["next_seq"] == "2"
    assert meta["elapsed_s"] == "10.0"
    assert "rt" not in meta.values()  # the resume token is stored hashed
    assert await store.check_resume_token("s_store", "rt")
    assert not await store.check_resume_token("s_store", "wrong")
    assert not await store.check_resume_token("s_nope", "rt")
    assert [(c.seq, c.transcribed) for c in await store.chunks("s_store")] == [
        (0, True),
        (1, False),
    ]
    assert await store.segments("s_store") == [_segment()]
    assert await store.note("s_store") == (3, note)
    assert await store.extracted_through("s_store") == {"seg-0000": "hello"}
    assert await store.client_meta("s_store") == {"encounter": "E1"}
    keys = await redis_client.keys("drt:{s_store}:*")
    assert len(keys) == 8
    for key in keys:
        assert 0 < await redis_client.ttl(key) <= 600

    assert await store.delete("s_store") == 8
    assert await redis_client.keys("drt:{s_store}:*") == []


async def test_a_fenced_out_writer_cannot_write(store: SessionStore) -> None:
    old = await store.create("s_fence", {"status": "active"}, {}, resume_token="rt", instance="a")
    new = await store.take("s_fence", instance="b")
    assert new == old + 1
    with pytest.raises(SessionTakenOver):
        await store.save_segment("s_fence", old, _segment())
    with pytest.raises(SessionTakenOver):
        await store.record_chunk("s_fence", old, ChunkRecord(0, 0.0, 5.0, False), {})
    assert await store.segments("s_fence") == []
    await store.save_segment("s_fence", new, _segment())
    assert await store.segments("s_fence") == [_segment()]
    await store.delete("s_fence")
    with pytest.raises(SessionTakenOver):  # erased: nobody writes it back
        await store.save_segment("s_fence", new, _segment())


async def test_unreachable_redis_is_a_store_error_not_a_hang(session_keys: SessionKeys) -> None:
    store = SessionStore(
        connect("redis://127.0.0.1:1/0", socket_timeout_s=0.2), ttl_s=60, keys=session_keys
    )
    assert await store.ping() is False
    with pytest.raises(StateStoreError):
        await store.meta("s_x")
    await store.aclose()


def test_the_session_record_reads_redis_strings_once() -> None:
    from drtranscribe.state.record import SessionRecord, hash_token

    assert SessionRecord.of({}) is None
    record = SessionRecord.of({
        "status": "finished", "tenant": "clinic-a", "next_seq": "3", "elapsed_s": "14.5",
        "sample_rate": "16000", "channels": "1", "final_audio_key": "2026-01-01/s_x_final.wav",
        "audio_format": '{"encoding": "wav"}', "resume_token_sha256": hash_token("rt"),
        "sealed": "1", "something_new": "ignored",
    })  # fmt: skip
    assert record is not None
    assert (record.next_seq, record.elapsed_s, record.layout) == (3, 14.5, (16000, 1))
    assert record.audio_format is not None
    assert record.audio_format.encoding == "wav"
    assert record.opens_with("rt")
    assert not record.opens_with("other")
    assert record.belongs_to("clinic-a")
    assert not record.belongs_to("clinic-b")
    location = record.audio_location(lambda key: f"gs://b/{key}")
    assert location is not None
    assert (location.uri, location.duration_s) == ("gs://b/2026-01-01/s_x_final.wav", 14.5)
    reserved = SessionRecord.of({"status": "reserved", "tenant": "t", "final_audio_key": ""})
    assert reserved is not None
    assert reserved.audio_location(str) is None
    assert reserved.layout is None
