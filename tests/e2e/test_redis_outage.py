"""Redis goes away mid-session and comes back: nothing is acked while it is away, readiness
says so, and the session carries on afterwards with nothing lost."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from drtranscribe.state.embedded import EmbeddedRedis
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect
from tests.fakes.provider_server import (  # noqa: F401
    FakeProviderServer,
    Hang,
    fake_providers_fixture,
    provider_server_fixture,
)

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


async def test_a_client_that_follows_the_protocol_literally_stores_nothing_twice(
    tmp_path: Path,
    own_redis: EmbeddedRedis,
    speech: dict[str, SpeechFixture],
    fake_providers: FakeProviderServer,
) -> None:
    """Redis goes away while an acked chunk is being transcribed. The error about that
    work must not read as "frame N was not stored": a client that resends every frame named
    by a retryable error's ``seq`` (as the protocol says) would store the audio twice."""
    fake = fake_providers
    server = start_server(
        tmp_path / "srv",
        {
            "DRT_REDIS_URL": own_redis.url,
            "DRT_STT_CHAIN": json.dumps(["groq"]),
            "DRT_PROVIDERS__GROQ__API_KEY": fake.api_key,
            "DRT_PROVIDERS__GROQ__BASE_URL": str(fake.settings("groq").base_url),
            "DRT_RESILIENCE__PROBE_INTERVAL_S": "3600",
        },
    )
    audio = load_audio_file(speech["consult_short"].path)
    chunks = [encode_wav(c) for c in split_chunks(audio, 5.0)]
    try:
        await asyncio.to_thread(server.wait_for_line, '"provider.probe_ok"')  # its one probe
        fake.script("groq.stt", Hang())  # chunk 0's transcription waits for the outage
        async with connect(server.ws_url) as ws:
            client = LiteralClient(Conversation(ws), chunks)
            await client.conv.start()
            assert await client.send(0) == {"type": "ack", "seq": 0}
            await asyncio.to_thread(fake.wait_for_requests, "groq.stt", 2)  # probe + chunk 0
            await own_redis.stop()
            fake.release_hangs()  # a 504: the chain's next round answers, its save fails
            about_acked = await client.until_error_about_work()
            assert about_acked.get("seq") is None
            assert (about_acked["code"], about_acked["chunk_seq"]) == ("state_save_failed", 0)

            refused = await client.send(1)  # the store is down: not stored, named by seq
            assert (refused["code"], refused["seq"], refused["retryable"]) == (
                "store_unavailable", 1, True
            )  # fmt: skip
            await own_redis.start()
            await client.resend_what_was_refused()
            for index in range(2, len(chunks)):
                assert (await client.send(index))["type"] == "ack"
            final = await client.conv.stop()
    finally:
        stop_server(server)
    acks = [m["seq"] for m in client.conv.of_type("ack")]
    assert acks == list(range(len(chunks)))  # each chunk stored once, in order
    assert final["audio"]["duration_s"] == pytest.approx(audio.duration_s, abs=0.01)


class LiteralClient:
    """Follows docs/protocol.md to the letter: every error that carries a ``seq`` and is
    retryable names a frame that was not stored, so that frame is sent again."""

    def __init__(self, conv: Conversation, chunks: list[bytes]) -> None:
        self.conv = conv
        self.chunks = chunks
        self.frame_of_seq: dict[int, int] = {}  # seq the server gave or would give -> chunk
        self.next_seq = 0
        self.to_resend: list[int] = []

    async def send(self, index: int) -> dict[str, Any]:
        self.frame_of_seq[self.next_seq] = index
        answer = await self.conv.send_chunk(self.chunks[index])
        self._note(answer)
        if answer["type"] == "ack":
            self.next_seq = answer["seq"] + 1
        return answer

    def _note(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if message["type"] == "error" and message.get("retryable") and seq is not None:
            self.to_resend.append(self.frame_of_seq[seq])

    async def until_error_about_work(self) -> dict[str, Any]:
        while True:
            message = await self.conv.next_message()
            self._note(message)
            if message["type"] == "error":
                return message

    async def resend_what_was_refused(self) -> None:
        while self.to_resend:
            assert (await self.send(self.to_resend.pop(0)))["type"] == "ack"
