"""SIGTERM, as Cloud Run sends it: clients are told to resume elsewhere, the process exits
cleanly within the grace period, and the session goes on on another instance."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e


async def _drain(conv: Conversation) -> None:
    while True:
        await conv.next_message()


async def test_sigterm_drains_to_another_instance(
    tmp_path: Path, redis_url: str, server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    fixture = speech["consult_short"]
    chunks = [encode_wav(c) for c in split_chunks(load_audio_file(fixture.path), 5.0)]
    doomed = start_server(server.data_dir, {"DRT_REDIS_URL": redis_url})
    try:
        async with connect(doomed.ws_url) as ws:
            conv = Conversation(ws)
            session = await conv.start()
            assert await conv.send_chunk(chunks[0]) == {"type": "ack", "seq": 0}
            doomed.proc.send_signal(signal.SIGTERM)
            warning = await conv.until("warning")
            assert warning["code"] == "server_restarting"
            with pytest.raises(ConnectionClosed):
                await _drain(conv)
            assert ws.close_code == 1012
        # uvicorn re-raises the signal once it has shut down cleanly
        assert doomed.proc.wait(timeout=10) in (0, -signal.SIGTERM)
        doomed.stop()
        logs = "".join(doomed.lines)
        assert "service.draining" in logs
        assert "service.stopped" in logs  # the lifespan closed Redis, providers, stores
    finally:
        stop_server(doomed)

    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.send_json(
            {
                "type": "resume",
                "session_id": session["session_id"],
                "resume_token": session["resume_token"],
            }
        )
        resumed = await conv.until("session")
        assert resumed["next_seq"] == 1
        for seq, chunk in enumerate(chunks[1:], start=1):
            assert await conv.send_chunk(chunk) == {"type": "ack", "seq": seq}
        final = await conv.stop()
    text = " ".join(s["text"] for s in final["transcript"]).lower()
    for keyword in fixture.keywords:
        assert keyword in text


async def test_metrics_endpoint(server: ServerProcess, speech: dict[str, SpeechFixture]) -> None:
    chunk = encode_wav(next(split_chunks(load_audio_file(speech["consult_short"].path), 5.0)))
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.start()
        assert (await conv.send_chunk(chunk))["type"] == "ack"
        await conv.stop()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        body = (await http.get("/metrics")).text
    assert 'drt_chunks_total{outcome="acked"}' in body
    assert 'drt_breaker_state{chain="stt",provider="local_whisper"} 0.0' in body
    assert "drt_chunk_to_transcript_seconds_count" in body
    assert 'drt_stage_latency_seconds_count{provider="local",stage="extraction"}' in body
    assert "drt_active_sessions 0.0" in body
