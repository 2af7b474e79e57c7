"""GcsAudioStore against a real fake-gcs-server through the real google-cloud-storage client."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import struct
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import storage
from google.cloud.storage.bucket import LifecycleRuleDelete

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav, wav_header
from drtranscribe.crypto.keys import SessionKeys
from drtranscribe.crypto.sealing import FRAME_OVERHEAD, MAGIC
from drtranscribe.storage.base import chunk_key, final_key
from drtranscribe.storage.gcs import (
    TEMP_SUFFIX,
    AudioNotFound,
    AudioStoreError,
    GcsAudioStore,
    _map_error,
    client_for_emulator,
)

if TYPE_CHECKING:
    from tests.fakes.gcs import FakeGcs


pytestmark = pytest.mark.integration

ECHO = "patient said: chest pain"
LIFECYCLE = Path(__file__).parents[2] / "deploy" / "gcs-lifecycle.json"


@pytest.fixture
def gcs_client(fake_gcs: FakeGcs) -> Iterator[storage.Client]:
    client = fake_gcs.client()
    yield client
    client.close()


@pytest.fixture
def bucket(gcs_client: storage.Client) -> storage.Bucket:
    return gcs_client.create_bucket(f"audio-{uuid.uuid4().hex[:12]}")


SESSIONS = (
    "s_rt",
    "s_idem",
    "s_over",
    "s_none",
    "s_comb",
    "s_gap",
    "s_empty",
    "s_a",
    "s_ab",
    "s_life",
)


@pytest.fixture
async def store(
    gcs_client: storage.Client, bucket: storage.Bucket, session_keys: SessionKeys
) -> AsyncIterator[GcsAudioStore]:
    for session_id in SESSIONS:
        await session_keys.create(session_id)
    store = GcsAudioStore(bucket.name, keys=session_keys, client=gcs_client)
    yield store
    await store.aclose()


def names(bucket: storage.Bucket, prefix: str = "") -> list[str]:
    return sorted(b.name for b in bucket.client.list_blobs(bucket, prefix=prefix))


def chunk(rng: np.random.Generator, frames: int, channels: int, rate: int) -> PcmAudio:
    samples = rng.integers(-3000, 3000, (frames, channels), dtype=np.int16)
    return PcmAudio(samples=samples, sample_rate=rate)


def non_canonical_wav(audio: PcmAudio) -> bytes:
    """A valid WAV whose data chunk is not at byte 36: a LIST chunk sits before it."""
    canonical = encode_wav(audio)
    info = b"INFOISFT" + struct.pack("<I", 4) + b"test"
    fmt, data = canonical[12:36], canonical[36:]
    chunks = fmt + b"LIST" + struct.pack("<I", len(info)) + info + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


async def test_uri_and_key_checks(fake_gcs: FakeGcs, session_keys: SessionKeys) -> None:
    client = fake_gcs.client()
    store = GcsAudioStore("my-bucket", keys=session_keys, client=client)
    try:
        assert store.uri("2026-01-01/s1_final.wav") == "gs://my-bucket/2026-01-01/s1_final.wav"
        assert store.uri(chunk_key("s1", 3)) == "gs://my-bucket/s1/chunk_0003.wav"
        for bad in ("../../etc/passwd", "/abs", "a//b", ""):
            with pytest.raises(ValueError, match="invalid object key"):
                store.uri(bad)
    finally:
        await store.aclose()
        client.close()


async def test_put_get_round_trip(store: GcsAudioStore, bucket: storage.Bucket) -> None:
    wav = encode_wav(chunk(np.random.default_rng(1), 1600, 1, 16000))
    await store.put_chunk("s_rt", 0, wav)
    assert await store.get_chunk("s_rt", 0) == wav
    blob = bucket.get_blob("s_rt/chunk_0000.wav")
    assert blob.content_type == "application/vnd.drtranscribe.sealed"
    assert blob.size == len(MAGIC) + len(wav) + FRAME_OVERHEAD  # sealed, one frame
    assert wav[44:1044] not in blob.download_as_bytes()  # no sample in the clear


async def test_resending_the_same_chunk_stores_it_once(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    """Sealing draws a fresh nonce, so a resent chunk is other bytes: it replaces the first
    upload (conditioned on its generation), and the object opens to the same WAV."""
    wav = encode_wav(chunk(np.random.default_rng(2), 800, 1, 16000))
    await store.put_chunk("s_idem", 4, wav)
    await store.put_chunk("s_idem", 4, wav)
    assert names(bucket, "s_idem/") == ["s_idem/chunk_0004.wav"]
    assert await store.get_chunk("s_idem", 4) == wav


async def test_other_bytes_for_an_unacked_seq_replace_it(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    rng = np.random.default_rng(3)
    old, new = (encode_wav(chunk(rng, 800, 1, 16000)) for _ in range(2))
    await store.put_chunk("s_over", 0, old)
    await store.put_chunk("s_over", 0, new)
    assert await store.get_chunk("s_over", 0) == new
    assert names(bucket, "s_over/") == ["s_over/chunk_0000.wav"]


async def test_missing_chunk_is_not_found(store: GcsAudioStore) -> None:
    with pytest.raises(AudioNotFound, match=r"get_chunk s_none/chunk_0000\.wav") as info:
        await store.get_chunk("s_none", 0)
    assert not info.value.retryable
    assert isinstance(info.value.__cause__, api_exceptions.NotFound)


async def test_combine_forty_chunks_streams_them_in_order(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    rng = np.random.default_rng(7)
    # ~4.6 MB of PCM: more than one 4 MiB piece of the resumable upload
    chunks = [chunk(rng, 28000 + 37 * i, 2, 22050) for i in range(40)]
    for seq, audio in enumerate(chunks):
        wav = non_canonical_wav(audio) if seq == 13 else encode_wav(audio)
        await store.put_chunk("s_comb", seq, wav)
    key = final_key("s_comb", date(2026, 1, 1))

    uri = await store.combine("s_comb", range(40), key, sample_rate=22050, channels=2)

    assert key == "2026-01-01/s_comb_final.wav"
    assert uri == f"gs://{bucket.name}/2026-01-01/s_comb_final.wav"
    data = await store.open_final(key)
    expected = np.concatenate([c.samples for c in chunks])
    assert data[:44] == wav_header(data_bytes=expected.nbytes, sample_rate=22050, channels=2)
    combined = decode_wav(data)
    assert combined.sample_rate == 22050
    np.testing.assert_array_equal(combined.samples, expected)
    assert bucket.get_blob(key).content_type == "application/vnd.drtranscribe.sealed"
    assert bucket.get_blob(key).download_as_bytes().startswith(MAGIC)
    # the temporaries are gone: only the chunks remain under the session
    assert names(bucket, "s_comb/") == [chunk_key("s_comb", s) for s in range(40)]


async def test_combine_with_a_missing_chunk_writes_no_final(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    # 4 chunks of 1.2 MB before the gap: the resumable upload has begun when it fails
    audio = chunk(np.random.default_rng(8), 600_000, 1, 16000)
    for seq in (0, 1, 2, 3, 5):
        await store.put_chunk("s_gap", seq, encode_wav(audio))
    key = final_key("s_gap", date(2026, 1, 2))
    with pytest.raises(AudioNotFound, match=r"s_gap/chunk_0004\.wav"):
        await store.combine("s_gap", range(6), key, sample_rate=16000, channels=1)
    gc.collect()  # an abandoned upload must not be finalised by the writer's finaliser
    assert names(bucket) == [chunk_key("s_gap", s) for s in (0, 1, 2, 3, 5)]


async def test_combine_of_no_chunks_is_an_empty_wav(store: GcsAudioStore) -> None:
    key = final_key("s_empty", date(2026, 1, 3))
    await store.combine("s_empty", [], key, sample_rate=16000, channels=1)
    assert await store.open_final(key) == wav_header(data_bytes=0, sample_rate=16000, channels=1)


async def test_delete_session_erases_it_and_nothing_else(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    audio = chunk(np.random.default_rng(9), 400, 1, 16000)
    finals = {}
    for sid in ("s_a", "s_ab"):  # "s_a/" must not match "s_ab/"
        for seq in range(3):
            await store.put_chunk(sid, seq, encode_wav(audio))
        finals[sid] = final_key(sid, date(2026, 2, 1))
        await store.combine(sid, range(3), finals[sid], sample_rate=16000, channels=1)

    await store.delete_session("s_a", [finals["s_a"]])

    assert names(bucket) == [
        "2026-02-01/s_ab_final.wav",
        *(chunk_key("s_ab", s) for s in range(3)),
    ]
    await store.delete_session("s_a", [finals["s_a"]])  # erasing twice is fine


@pytest.mark.parametrize("session_id", ["", "a/b", "..", "2026-02-01"])
async def test_delete_session_refuses_ids_that_alias_other_objects(
    store: GcsAudioStore, session_id: str
) -> None:
    with pytest.raises(ValueError, match="invalid session id"):
        await store.delete_session(session_id, [])


async def test_lifecycle_rule_deletes_chunks_and_temporaries_never_finals(
    store: GcsAudioStore, bucket: storage.Bucket
) -> None:
    policy = json.loads(LIFECYCLE.read_text())
    (rule,) = policy["rule"]
    assert rule == dict(
        LifecycleRuleDelete(age=1, matches_suffix=rule["condition"]["matchesSuffix"])
    )
    suffixes = rule["condition"]["matchesSuffix"]

    def deleted(name: str) -> bool:
        return any(name.endswith(s) for s in suffixes)

    audio = chunk(np.random.default_rng(10), 400, 1, 16000)
    for seq in (0, 9, 10, 9999, 12345):
        await store.put_chunk("s_life", seq, encode_wav(audio))
    key = final_key("s_life", date(2026, 3, 9))
    await store.combine("s_life", [0, 9], key, sample_rate=16000, channels=1)

    stored = names(bucket)
    assert [n for n in stored if not deleted(n)] == [key]
    assert all(deleted(n) for n in stored if n.startswith("s_life/"))
    for sid in ("s_1", "s_9", "s_x0", "s_life"):  # whatever the session id ends with
        assert not deleted(final_key(sid, date(2030, 12, 31)))
    assert deleted(f"s_life/combine_abc_body{TEMP_SUFFIX}")


async def test_uploads_never_exceed_the_concurrency_bound(
    gcs_client: storage.Client, bucket: storage.Bucket, session_keys: SessionKeys
) -> None:
    await session_keys.create("s_conc")
    bound = 3
    barrier = threading.Barrier(bound, timeout=10)  # breaks if fewer than `bound` can run
    lock = threading.Lock()
    state = {"in_flight": 0, "peak": 0, "arrivals": 0}

    class Counting(GcsAudioStore):
        def _put_blocking(self, key: str, data: bytes) -> None:
            with lock:
                state["in_flight"] += 1
                state["arrivals"] += 1
                state["peak"] = max(state["peak"], state["in_flight"])
                first_wave = state["arrivals"] <= bound
            try:
                if first_wave:
                    barrier.wait()  # all `bound` uploads are in flight together
                super()._put_blocking(key, data)
            finally:
                with lock:
                    state["in_flight"] -= 1

    store = Counting(
        bucket.name, keys=session_keys, client=gcs_client, max_concurrent_uploads=bound
    )
    wav = encode_wav(chunk(np.random.default_rng(11), 400, 1, 16000))
    try:
        await asyncio.gather(*(store.put_chunk("s_conc", seq, wav) for seq in range(12)))
    finally:
        await store.aclose()
    assert state["peak"] == bound
    assert len(names(bucket, "s_conc/")) == 12


async def test_unreachable_storage_is_a_retryable_error(
    bucket: storage.Bucket, session_keys: SessionKeys
) -> None:
    await session_keys.create("s_down")
    with socket.socket() as sock:  # bound, never listening: connection refused
        sock.bind(("127.0.0.1", 0))
        client = client_for_emulator(f"http://127.0.0.1:{sock.getsockname()[1]}")

        class NoRetry(GcsAudioStore):
            live_retry = None

        store = NoRetry(bucket.name, keys=session_keys, client=client)
        try:
            with pytest.raises(AudioStoreError) as info:
                await store.put_chunk("s_down", 0, b"RIFF")
        finally:
            await store.aclose()
            client.close()
    assert info.value.retryable
    assert info.value.status is None


@pytest.mark.parametrize(
    ("exc", "kind", "retryable", "status"),
    [
        (api_exceptions.ServiceUnavailable(ECHO), AudioStoreError, True, 503),
        (api_exceptions.TooManyRequests(ECHO), AudioStoreError, True, 429),
        (api_exceptions.Forbidden(ECHO), AudioStoreError, False, 403),
        (api_exceptions.NotFound(ECHO), AudioNotFound, False, 404),
        (api_exceptions.RetryError(ECHO, cause=None), AudioStoreError, True, None),
        (ConnectionResetError(), AudioStoreError, True, None),
    ],
)
def test_error_mapping(
    exc: Exception, kind: type[Any], retryable: bool, status: int | None
) -> None:
    mapped = _map_error(exc, "put_chunk", "s/chunk_0000.wav")
    assert type(mapped) is kind
    assert (mapped.retryable, mapped.status) == (retryable, status)
    assert ECHO not in str(mapped)  # response text may echo patient data
