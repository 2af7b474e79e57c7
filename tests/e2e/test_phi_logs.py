"""No patient content in any log line by default: a whole session on a fixture whose words
are known, then every log line the server wrote (application and access) is scanned."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import httpx
import pytest

from drtranscribe.audio.file import load_audio_file
from drtranscribe.client import stream_audio
from tests.conftest import SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.e2e

SECRET_METADATA = "MRN-58213-Jane-Roe"


def _phrases(text: str) -> set[str]:
    """Every pair of consecutive words: patient content, not log vocabulary (a log line may
    well say "medications" or "started"; it must never say "use insulin")."""
    words = re.findall(r"[a-z']+", text.lower())
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


async def test_a_whole_session_leaves_no_phi_in_the_logs(
    tmp_path: Path, redis_url: str, speech: dict[str, SpeechFixture]
) -> None:
    fixture = speech["consult_long"]
    server = start_server(tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_LOG_LEVEL": "DEBUG"})
    try:
        events = [
            e
            async for e in stream_audio(
                server.ws_url,
                load_audio_file(fixture.path),
                realtime=False,
                metadata={"encounter": SECRET_METADATA},
            )
        ]
        final = events[-1].message
        sid = final["session_id"]
        token = events[0].message["resume_token"]
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            assert (await http.get(f"/v1/sessions/{sid}?resume_token={token}")).status_code == 200
            assert (await http.get(f"/v1/sessions/{sid}/audio")).status_code == 200
    finally:
        stop_server(server)

    spoken = " ".join(s["text"] for s in final["transcript"])
    phrases = _phrases(spoken) | _phrases(fixture.text)
    assert {"chest pain", "insulin for"} <= phrases  # the scan looks for real content
    note_values = {m["name"] for m in final["note"]["medications"]} | {"diabetes"}
    assert {"insulin", "aspirin"} <= note_values
    logs = "".join(server.lines)
    assert "stt.chunk_transcribed" in logs  # the logs are there, and at DEBUG
    assert "note.updated" in logs
    hits = sorted(w for w in phrases | note_values if w in logs.lower())
    assert hits == []
    assert SECRET_METADATA not in logs
    assert token not in logs  # the query string was redacted from the access log

    # Every line of the session's work names it (Logs Explorer: jsonPayload.session_id),
    # including those its background workers write (extract.done did not, once).
    records = [json.loads(line) for line in server.lines if line.startswith("{")]
    first = next(i for i, r in enumerate(records) if r["event"] == "session.started")
    work = [r for r in records[first:] if r["event"] in SESSION_WORK and "probe" not in r]
    assert {r["event"] for r in work} == SESSION_WORK
    assert [r["event"] for r in work if r.get("session_id") != sid] == []


SESSION_WORK = {"stt.chunk_transcribed", "note.updated", "extract.done", "session.finished"}


async def test_log_lines_of_a_stream_carry_its_trace(tmp_path: Path, redis_url: str) -> None:
    import json

    import websockets

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    server = start_server(tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_GCP_PROJECT": "proj-x"})
    try:
        async with websockets.connect(
            server.ws_url, additional_headers={"X-Cloud-Trace-Context": f"{trace}/7;o=1"}
        ) as ws:
            await ws.send(json.dumps({"type": "start", "audio": {"encoding": "wav"}}))
            assert json.loads(await ws.recv())["type"] == "session"
    finally:
        stop_server(server)
    started = [json.loads(line) for line in server.lines if '"event": "session.started"' in line]
    assert len(started) == 1
    assert started[0]["logging.googleapis.com/trace"] == f"projects/proj-x/traces/{trace}"
    assert started[0]["severity"] == "INFO"


async def test_a_captions_session_leaves_no_names_or_words_in_the_logs(
    tmp_path: Path, redis_url: str
) -> None:
    from drtranscribe.client import stream_captions
    from drtranscribe.domain.turns import parse_turns

    transcript = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Dr. Quintavalle>Any wheezing lately?</v>\n\n"
        "00:00:04.500 --> 00:00:09.000\n<v Zebulon Marchetti>Yes, wheezing since Tuesday, "
        "and I take montelukast nightly.</v>\n"
    )
    server = start_server(tmp_path, {"DRT_REDIS_URL": redis_url, "DRT_LOG_LEVEL": "DEBUG"})
    try:
        events = [
            e
            async for e in stream_captions(
                server.ws_url,
                parse_turns(transcript),
                speakers={"Dr. Quintavalle": "clinician"},
                realtime=False,
            )
        ]
    finally:
        stop_server(server)
    final = events[-1].message
    assert final["type"] == "final"
    assert "montelukast" in {m["name"] for m in final["note"]["medications"]}
    logs = "".join(server.lines).lower()
    assert "caption.final" in logs or "session.finished" in logs  # the logs are there
    for secret in ("quintavalle", "zebulon", "marchetti", "wheezing", "montelukast"):
        assert secret not in logs, secret
