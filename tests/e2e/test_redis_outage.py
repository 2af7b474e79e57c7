"""Redis goes away mid-session and comes back: nothing is acked while it is away, readiness
says so, and the session carries on afterwards with nothing lost."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from drtranscribe.state.embedded import EmbeddedRedis
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "redis")
    await redis.start()
    yield redis
    await redis.stop()


async def test_no_ack_while_redis_is_down_and_the_session_carries_on(
    tmp_path: Path, own_redis: EmbeddedRedis, speech: dict[str, SpeechFixture]
) -> None:
    server: ServerProcess = start_server(tmp_path / "srv", {"DRT_REDIS_URL": own_redis.url})
    chunks = [
        encode_wav(c) for c in split_chunks(load_audio_file(speech["consult_short"].path), 5.0)
    ]
    try:
        async with (
            connect(server.ws_url) as ws,
            httpx.AsyncClient(base_url=server.http_url) as http,
        ):
            conv = Conversation(ws)
            await conv.start()
            assert await conv.send_chunk(chunks[0]) == {"type": "ack", "seq": 0}
            await conv.until("note")  # chunk 0 transcribed and its note saved

            await own_redis.stop()
            ready = await http.get("/readiness")
            assert ready.status_code == 503
            assert ready.json()["redis"] is False
            await ws.send(chunks[1])
            refused = await conv.next_message()
            while refused["type"] not in ("ack", "error") or refused.get("seq") is None:
                refused = await conv.next_message()  # e.g. the note worker's own complaint
            assert refused["type"] == "error"
            assert refused["code"] == "store_unavailable"
            assert refused["retryable"] is True
            assert refused["seq"] == 1

            await own_redis.start()  # same data directory: the append-only file is replayed
            assert (await http.get("/readiness")).status_code == 200
            assert await conv.send_chunk(chunks[1]) == {"type": "ack", "seq": 1}
            assert await conv.send_chunk(chunks[2]) == {"type": "ack", "seq": 2}
            final = await conv.stop()
    finally:
        stop_server(server)
    words = " ".join(
        re.findall(r"[a-z]+", " ".join(s["text"] for s in final["transcript"]).lower())
    )
    for keyword in speech["consult_short"].keywords:
        assert keyword in words
    expected = load_audio_file(speech["consult_short"].path).duration_s
    assert final["audio"]["duration_s"] == pytest.approx(expected, abs=0.01)
