import pytest
import redis.asyncio as aioredis

from drtranscribe.extraction.note import ClinicalNote, Medication
from drtranscribe.state.store import ChunkRecord, SessionStore, connect
from drtranscribe.transcript import Segment

pytestmark = pytest.mark.integration


async def test_session_state_round_trips_with_a_ttl_on_every_key(
    redis_url: str, redis_client: aioredis.Redis
) -> None:
    store = SessionStore(connect(redis_url, socket_timeout_s=1.0), ttl_s=600)
    await store.create("s_store", {"status": "active", "next_seq": 0}, {"encounter": "E1"})
    await store.record_chunk("s_store", ChunkRecord(0, 0.0, 5.0, False), {"elapsed_s": 5.0})
    await store.record_chunk("s_store", ChunkRecord(1, 5.0, 5.0, False), {"elapsed_s": 10.0})
    await store.mark_transcribed("s_store", [0])
    seg = Segment(
        id="seg-0000", chunk_seq=1, first_chunk_seq=0, text="hello", start=0, end=10,
        provider="local_whisper", latency_ms=12.0,
    )  # fmt: skip
    await store.save_segment("s_store", seg)
    note = ClinicalNote(medications=[Medication(id="med-aspirin", name="aspirin")])
    await store.save_note("s_store", 3, note, extracted_through={"seg-0000": "hello"})

    assert (await store.meta("s_store"))["next_seq"] == "2"
    assert [(c.seq, c.transcribed) for c in await store.chunks("s_store")] == [
        (0, True),
        (1, False),
    ]
    assert await store.segments("s_store") == [seg]
    assert await store.note("s_store") == (3, note)
    assert await store.extracted_through("s_store") == {"seg-0000": "hello"}
    assert await store.client_meta("s_store") == {"encounter": "E1"}
    keys = await redis_client.keys("drt:{s_store}:*")
    assert len(keys) == 5
    for key in keys:
        assert 0 < await redis_client.ttl(key) <= 600

    assert await store.delete("s_store") == 5
    assert await redis_client.keys("drt:{s_store}:*") == []
    await store.aclose()


async def test_unreachable_redis_is_a_store_error_not_a_hang() -> None:
    from drtranscribe.errors import StateStoreError

    store = SessionStore(connect("redis://127.0.0.1:1/0", socket_timeout_s=0.2), ttl_s=60)
    assert await store.ping() is False
    with pytest.raises(StateStoreError):
        await store.meta("s_x")
    await store.aclose()
