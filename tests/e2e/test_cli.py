"""The CLI as a user runs it: real processes, real audio files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, SpeechFixture

pytestmark = pytest.mark.e2e


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _cli(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={"DRT_SETTINGS_FILE": str(cwd / "none.yaml"), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_transcribe_a_file_in_process(tmp_path: Path, speech: dict[str, SpeechFixture]) -> None:
    fixture = speech["consult_short"]
    # An MP3, decoded through PyAV like any upload would be.
    mp3 = tmp_path / "visit.mp3"
    import av

    with av.open(str(fixture.path)) as src, av.open(str(mp3), "w") as dst:
        out = dst.add_stream("mp3", rate=16000)
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in out.encode(frame):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)

    result = _cli("transcribe", str(mp3), "--json", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    text = _words(" ".join(s["text"] for s in output["transcript"]))
    for word in fixture.keywords:
        assert _words(word) in text
    for segment in output["transcript"]:
        assert segment["end"] > segment["start"] >= 0
    names = [m["name"].lower() for m in output["note"]["medications"]]
    for med in fixture.medications:
        assert med in names

    human = _cli("transcribe", str(fixture.path), "--data-dir", str(tmp_path / "d2"), cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert "Medications:" in human.stdout


def test_transcribe_reports_an_undecodable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"this is not audio" * 100)
    result = _cli("transcribe", str(bad), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode != 0
    assert "cannot decode" in result.stderr or "no audio" in result.stderr
    assert "Traceback" not in result.stderr


def test_stream_client_against_the_server(
    tmp_path: Path, server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    fixture = speech["consult_short"]
    result = _cli(
        "stream", str(fixture.path), "--url", server.ws_url, "--fast", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    sent = [e["message"]["chunk"] for e in events if e["direction"] == "out"]
    acks = [
        e["message"]["seq"]
        for e in events
        if e["direction"] == "in" and e["message"]["type"] == "ack"
    ]
    assert sent == acks == list(range(len(sent)))
    final = events[-1]["message"]
    assert final["type"] == "final"
    assert "headache" in _words(" ".join(s["text"] for s in final["transcript"]))
    times = [e["t"] for e in events]
    assert times == sorted(times)


def test_stream_replays_a_transcript_file_as_captions(
    tmp_path: Path, server: ServerProcess
) -> None:
    transcript = tmp_path / "visit.txt"
    transcript.write_text(
        "Doctor: What brings you in today?\n"
        "Patient: I have had a sore throat and a fever since Tuesday, and it hurts to swallow.\n"
        "Doctor: Any cough?\n"
        "Patient: No.\n",
        encoding="utf-8",
    )
    result = _cli(
        "stream", str(transcript), "--url", server.ws_url, "--fast", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    sent = [e["message"]["seq"] for e in events if e["direction"] == "out"]
    acks = [
        e["message"]["seq"]
        for e in events
        if e["direction"] == "in" and e["message"]["type"] == "ack"
    ]
    assert sent == acks == list(range(len(sent)))
    assert len(sent) > 4  # the long turn grew in revisions before its final one
    session = next(e["message"] for e in events if e["message"].get("type") == "session")
    assert session["input"] == "captions"
    assert session["speakers"] == {"Doctor": "clinician", "Patient": "patient"}
    final = events[-1]["message"]
    assert [(s["speaker"], s["speaker_name"]) for s in final["transcript"]] == [
        ("clinician", "Doctor"),
        ("patient", "Patient"),
        ("clinician", "Doctor"),
        ("patient", "Patient"),
    ]
    symptoms = {s["name"]: s["negated"] for s in final["note"]["symptoms"]}
    assert symptoms["fever"] is False
    assert symptoms["cough"] is True  # asked by the doctor, denied by the patient


def test_stream_reports_an_unreadable_transcript(tmp_path: Path) -> None:
    bad = tmp_path / "visit.vtt"
    bad.write_text("WEBVTT\n\n00:01.000 --> nonsense\n<v A>hello</v>\n", encoding="utf-8")
    result = _cli("stream", str(bad), "--url", "ws://127.0.0.1:9/v1/stream", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad cue timing" in result.stderr
    assert "Traceback" not in result.stderr
