"""The service with its audio in Cloud Storage (fake-gcs-server, the real client library):
chunks and the combined recording under the seed's layout, served and erased."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import decode_wav
from drtranscribe.client import stream_audio
from drtranscribe.crypto.sealing import MAGIC
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.fakes.gcs import FakeGcs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gcs_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, fake_gcs: FakeGcs
) -> Iterator[tuple[ServerProcess, str]]:
    bucket = f"audio-{uuid.uuid4().hex[:10]}"
    fake_gcs.client().create_bucket(bucket)
    fake_gcs.client().create_bucket(f"{bucket}-keys")
    server = start_server(
        tmp_path_factory.mktemp("gcs"),
        {
            "DRT_REDIS_URL": redis_url,
            "DRT_AUDIO_BUCKET": bucket,
            "DRT_KEYS_BUCKET": f"{bucket}-keys",
            "DRT_GCS_ENDPOINT": fake_gcs.endpoint,
        },
    )
    yield server, bucket
    stop_server(server)


async def test_audio_lives_in_cloud_storage(
    gcs_server: tuple[ServerProcess, str], fake_gcs: FakeGcs, speech: dict[str, SpeechFixture]
) -> None:
    server, bucket = gcs_server
    audio = load_audio_file(speech["consult_short"].path)
    events = [e async for e in stream_audio(server.ws_url, audio, realtime=False)]
    final = events[-1].message
    sid = final["session_id"]
    uri = final["audio"]["uri"]
    assert uri.startswith(f"gs://{bucket}/")

    client = fake_gcs.client()
    names = sorted(b.name for b in client.list_blobs(bucket))
    chunks = list(split_chunks(audio, 5.0))
    assert [n for n in names if n.startswith(f"{sid}/")] == [
        f"{sid}/chunk_{i:04d}.wav" for i in range(len(chunks))
    ]
    stored = client.bucket(bucket).blob(uri.split(f"gs://{bucket}/", 1)[1]).download_as_bytes()
    assert stored.startswith(MAGIC)  # sealed: what the bucket holds is ciphertext
    assert [b.name for b in client.list_blobs(f"{bucket}-keys")] == [f"keys/{sid}"]

    async with httpx.AsyncClient(base_url=server.http_url) as http:
        served = await http.get(f"/v1/sessions/{sid}/audio")
        assert served.status_code == 200
        combined = decode_wav(served.content)  # opened while streamed
        expected = np.concatenate([c.samples for c in chunks])
        np.testing.assert_array_equal(combined.samples, expected)
        assert expected.tobytes()[:4000] not in stored
        assert (await http.delete(f"/v1/sessions/{sid}")).status_code == 204
    left = [b.name for b in client.list_blobs(bucket) if sid in b.name]
    assert left == []
    assert list(client.list_blobs(f"{bucket}-keys")) == []  # the key is gone: shredded
    assert Path(uri).name == f"{sid}_final.wav"
