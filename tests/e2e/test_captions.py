"""Caption input end to end: a real server, real WebSocket clients, a real Redis.

Captions are revised in place and finalised (by the client, or by quiet time), carry the
speaker's role, feed the note, survive the death of the serving instance, and bad caption
input gets a clear error without losing anything.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from drtranscribe.client import ClientEvent, stream_captions
from drtranscribe.domain.turns import Turn, parse_turns
from tests.conftest import ServerProcess, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e

QUIET_S = 1.0


@pytest.fixture(scope="module")
def caption_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServerProcess]:
    """A server whose captions turn final after 1 s without a revision."""
    srv = start_server(
        tmp_path_factory.mktemp("captions"),
        {"DRT_REDIS_URL": redis_url, "DRT_CAPTIONS__QUIET_FINAL_S": str(QUIET_S)},
    )
    yield srv
    stop_server(srv)


async def _start(conv: Conversation, speakers: dict[str, str] | None = None) -> dict[str, Any]:
    await conv.send_json({"type": "start", "input": "captions", "speakers": speakers or {}})
    return await conv.until("session")


async def _caption(
    conv: Conversation,
    seq: int,
    caption_id: str,
    speaker: str | None,
    text: str,
    *,
    final: bool = False,
) -> dict[str, Any]:
    """Send one caption; return the ack or error that answers it (by its seq)."""
    message = {"type": "caption", "seq": seq, "caption_id": caption_id, "text": text}
    await conv.send_json({**message, "speaker": speaker, "final": final})
    while True:
        answer = await conv.next_message()
        if answer["type"] in ("ack", "error") and answer.get("seq") == seq:
            return answer


async def _until_segment(conv: Conversation, segment_id: str, **expected: Any) -> dict[str, Any]:
    """The next transcript event for ``segment_id`` whose fields equal ``expected``."""
    while True:
        message = await conv.until("transcript")
        segment: dict[str, Any] = message["segment"]
        if segment["id"] == segment_id and all(segment[k] == v for k, v in expected.items()):
            return segment


def _symptoms(note: dict[str, Any]) -> dict[str, tuple[bool, str | None]]:
    return {s["name"]: (s["negated"], s["speaker"]) for s in note["symptoms"]}


async def test_captions_are_revised_in_place_carry_roles_and_make_the_note(
    server: ServerProcess,
) -> None:
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        session = await _start(conv, {"Dr. Rivera": "clinician"})
        assert session["input"] == "captions"
        assert session["next_seq"] == 0
        assert session["speakers"] == {"Dr. Rivera": "clinician"}
        assert session["limits"]["caption_quiet_s"] == 5.0  # the default

        assert await _caption(conv, 0, "c1", "Dr. Rivera", "Do you have any") == {
            "type": "ack",
            "seq": 0,
        }
        first = await _until_segment(conv, "seg-0000")
        assert (first["text"], first["final"]) == ("Do you have any", False)
        assert (first["speaker"], first["speaker_source"]) == ("clinician", "client")
        assert first["speaker_name"] == "Dr. Rivera"
        assert first["provider"] == "captions"

        assert (await _caption(conv, 1, "c1", "Dr. Rivera", "Do you have any chest pain?"))[
            "type"
        ] == "ack"
        await _until_segment(conv, "seg-0000", text="Do you have any chest pain?", final=False)
        assert (await _caption(conv, 2, "c1", "Dr. Rivera", "Do you have any chest pain?",
                               final=True))["type"] == "ack"  # fmt: skip
        await _until_segment(conv, "seg-0000", final=True)

        assert (await _caption(conv, 3, "c2", "Sam Lee", "No.", final=True))["type"] == "ack"
        answer = await _until_segment(conv, "seg-0001", final=True)
        # the one other voice in a meeting whose clinician is named: the patient, inferred
        assert (answer["speaker"], answer["speaker_source"]) == ("patient", "inferred")
        plan = "Let's start lisinopril 10 mg daily."
        assert (await _caption(conv, 4, "c3", "Dr. Rivera", plan, final=True))["type"] == "ack"

        final = await conv.stop()

    transcript = final["transcript"]
    assert [(s["id"], s["text"], s["speaker"], s["final"]) for s in transcript] == [
        ("seg-0000", "Do you have any chest pain?", "clinician", True),
        ("seg-0001", "No.", "patient", True),
        ("seg-0002", plan, "clinician", True),
    ]
    # the clinician's question answered "no" by the patient: a denied symptom, the patient's
    assert _symptoms(final["note"]) == {"chest pain": (True, "patient")}
    meds = {m["name"]: (m["status"], m["speaker"]) for m in final["note"]["medications"]}
    assert meds == {"lisinopril": ("started", "clinician")}
    assert final["audio"] is None
    # every revision was acked once, in order
    assert [m["seq"] for m in conv.of_type("ack")] == [0, 1, 2, 3, 4]


async def test_a_quiet_caption_turns_final_and_a_later_revision_is_refused(
    caption_server: ServerProcess,
) -> None:
    async with connect(caption_server.ws_url) as ws:
        conv = Conversation(ws)
        await _start(conv)
        assert (await _caption(conv, 0, "a", "Alex", "I have had a cough"))["type"] == "ack"
        await _until_segment(conv, "seg-0000", final=False)
        # nothing more is sent: the server finalises it after the quiet time
        quiet = await _until_segment(conv, "seg-0000", final=True)
        assert quiet["text"] == "I have had a cough"

        late = await _caption(conv, 1, "a", "Alex", "I have had a cough for a week")
        assert late["type"] == "error"
        assert (late["code"], late["retryable"]) == ("caption_final", False)
        # the refused message took no number: the next caption takes seq 1
        assert (await _caption(conv, 1, "b", "Alex", "for a week.", final=True))["type"] == "ack"
        final = await conv.stop()

    assert [(s["text"], s["final"]) for s in final["transcript"]] == [
        ("I have had a cough", True),
        ("for a week.", True),
    ]


async def test_bad_caption_input_gets_a_clear_error_and_loses_nothing(
    server: ServerProcess,
) -> None:
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        session = await _start(conv)
        limit = session["limits"]["max_caption_chars"]
        assert (await _caption(conv, 0, "a", "Alex", "My knee hurts.", final=True))["type"] == "ack"

        await conv.send_json({"type": "caption", "seq": 1, "text": "no caption id"})
        missing = await conv.until("error")
        assert missing["code"] == "invalid_message"
        assert "caption_id" in missing["message"]

        too_long = await _caption(conv, 1, "b", "Alex", "word " * (limit // 5 + 1))
        assert too_long["code"] == "caption_too_long"

        gap = await _caption(conv, 5, "b", "Alex", "skipped ahead")
        assert gap["code"] == "caption_out_of_order"
        assert "expected 1" in gap["message"]

        # a resend of the caption stored last is acked again, not stored twice
        assert await _caption(conv, 0, "a", "Alex", "My knee hurts.", final=True) == {
            "type": "ack",
            "seq": 0,
        }

        await ws.send(b"RIFF not audio in a captions session")
        wrong = await conv.until("error")
        assert (wrong["code"], wrong["seq"]) == ("wrong_input", 1)

        assert (await _caption(conv, 1, "b", "Alex", "Since Monday.", final=True))["type"] == "ack"
        final = await conv.stop()

    assert [s["text"] for s in final["transcript"]] == ["My knee hurts.", "Since Monday."]


async def test_naming_speakers_later_relabels_the_past_and_rederives_the_note(
    server: ServerProcess,
) -> None:
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await _start(conv, {"Bob": "clinician"})  # wrong: Bob is the patient
        lines = [
            ("Alice", "Do you have any chest pain?"),
            ("Bob", "No."),
            ("Alice", "Let's start lisinopril 10 mg daily."),
        ]
        for seq, (name, text) in enumerate(lines):
            assert (await _caption(conv, seq, f"c{seq}", name, text, final=True))["type"] == "ack"
        await _until_segment(conv, "seg-0002", final=True)

        await conv.send_json(
            {"type": "speakers", "roles": {"Alice": "clinician", "Bob": "patient"}}
        )
        applied = await conv.until("speakers")
        assert applied["roles"] == {"Bob": "patient", "Alice": "clinician"}
        relabelled = await _until_segment(conv, "seg-0000", speaker="clinician")
        assert relabelled["speaker_source"] == "client"
        final = await conv.stop()

    assert [s["speaker"] for s in final["transcript"]] == ["clinician", "patient", "clinician"]
    assert _symptoms(final["note"]) == {"chest pain": (True, "patient")}
    assert [p["text"] for p in final["note"]["plan"]] == ["Start lisinopril 10 mg once a day"]


TRANSCRIPT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Dr. Rivera>What brings you in today?</v>

00:00:04.500 --> 00:00:09.000
<v Sam Lee>I have had a headache and some nausea for three days.</v>

00:00:09.500 --> 00:00:13.000
<v Dr. Rivera>Any fever?</v>

00:00:13.500 --> 00:00:15.000
<v Sam Lee>No fever.</v>

00:00:15.500 --> 00:00:21.000
<v Dr. Rivera>Take ibuprofen 400 mg every eight hours and come back if it gets worse.</v>
"""


def _final(events: list[ClientEvent]) -> dict[str, Any]:
    final = events[-1].message
    assert final["type"] == "final"
    return final


def _turns() -> list[Turn]:
    return parse_turns(TRANSCRIPT, "consult.vtt")


@pytest.mark.parametrize("failpoint", ["caption_stored=7", "caption_acked=7"])
async def test_a_killed_instance_mid_caption_stream_loses_nothing_and_doubles_nothing(
    failpoint: str, server: ServerProcess, redis_url: str
) -> None:
    speakers = {"Dr. Rivera": "clinician"}
    baseline = _final(
        [
            e
            async for e in stream_captions(
                server.ws_url, _turns(), speakers=speakers, realtime=False
            )
        ]
    )
    doomed = start_server(
        server.data_dir, {"DRT_REDIS_URL": redis_url, "DRT_FAILPOINTS": failpoint}
    )
    try:
        events = [
            e
            async for e in stream_captions(
                [doomed.ws_url, server.ws_url], _turns(), speakers=speakers, realtime=False
            )
        ]
        assert doomed.proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop_server(doomed)

    assert any(e.direction == "reconnect" for e in events)
    sessions = [e.message for e in events if e.direction == "in" and e.message["type"] == "session"]
    assert sessions[-1]["resumed"] is True
    # message 7 was stored before the instance died (acked or not): the resume starts at 8
    assert sessions[-1]["next_seq"] == 8
    final = _final(events)

    def view(f: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(s["id"], s["text"], s["speaker"], s["start"], s["end"]) for s in f["transcript"]]

    assert view(final) == view(baseline)
    assert final["note"] == baseline["note"]
    assert {"headache", "nausea"} <= {s["name"] for s in final["note"]["symptoms"]}


async def test_a_clients_report_of_missing_captions_is_logged_and_counted(
    caption_server: ServerProcess,
) -> None:
    async with connect(caption_server.ws_url) as ws:
        conv = Conversation(ws)
        await _start(conv)
        await conv.send_json({"type": "source_status", "status": "captions_quiet", "quiet_s": 31})
        await conv.send_json({"type": "source_status", "status": "bogus"})
        error = await conv.until("error")  # after the first report was handled, in order
        await conv.send_json({"type": "source_status", "status": "ok"})
        await conv.send_json({"type": "stop"})
        await conv.until("final")
    assert error["code"] == "invalid_message"
    async with httpx.AsyncClient(base_url=caption_server.http_url) as client:
        metrics = (await client.get("/metrics")).text
    assert 'drt_source_problems_total{status="captions_quiet"} 1.0' in metrics
    assert 'status="ok"' not in metrics
    logged = [json.loads(line) for line in caption_server.lines if '"source.status"' in line]
    assert [(e["severity"], e["status"]) for e in logged] == [
        ("WARNING", "captions_quiet"),
        ("INFO", "ok"),
    ]
    assert logged[0]["quiet_s"] == 31
    assert all(e.get("session_id") for e in logged)
