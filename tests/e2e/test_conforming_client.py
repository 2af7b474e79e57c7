"""A client that follows the protocol is never thrown out: it paces itself by the limits
the server announces, retryable refusals are not held against it, and its reconnect budget
is per outage, not per consultation (the reference client, ``drtranscribe.client``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from drtranscribe.audio.file import load_audio_file
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.client import ClientEvent, stream_audio
from tests.conftest import SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.e2e


def _received(events: list[ClientEvent], kind: str) -> list[dict[str, object]]:
    return [e.message for e in events if e.direction == "in" and e.message.get("type") == kind]


def _assert_complete(events: list[ClientEvent], duration_s: float) -> None:
    final = events[-1].message
    assert final["type"] == "final"
    assert final["audio"]["duration_s"] == pytest.approx(duration_s, abs=0.01)  # nothing twice
    acks = [m["seq"] for m in _received(events, "ack")]
    assert acks == list(range(len(acks)))


async def _stream(
    tmp_path: Path, env: dict[str, str], speech: dict[str, SpeechFixture]
) -> tuple[PcmAudio, list[ClientEvent]]:
    """consult_long streamed as fast as acked to a server with ``env``."""
    server = start_server(tmp_path, env)
    try:
        audio = load_audio_file(speech["consult_long"].path)
        return audio, [e async for e in stream_audio(server.ws_url, audio, realtime=False)]
    finally:
        stop_server(server)


async def test_a_fast_client_paces_itself_by_the_announced_rate(
    tmp_path: Path, redis_url: str, speech: dict[str, SpeechFixture]
) -> None:
    limits = {"DRT_LIMITS__CHUNK_BURST": "2", "DRT_LIMITS__CHUNK_RATE_PER_S": "3"}
    # consult_long: 6 chunks, 4 beyond the burst
    audio, events = await _stream(tmp_path, {"DRT_REDIS_URL": redis_url, **limits}, speech)
    (session,) = _received(events, "session")
    assert session["limits"]["chunk_rate_per_s"] == 3  # type: ignore[index]
    assert session["limits"]["chunk_burst"] == 2  # type: ignore[index]
    assert [e for e in _received(events, "error") if e["code"] == "rate_limited"] == []
    sent = [e.t for e in events if e.direction == "out"]
    assert sent[-1] - sent[0] >= (len(sent) - 2) / 3 * 0.9  # it waited for the rate
    _assert_complete(events, audio.duration_s)


async def test_retryable_refusals_are_resent_and_never_count_as_violations(
    tmp_path: Path, redis_url: str, speech: dict[str, SpeechFixture]
) -> None:
    """Back-pressure at every chunk: a conforming client waits and resends, however often."""
    limits = {"DRT_LIMITS__MAX_PENDING_CHUNKS": "1", "DRT_LIMITS__MAX_VIOLATIONS": "2"}
    audio, events = await _stream(tmp_path, {"DRT_REDIS_URL": redis_url, **limits}, speech)
    refusals = [e for e in _received(events, "error") if e["code"] == "backpressure"]
    assert len(refusals) > 2, "back-pressure never bit: the test proves nothing"
    assert all(r["retryable"] and r["seq"] is not None for r in refusals)
    assert [e for e in events if e.direction == "reconnect"] == []  # never thrown out
    _assert_complete(events, audio.duration_s)


async def test_the_reconnect_budget_is_per_outage(
    tmp_path: Path, redis_url: str, speech: dict[str, SpeechFixture]
) -> None:
    """Two instance deaths in one consultation, one reconnect allowed per outage: each
    resume ends its outage, so the consultation finishes."""
    servers = [
        start_server(tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_FAILPOINTS": "after_ack=1"}),
        start_server(tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_FAILPOINTS": "after_ack=3"}),
        start_server(tmp_path, {"DRT_REDIS_URL": redis_url}),
    ]
    try:
        audio = load_audio_file(speech["consult_long"].path)
        urls = [s.ws_url for s in servers]
        events = [e async for e in stream_audio(urls, audio, realtime=False, max_reconnects=1)]
        assert servers[0].proc.wait(timeout=30) == -signal.SIGKILL
        assert servers[1].proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        for server in servers:
            stop_server(server)
    reconnects = [e.message["attempt"] for e in events if e.direction == "reconnect"]
    assert reconnects == [1, 1]
    assert [s["resumed"] for s in _received(events, "session")] == [False, True, True]
    _assert_complete(events, audio.duration_s)


async def test_a_server_that_answers_then_drops_every_time_exhausts_the_budget(
    speech: dict[str, SpeechFixture],
) -> None:
    """Reaching `session` is not progress: a connection that is dropped before any chunk
    is acked counts against the outage's budget, so the client gives up instead of
    reconnecting for ever."""
    import json

    import websockets

    from drtranscribe.client import StreamFailed

    connections = 0

    async def answer_then_drop(ws: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()  # start or resume
        await ws.send(json.dumps({
            "type": "session", "session_id": "s_x", "resume_token": "t", "next_seq": 0,
            "limits": {"chunk_rate_per_s": 100, "chunk_burst": 100},
        }))  # fmt: skip
        await ws.close(1011)

    audio = load_audio_file(speech["consult_short"].path)
    async with websockets.serve(answer_then_drop, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]

        async def stream() -> None:
            async for _ in stream_audio(
                f"ws://127.0.0.1:{port}", audio, realtime=False, max_reconnects=3
            ):
                pass

        with pytest.raises(StreamFailed, match="gave up after 3 reconnects"):
            await stream()
    assert connections == 4  # the first and 3 reconnects
