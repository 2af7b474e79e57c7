"""Two-channel audio end to end, with the real local model: the clinician's microphone on
channel 0, the meeting's audio (the patient) on channel 1. Each channel is transcribed on
its own and every segment carries its channel's speaker; the note knows who said what."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from devtools.stereo import TimedTurn, two_channel

from drtranscribe.audio.file import load_audio_file
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.client import stream_audio
from tests.conftest import FIXTURES, ServerProcess, SpeechFixture
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e

ROLES = ("clinician", "patient")


def _stereo(fixture: SpeechFixture) -> PcmAudio:
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    turns = [
        TimedTurn(t["speaker"], t["start_s"], t["end_s"], t["text"])
        for t in manifest[fixture.name]["turns"]
    ]
    return two_channel(load_audio_file(fixture.path), turns, ROLES)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def test_each_channel_is_transcribed_apart_and_carries_its_speaker(
    server: ServerProcess, speech: dict[str, SpeechFixture], tmp_path: Path
) -> None:
    audio = _stereo(speech["consult_short"])
    events = [
        e async for e in stream_audio(server.ws_url, audio, realtime=False, channel_roles=ROLES)
    ]
    final: dict[str, Any] = events[-1].message
    assert final["type"] == "final"
    transcript = final["transcript"]
    assert transcript, "nothing transcribed"
    for segment in transcript:
        assert segment["channel"] in (0, 1)
        assert segment["speaker"] == ROLES[segment["channel"]]
        assert segment["speaker_source"] == "channel"
        assert segment["id"].endswith(f"-ch{segment['channel']}")
    said = {
        role: _words(" ".join(s["text"] for s in transcript if s["speaker"] == role))
        for role in ROLES
    }
    assert {"brings", "medication", "allergies"} <= said["clinician"]
    assert {"headache", "fever", "ibuprofen"} <= said["patient"]
    assert "ibuprofen" not in said["clinician"]  # no cross-talk between the channels
    meds = {m["name"]: m["speaker"] for m in final["note"]["medications"]}
    assert meds.get("ibuprofen") == "patient"
    assert final["audio"]["channels"] == 2  # the recording keeps both channels


async def test_a_chunk_without_the_named_channels_is_refused(server: ServerProcess) -> None:
    mono = encode_wav(load_audio_file(FIXTURES / "tone_1s.wav"))
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.start({"encoding": "wav", "channel_roles": list(ROLES)})
        refused = await conv.send_chunk(mono)
        assert (refused["type"], refused["code"], refused["seq"]) == (
            "error",
            "audio_format_mismatch",
            0,
        )
        await conv.send_json({"type": "stop"})
        final = await conv.until("final")
    assert final["transcript"] == []


async def test_channel_roles_must_match_a_pcm_layout(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        audio = {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}
        await conv.send_json({"type": "start", "audio": {**audio, "channel_roles": list(ROLES)}})
        error = await conv.until("error")
    assert error["code"] == "invalid_message"
