"""Per-session data keys: the stores (files, a real fake-gcs-server bucket), the cache, and
what the session store does with them (sealed values, sessions from before sealing)."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from drtranscribe.config import Settings
from drtranscribe.crypto.keys import (
    GcsKeyStore,
    LocalKeyStore,
    SessionKeyMissing,
    SessionKeys,
)
from drtranscribe.crypto.sealing import KEY_BYTES, new_key
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import ConfigError, SessionTakenOver
from drtranscribe.runtime import _open_keys
from drtranscribe.state.store import SEALED_PREFIX, SessionStore, connect
from tests.fakes.gcs import FakeGcs

pytestmark = pytest.mark.integration


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_local_keys_are_private_files_and_creating_twice_keeps_the_first(
    tmp_path: Path,
) -> None:
    store = LocalKeyStore(tmp_path / "keys")
    first = await store.put("s_a", new_key())
    assert await store.put("s_a", new_key()) == first  # a retried start: same key
    path = tmp_path / "keys" / "s_a.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert await store.older_than(3600) == []
    assert await store.older_than(-1) == ["s_a"]
    await store.delete("s_a")
    assert not path.exists()
    assert await store.get("s_a") is None
    await store.delete("s_a")  # absent: done


async def test_keys_in_a_bucket(fake_gcs: FakeGcs) -> None:
    client = fake_gcs.client()
    bucket = f"keys-{uuid.uuid4().hex[:10]}"
    client.create_bucket(bucket)
    store = GcsKeyStore(bucket, client=client)
    first = await store.put("s_b", new_key())
    assert len(first) == KEY_BYTES
    assert await store.put("s_b", new_key()) == first  # 412: the stored key is the key
    assert await store.get("s_b") == first
    assert [b.name for b in client.list_blobs(bucket)] == ["keys/s_b"]
    await store.delete("s_b")
    assert await store.get("s_b") is None
    await store.delete("s_b")
    assert list(client.list_blobs(bucket)) == []


async def test_the_cache_forgets_in_time_and_a_destroyed_key_is_never_served(
    tmp_path: Path,
) -> None:
    clock = Clock()
    shared = LocalKeyStore(tmp_path / "keys")
    here = SessionKeys(shared, cache_ttl_s=60, clock=clock)
    elsewhere = SessionKeys(shared, cache_ttl_s=60, clock=clock)
    key = await here.create("s_c")
    assert await elsewhere.get("s_c") == key  # cached there now
    await here.destroy("s_c")  # erased through this instance
    with pytest.raises(SessionKeyMissing):
        await here.get("s_c")
    assert await elsewhere.get("s_c") == key  # within its cache time ...
    clock.now = 61
    with pytest.raises(SessionKeyMissing):
        await elsewhere.get("s_c")  # ... and no longer
    await shared.put("s_c", key)  # even if the file came back, here it stays destroyed
    with pytest.raises(SessionKeyMissing):
        await here.get("s_c")


async def test_cloud_audio_needs_a_shared_key_bucket(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, audio_bucket="audio")
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigError, match="DRT_KEYS_BUCKET"):
            await _open_keys(settings, stack)


def _segment(text: str) -> Segment:
    return Segment(
        id="seg-0000", chunk_seq=0, first_chunk_seq=0, text=text, start=0, end=5,
        provider="local_whisper", latency_ms=1.0,
    )  # fmt: skip


async def test_client_metadata_is_sealed_names_and_all(
    redis_url: str, redis_client: aioredis.Redis, session_keys: SessionKeys
) -> None:
    store = SessionStore(connect(redis_url, socket_timeout_s=1.0), ttl_s=60, keys=session_keys)
    await store.create(
        "s_meta", {"status": "active"}, {"patient Jane Roe": "MRN 12345"},
        resume_token="rt", instance="i",
    )  # fmt: skip
    raw = await redis_client.hgetall("drt:{s_meta}:client")
    assert list(raw) == ["sealed"]
    assert raw["sealed"].startswith(SEALED_PREFIX)
    assert "Jane" not in raw["sealed"]
    assert await store.client_meta("s_meta") == {"patient Jane Roe": "MRN 12345"}
    await store.aclose()


async def test_a_session_from_before_sealing_is_read_and_then_sealed(
    redis_url: str, redis_client: aioredis.Redis, session_keys: SessionKeys
) -> None:
    """As a rolling deploy finds it: plain values, no key, no "sealed" flag."""
    sid = "s_legacy"
    await redis_client.hset(f"drt:{{{sid}}}:meta", mapping={"status": "active", "next_seq": 1})
    await redis_client.hset(
        f"drt:{{{sid}}}:segments", "seg-0000", _segment("old words").model_dump_json()
    )
    await redis_client.hset(f"drt:{{{sid}}}:client", mapping={"encounter": "E7"})
    await redis_client.set(f"drt:{{{sid}}}:fence", 1)
    store = SessionStore(connect(redis_url, socket_timeout_s=1.0), ttl_s=60, keys=session_keys)
    assert [s.text for s in await store.segments(sid)] == ["old words"]
    assert await store.client_meta(sid) == {"encounter": "E7"}

    token = await store.take(sid, instance="new-revision")
    await store.ensure_key(sid)  # what resume does
    assert (await redis_client.hgetall(f"drt:{{{sid}}}:meta"))["sealed"] == "1"
    await store.save_segment(sid, token, _segment("new words"))
    stored = await redis_client.hget(f"drt:{{{sid}}}:segments", "seg-0000")
    assert stored is not None
    assert stored.startswith(SEALED_PREFIX)
    assert [s.text for s in await store.segments(sid)] == ["new words"]

    await session_keys.destroy(sid)  # erased: no new key is ever made for it again
    with pytest.raises(SessionTakenOver):
        await store.save_segment(sid, token, _segment("after"))
    await store.delete(sid)
    await store.aclose()
