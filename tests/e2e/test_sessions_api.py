"""The REST surface over the session store, against the running server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from drtranscribe.client import stream_audio
from tests.conftest import ServerProcess, SpeechFixture, open_recording
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e


async def test_read_fetch_and_erase_a_finished_session(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    events = [
        e
        async for e in stream_audio(
            server.ws_url, load_audio_file(speech["consult_short"].path), realtime=False
        )
    ]
    final = events[-1].message
    sid = final["session_id"]
    recording = Path(urlparse(final["audio"]["uri"]).path)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        view = (await http.get(f"/v1/sessions/{sid}")).json()
        assert view["status"] == "finished"
        assert view["transcript"] == final["transcript"]
        assert view["note"] == final["note"]
        assert view["note_version"] == final["note_version"]
        assert view["audio"] == final["audio"]
        assert view["chunks"] == 3

        audio = await http.get(f"/v1/sessions/{sid}/audio")
        assert audio.status_code == 200
        assert audio.headers["content-type"] == "audio/wav"
        assert audio.content == open_recording(server.data_dir, final["audio"]["uri"])

        assert (await http.delete(f"/v1/sessions/{sid}")).status_code == 204
        assert (await http.get(f"/v1/sessions/{sid}")).status_code == 404
        assert (await http.get(f"/v1/sessions/{sid}/audio")).status_code == 404
        assert (await http.delete(f"/v1/sessions/{sid}")).status_code == 404
    assert not recording.exists()
    assert not (recording.parent.parent / sid).exists()

    # An erased session cannot be resumed either.
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.send_json(
            {"type": "resume", "session_id": sid, "resume_token": events[0].message["resume_token"]}
        )
        assert (await conv.until("error"))["code"] == "session_not_found"


async def test_a_live_session_reads_as_active_and_has_no_recording_yet(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    chunk = encode_wav(next(split_chunks(load_audio_file(speech["consult_short"].path), 5.0)))
    async with connect(server.ws_url) as ws, httpx.AsyncClient(base_url=server.http_url) as http:
        conv = Conversation(ws)
        sid = (await conv.start())["session_id"]
        assert (await conv.send_chunk(chunk))["seq"] == 0
        view = (await http.get(f"/v1/sessions/{sid}")).json()
        assert view["status"] == "active"
        assert view["chunks"] == 1
        assert view["audio"] is None
        assert (await http.get(f"/v1/sessions/{sid}/audio")).status_code == 409
        await conv.stop()


async def test_unknown_and_malformed_ids(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/v1/sessions/s_doesnotexist")).status_code == 404
        assert (await http.get("/v1/sessions/bad%20id%3F")).status_code == 422
        spec = (await http.get("/openapi.json")).json()
    assert {"/v1/sessions/{session_id}", "/v1/sessions/{session_id}/audio"} <= set(spec["paths"])
    assert "delete" in spec["paths"]["/v1/sessions/{session_id}"]


async def test_resuming_an_unknown_session_is_a_clear_error(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.send_json({"type": "resume", "session_id": "s_nope", "resume_token": "x"})
        error = await conv.until("error")
        assert error["code"] == "session_not_found"
        session = await conv.start()  # the connection is still usable
        assert session["session_id"].startswith("s_")


async def test_a_reserved_session_is_visible_before_it_starts(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        grant = (await http.post("/v1/sessions")).json()
        view = (await http.get(f"/v1/sessions/{grant['session_id']}")).json()
        assert (view["status"], view["chunks"], view["transcript"]) == ("reserved", 0, [])
        wrong = await http.put(f"/v1/sessions/{grant['session_id']}")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "DELETE, GET"
    async with connect(f"ws://127.0.0.1:{server.port}{grant['stream_path']}") as ws:
        session = await Conversation(ws).start()
        assert session["session_id"] == grant["session_id"]
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        view = (await http.get(f"/v1/sessions/{grant['session_id']}")).json()
    assert view["status"] == "active"


async def test_a_stream_token_is_renewed_for_a_session_that_exists(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        grant = (await client.post("/v1/sessions")).json()
        renewed = await client.post(f"/v1/sessions/{grant['session_id']}/token")
        missing = await client.post("/v1/sessions/s_nosuchsession/token")
    assert renewed.status_code == 201
    body = renewed.json()
    assert body["session_id"] == grant["session_id"]
    assert body["stream_token"] != grant["stream_token"]
    assert missing.status_code == 404
