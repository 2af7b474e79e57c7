"""Only the right clients get in, and no one touches another tenant's session."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation

pytestmark = pytest.mark.e2e

KEY_A = "ka_" + "a1" * 16
KEY_B = "kb_" + "b2" * 16
EMR = "https://emr.clinic-a.example"
EXTENSION = "chrome-extension://abcdefghijklmnop"
KEYS = [
    {"id": "clinic-a-web", "tenant": "clinic-a", "key": KEY_A, "origins": [EMR]},
    {"id": "clinic-b", "tenant": "clinic-b", "key": KEY_B},
]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    env = {
        "DRT_REDIS_URL": redis_url,
        "DRT_SECRET_DRTRANSCRIBE_API_KEYS": json.dumps(KEYS),
        "DRT_AUTH__ALLOWED_ORIGINS": json.dumps([EXTENSION]),
        "DRT_LIMITS__CHUNK_BURST": "4",
        "DRT_LIMITS__CHUNK_RATE_PER_S": "0.01",
        "DRT_LIMITS__MAX_VIOLATIONS": "5",
        "DRT_LIMITS__REFUSAL_BURST": "3",
        "DRT_LIMITS__REFUSAL_RATE_PER_S": "0.01",
    }
    server = start_server(tmp_path_factory.mktemp("secured"), env)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def chunk(speech: dict[str, SpeechFixture]) -> bytes:
    return encode_wav(next(split_chunks(load_audio_file(speech["consult_short"].path), 5.0)))


def _ws(url: str, origin: str | None = None) -> websockets.connect:
    headers = {"Origin": origin} if origin else None
    return websockets.connect(url, max_size=None, additional_headers=headers)


async def _refused(ws: websockets.ClientConnection, conv: Conversation) -> tuple[str, int]:
    error = await conv.until("error")
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code is not None
    return error["code"], ws.close_code


async def test_no_or_wrong_key_is_refused_with_1008(secured: ServerProcess) -> None:
    async with _ws(secured.ws_url) as ws:
        conv = Conversation(ws)
        await conv.send_json({"type": "start", "audio": {"encoding": "wav"}})
        assert await _refused(ws, conv) == ("unauthorized", 1008)
    async with _ws(f"{secured.ws_url}?api_key=not-a-key") as ws:
        assert await _refused(ws, Conversation(ws)) == ("unauthorized", 1008)
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        assert (await http.get("/v1/sessions/s_x")).status_code == 401
        bad = await http.post("/v1/sessions", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert (await http.get("/health")).status_code == 200  # liveness stays open


async def test_key_in_the_first_message_or_the_url(secured: ServerProcess, chunk: bytes) -> None:
    async with _ws(secured.ws_url) as ws:
        conv = Conversation(ws)
        session = await conv.start(api_key=KEY_A)
        assert await conv.send_chunk(chunk) == {"type": "ack", "seq": 0}
        assert session["session_id"]
    async with _ws(f"{secured.ws_url}?api_key={KEY_B}") as ws:
        conv = Conversation(ws)
        await conv.start()
        assert await conv.send_chunk(chunk) == {"type": "ack", "seq": 0}


async def test_origins_are_checked_against_the_allowlist(secured: ServerProcess) -> None:
    async with _ws(f"{secured.ws_url}?api_key={KEY_A}", origin="https://evil.example") as ws:
        assert await _refused(ws, Conversation(ws)) == ("origin_not_allowed", 1008)
    # clinic-b's key may not be used from clinic-a's EMR page ...
    async with _ws(secured.ws_url, origin=EMR) as ws:
        conv = Conversation(ws)
        await conv.send_json({"type": "start", "audio": {"encoding": "wav"}, "api_key": KEY_B})
        assert await _refused(ws, conv) == ("origin_not_allowed", 1008)
    # ... clinic-a's may, and the extension is allowed for every key.
    for origin, key in ((EMR, KEY_A), (EXTENSION, KEY_B)):
        async with _ws(secured.ws_url, origin=origin) as ws:
            assert (await Conversation(ws).start(api_key=key))["type"] == "session"
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        preflight = await http.options(
            "/v1/sessions",
            headers={"Origin": EXTENSION, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == EXTENSION
        evil = await http.options(
            "/v1/sessions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in evil.headers
        # An origin listed on one key (not service-wide) passes the preflight, which
        # carries no key; the request itself then needs a key that lists it.
        emr = await http.options(
            "/v1/sessions", headers={"Origin": EMR, "Access-Control-Request-Method": "POST"}
        )
        assert (emr.status_code, emr.headers["access-control-allow-origin"]) == (200, EMR)
        granted = await http.post(
            "/v1/sessions", headers={"Origin": EMR, "Authorization": f"Bearer {KEY_A}"}
        )
        assert granted.status_code == 201
        assert granted.headers["access-control-allow-origin"] == EMR
        other_key = await http.post(
            "/v1/sessions", headers={"Origin": EMR, "Authorization": f"Bearer {KEY_B}"}
        )
        assert other_key.status_code == 403


async def test_stream_token_keeps_the_key_out_of_the_url(secured: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        grant = (
            await http.post("/v1/sessions", headers={"Authorization": f"Bearer {KEY_A}"})
        ).json()
        other = (
            await http.post("/v1/sessions", headers={"Authorization": f"Bearer {KEY_A}"})
        ).json()
    assert grant["expires_in_s"] == 300
    async with _ws(f"ws://127.0.0.1:{secured.port}{grant['stream_path']}") as ws:
        session = await Conversation(ws).start()
        assert session["session_id"] == grant["session_id"]
    # a token is good for its own session only
    async with _ws(f"{secured.ws_url}?token={grant['stream_token']}") as ws:
        conv = Conversation(ws)
        await conv.send_json(
            {"type": "resume", "session_id": other["session_id"], "resume_token": "x"}
        )
        assert await _refused(ws, conv) == ("unauthorized", 1008)
    async with _ws(f"{secured.ws_url}?token=st_forged") as ws:
        assert await _refused(ws, Conversation(ws)) == ("unauthorized", 1008)


async def test_another_tenants_session_is_not_found(secured: ServerProcess, chunk: bytes) -> None:
    async with _ws(secured.ws_url) as ws:
        conv = Conversation(ws)
        session = await conv.start(api_key=KEY_A)
        assert (await conv.send_chunk(chunk))["type"] == "ack"
        await conv.stop()
    sid, resume_token = session["session_id"], session["resume_token"]
    b = {"Authorization": f"Bearer {KEY_B}"}
    a = {"Authorization": f"Bearer {KEY_A}"}
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        as_b = await http.get(f"/v1/sessions/{sid}", headers=b)
        missing = await http.get("/v1/sessions/s_never_was", headers=b)
        assert (
            (as_b.status_code, as_b.json())
            == (missing.status_code, missing.json())
            == (
                404,
                {"detail": "session not found"},
            )
        )
        assert (await http.get(f"/v1/sessions/{sid}/audio", headers=b)).status_code == 404
        assert (await http.delete(f"/v1/sessions/{sid}", headers=b)).status_code == 404
        assert (await http.get(f"/v1/sessions/{sid}", headers=a)).status_code == 200
    async with _ws(secured.ws_url) as ws:
        conv = Conversation(ws)
        await conv.send_json(
            {"type": "resume", "session_id": sid, "resume_token": resume_token, "api_key": KEY_B}
        )
        assert (await conv.until("error"))["code"] == "session_not_found"
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        assert (await http.delete(f"/v1/sessions/{sid}", headers=a)).status_code == 204


async def test_rate_limit_and_repeated_violations(secured: ServerProcess, chunk: bytes) -> None:
    async with _ws(f"{secured.ws_url}?api_key={KEY_A}") as ws:
        conv = Conversation(ws)
        await conv.start()
        for seq in range(4):  # the burst allowance: a resuming client's backlog
            assert await conv.send_chunk(chunk) == {"type": "ack", "seq": seq}
        limited = await conv.send_chunk(chunk)
        assert (limited["code"], limited["retryable"], limited["seq"]) == ("rate_limited", True, 4)
        assert 0 < limited["retry_after_s"] <= 100  # 0.01 chunks/s: the next one fits in 100 s
        # Invalid frames are violations; the retryable refusal above was not one: four of
        # them leave the connection open (the limit is 5).
        for _ in range(4):
            await ws.send("{not json")
            assert (await conv.until("error"))["code"] == "invalid_json"
        # Resending the refused chunk at once, again and again, ignores the refusal: within
        # the refusal budget (3) it is not held against the client, beyond it it is.
        for _ in range(2):
            assert (await conv.send_chunk(chunk))["code"] == "rate_limited"
        await ws.send(chunk)
        errors = [await conv.until("error"), await conv.until("error")]
        assert [e["code"] for e in errors] == ["rate_limited", "too_many_violations"]
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008


async def test_the_session_time_limit_warns_then_finalises(
    tmp_path: Path, redis_url: str, chunk: bytes
) -> None:
    server = start_server(
        tmp_path,
        {
            "DRT_REDIS_URL": redis_url,
            "DRT_LIMITS__MAX_SESSION_S": "4",
            "DRT_LIMITS__SESSION_WARNING_S": "3",
        },
    )
    try:
        async with _ws(server.ws_url) as ws:
            conv = Conversation(ws)
            await conv.start()
            assert (await conv.send_chunk(chunk))["type"] == "ack"
            warning = await conv.until("warning")
            assert warning["code"] == "session_ending"
            assert 0 < warning["seconds_left"] <= 3
            assert (await conv.until("error"))["code"] == "session_time_limit"
            final = await conv.until("final")
            assert final["audio"]["duration_s"] > 0
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4003
    finally:
        stop_server(server)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [(None, "no API keys"), (json.dumps([{"id": "x", "tenant": "t", "key": "changeme"}]), "")],
)
def test_production_refuses_to_start_without_real_keys(
    tmp_path: Path, keys: str | None, expected: str
) -> None:
    env = {"DRT_ENVIRONMENT": "production", "DRT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"}
    if keys:
        env["DRT_SECRET_DRTRANSCRIBE_API_KEYS"] = keys
    result = subprocess.run(
        [sys.executable, "-c", "from drtranscribe.cli import main; main(['serve', '--port', '0'])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "drtranscribe-api-keys" in result.stderr
    assert expected in result.stderr
    assert "changeme" not in result.stderr  # the value is never echoed


async def test_a_connection_that_never_starts_is_closed(tmp_path: Path, redis_url: str) -> None:
    server = start_server(
        tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_LIMITS__START_TIMEOUT_S": "1"}
    )
    try:
        async with _ws(server.ws_url) as ws:
            assert await _refused(ws, Conversation(ws)) == ("start_timeout", 1008)
    finally:
        stop_server(server)


async def test_the_reference_client_stops_at_once_when_refused(
    secured: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    """A wrong key is refused the same way on every reconnect: the client says so at once
    instead of reconnecting until its budget is spent."""
    from drtranscribe.client import ClientEvent, StreamFailed, stream_audio

    audio = load_audio_file(speech["consult_short"].path)
    seen: list[ClientEvent] = []

    async def wrong_key() -> None:
        async for event in stream_audio(
            secured.ws_url, audio, realtime=False, api_key="wrong-" + "k" * 30
        ):
            seen.append(event)

    with pytest.raises(StreamFailed, match="refused by the server: unauthorized"):
        await wrong_key()
    assert [e.direction for e in seen].count("reconnect") == 0
    async for event in stream_audio(secured.ws_url, audio, realtime=False, api_key=KEY_A):
        seen.append(event)
    assert seen[-1].message["type"] == "final"
