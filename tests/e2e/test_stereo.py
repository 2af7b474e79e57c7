"""Two-channel audio end to end, with the real local model: the clinician's microphone on
channel 0, the meeting's audio (the patient) on channel 1. Heard mixed (the default) or
each channel on its own, every segment carries its channel's speaker; the note knows who
said what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from devtools.stereo import fixture_turns, two_channel

from drtranscribe.audio.file import load_audio_file
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.client import stream_audio
from tests.conftest import FIXTURES, ServerProcess, SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e

ROLES = ("clinician", "patient")


def _stereo(fixture: SpeechFixture) -> PcmAudio:
    return two_channel(load_audio_file(fixture.path), fixture_turns(fixture.name), ROLES)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def _final(url: str, audio: PcmAudio) -> dict[str, Any]:
    events = [e async for e in stream_audio(url, audio, realtime=False, channel_roles=ROLES)]
    final: dict[str, Any] = events[-1].message
    assert final["type"] == "final"
    return final


def _said(transcript: list[dict[str, Any]]) -> dict[str, set[str]]:
    for segment in transcript:
        assert segment["channel"] in (0, 1)
        assert segment["speaker"] == ROLES[segment["channel"]]
        assert segment["speaker_source"] == "channel"
    return {
        role: _words(" ".join(s["text"] for s in transcript if s["speaker"] == role))
        for role in ROLES
    }


async def test_the_mixed_channels_make_one_segment_per_turn_with_its_speaker(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    """The default: the channels are heard together and split into turns by loudness."""
    final = await _final(server.ws_url, _stereo(speech["consult_short"]))
    transcript = [s for s in final["transcript"] if s["text"]]
    assert all(re.fullmatch(r"seg-\d{4}(-t\d+)?", s["id"]) for s in transcript)
    turns = fixture_turns("consult_short")
    assert [s["speaker"] for s in transcript] == [t.role for t in turns]  # turn by turn
    for segment, turn in zip(transcript, turns, strict=True):
        assert abs(segment["start"] - turn.start_s) < 0.5
    said = _said(transcript)
    assert {"brings", "medication", "allergies"} <= said["clinician"]
    assert {"headache", "fever", "ibuprofen"} <= said["patient"]
    assert "ibuprofen" not in said["clinician"]
    meds = {m["name"]: m["speaker"] for m in final["note"]["medications"]}
    assert meds.get("ibuprofen") == "patient"
    assert final["audio"]["channels"] == 2  # the recording keeps both channels


@pytest.fixture(scope="module")
def separate_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("separate"),
        {"DRT_REDIS_URL": redis_url, "DRT_SEGMENTS__TWO_CHANNEL": "separate"},
    )
    yield srv
    stop_server(srv)


async def test_separate_channels_are_each_transcribed_on_their_own(
    separate_server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    final = await _final(separate_server.ws_url, _stereo(speech["consult_short"]))
    transcript = final["transcript"]
    assert transcript, "nothing transcribed"
    assert all(s["id"].endswith(f"-ch{s['channel']}") for s in transcript)
    said = _said(transcript)
    assert {"brings", "medication", "allergies"} <= said["clinician"]
    assert {"headache", "fever", "ibuprofen"} <= said["patient"]
    assert "ibuprofen" not in said["clinician"]  # no cross-talk between the channels
    meds = {m["name"]: m["speaker"] for m in final["note"]["medications"]}
    assert meds.get("ibuprofen") == "patient"


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
