"""The Chrome extension in audio mode, from the offscreen document down: the meeting
tab's audio (the patient) and the clinician's microphone captured as two channels,
streamed, and each segment named by its channel.

Chrome's tab capture needs the extension invoked by a click on its toolbar button
(``chrome.tabCapture.getMediaStreamId``), which no headless browser can deliver: the test
hands the offscreen document's visit a stream playing the patient's side of a
consultation in place of the tab's audio, and Chromium's fake microphone plays the
clinician's side."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.stereo import fixture_turns, one_channel, two_channel

from drtranscribe.audio.file import load_audio_file
from drtranscribe.audio.wav import encode_wav
from tests.browser.extension_harness import EXTENSION_ORIGIN, extension_browser
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.browser

AUDIO_VISIT = """async ([serviceUrl, patientWav]) => {
    const { AudioCaptureVisit } = await import('./audio-visit.js');
    const context = new AudioContext();
    const bytes = Uint8Array.from(atob(patientWav), (c) => c.charCodeAt(0));
    const buffer = await context.decodeAudioData(bytes.buffer);
    const tab = context.createMediaStreamDestination();  // stands in for the tab's audio
    const player = context.createBufferSource();
    player.buffer = buffer;
    player.connect(tab);
    const ended = new Promise((resolve) => (player.onended = resolve));
    const posted = [];
    const visit = new AudioCaptureVisit({
        settings: { serviceUrl, apiKey: '' },
        tabStream: tab.stream,
        post: (event, detail) => posted.push(event === 'state' ? detail.state : event),
    });
    await visit.start();
    player.start();
    await ended;
    const final = await visit.stop();
    return { final, posted, levels: visit.levels, kept: visit.model.snapshot().transcript.length };
}"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    env = {"DRT_REDIS_URL": redis_url, "DRT_AUTH__ALLOWED_ORIGINS": json.dumps([EXTENSION_ORIGIN])}
    srv = start_server(tmp_path_factory.mktemp("ext-audio"), env)
    yield srv
    stop_server(srv)


async def test_the_offscreen_visit_sends_the_call_and_the_microphone_as_two_speakers(
    service: ServerProcess, speech: dict[str, SpeechFixture], tmp_path: Path
) -> None:
    fixture = speech["consult_short"]
    stereo = two_channel(load_audio_file(fixture.path), fixture_turns(fixture.name))
    clinician, patient = one_channel(stereo, 0), one_channel(stereo, 1)
    microphone = tmp_path / "clinician.wav"
    microphone.write_bytes(encode_wav(clinician))
    async with extension_browser(tmp_path, microphone=microphone) as context:
        page = await context.new_page()
        await page.goto(f"{EXTENSION_ORIGIN}/offscreen/offscreen.html")
        patient_wav = base64.b64encode(encode_wav(patient)).decode()
        result: dict[str, Any] = await page.evaluate(AUDIO_VISIT, [service.http_url, patient_wav])
    final = result["final"]
    assert {"live", "message", "finished"} <= set(result["posted"])  # the panel is told
    assert result["kept"] > 0  # the transcript so far, for a panel that opens mid-visit
    assert final["audio"]["channels"] == 2
    said: dict[str, str] = {"clinician": "", "patient": ""}
    for segment in final["transcript"]:
        assert segment["speaker"] == ("clinician", "patient")[segment["channel"]]
        said[segment["speaker"]] += " " + segment["text"].lower()
    for words in ("brings you in", "allergies"):
        assert words in said["clinician"], said
    for words in ("headache", "ibuprofen"):
        assert words in said["patient"], said
    assert "ibuprofen" not in said["clinician"]
    assert [m["name"] for m in final["note"]["medications"]] == ["ibuprofen"]
