"""The browser client library streaming on its own (as the Chrome extension uses it):
a connection that dies without a word is left behind and the session resumed on a new
one, and two-channel capture (the microphone and another stream) reaches the service
with each channel's speaker."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.stereo import fixture_turns, one_channel, two_channel
from playwright.async_api import Browser, Page, Route

from drtranscribe.audio.file import load_audio_file
from drtranscribe.audio.wav import encode_wav
from tests.browser.conftest import launch
from tests.browser.proxy import SwitchableProxy
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.browser

CHUNK_S = 5


# ---------------------------------------------------------------- a silently dead connection

SILENT_DEATH = """async ([chunks]) => {
    const { StreamSession } = await import('/client/v1/index.js');
    const session = new StreamSession({ ackTimeoutMs: 2000 });
    const seen = { states: [], errors: [], acks: [] };
    session.addEventListener('state', (e) => seen.states.push(e.detail.state));
    session.addEventListener('error', (e) => seen.errors.push(e.detail.code));
    session.addEventListener('message', (e) => {
        if (e.detail.type === 'ack') seen.acks.push(e.detail.seq);
    });
    const acked = (seq) => new Promise((resolve) => {
        if (seen.acks.includes(seq)) return resolve();
        session.addEventListener('message', (e) => {
            if (e.detail.type === 'ack' && e.detail.seq === seq) resolve();
        });
    });
    const pcm = (b64) => new Int16Array(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
    window.drt = { session, seen, acked, pcm, chunks };
    await session.open();
    await session.push(pcm(chunks[0]));
    await acked(0);
}"""

REST = """async () => {
    const { session, seen, acked, pcm, chunks } = window.drt;
    for (let i = 1; i < chunks.length; i++) {
        await session.push(pcm(chunks[i]));
        await acked(i);
    }
    const final = await session.stop();
    return { final, seen };
}"""


@pytest.fixture
async def page(speech: dict[str, SpeechFixture]) -> AsyncIterator[Page]:
    browser: Browser
    async for browser in launch(speech["consult_short"].path.resolve()):
        yield await browser.new_page()


async def test_a_connection_that_stops_answering_is_left_and_the_session_resumed(
    page: Page, server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    audio = load_audio_file(speech["consult_short"].path)
    samples = audio.samples[:, 0]
    step = CHUNK_S * audio.sample_rate
    chunks = [
        base64.b64encode(samples[i : i + step].astype("<i2").tobytes()).decode()
        for i in range(0, samples.size, step)
    ]
    proxy = SwitchableProxy(server.port)
    await proxy.start()
    try:
        await page.goto(proxy.http_url + "/")  # the page and the service behind the proxy
        await page.evaluate(SILENT_DEATH, [chunks])
        proxy.freeze()  # chunk 1 goes into a connection that never answers again
        result: dict[str, Any] = await page.evaluate(REST)
    finally:
        await proxy.stop()
    final, seen = result["final"], result["seen"]
    assert "ack_timeout" in seen["errors"]
    assert seen["states"].index("reconnecting") < seen["states"].index("resumed")
    assert seen["acks"] == list(range(len(chunks)))  # each chunk acked once, in order
    assert final["audio"]["duration_s"] == pytest.approx(audio.duration_s, abs=0.01)
    text = " ".join(s["text"] for s in final["transcript"]).lower()
    for words in ("brings you in", "headache", "ibuprofen", "no allergies"):
        assert text.count(words) == 1, (words, text)


# ---------------------------------------------------------------- two-channel capture

TWO_CHANNELS = """async () => {
    const { MicCapture, StreamSession } = await import('/client/v1/index.js');
    // the meeting's other voice: a WAV played into a MediaStream (no media element)
    const context = new AudioContext();
    const wav = await (await fetch('/__test__/patient.wav')).arrayBuffer();
    const buffer = await context.decodeAudioData(wav);
    const meeting = context.createMediaStreamDestination();
    const player = context.createBufferSource();
    player.buffer = buffer;
    player.connect(meeting);
    const ended = new Promise((resolve) => (player.onended = resolve));

    const session = new StreamSession({ channelRoles: ['clinician', 'patient'] });
    const peaks = [0, 0];
    const capture = new MicCapture({
        other: meeting.stream,
        onChunk: (pcm) => session.push(pcm),
        onLevel: (_, channels) => channels.forEach((p, i) => (peaks[i] = Math.max(peaks[i], p))),
    });
    await session.open();
    await capture.start();
    player.start();
    await ended;
    await capture.stop();
    const final = await session.stop();
    await context.close();
    return { final, peaks };
}"""


async def test_the_microphone_and_another_stream_are_two_channels_with_their_speakers(
    server: ServerProcess, speech: dict[str, SpeechFixture], tmp_path: Path
) -> None:
    fixture = speech["consult_short"]
    stereo = two_channel(load_audio_file(fixture.path), fixture_turns(fixture.name))
    microphone = tmp_path / "clinician.wav"
    microphone.write_bytes(encode_wav(one_channel(stereo, 0)))
    patient = encode_wav(one_channel(stereo, 1))

    async def serve_patient(route: Route) -> None:
        await route.fulfill(body=patient, content_type="audio/wav")

    browser: Browser
    async for browser in launch(microphone):
        page = await browser.new_page()
        await page.route("**/__test__/patient.wav", serve_patient)
        await page.goto(server.http_url + "/")
        result: dict[str, Any] = await page.evaluate(TWO_CHANNELS)
    final = result["final"]
    assert all(p > 0.05 for p in result["peaks"])  # both channels carried sound
    assert final["audio"]["channels"] == 2
    said: dict[str, str] = {"clinician": "", "patient": ""}
    for segment in final["transcript"]:
        assert segment["speaker"] == ("clinician", "patient")[segment["channel"]]
        said[segment["speaker"]] += " " + segment["text"].lower()
    for words in ("brings you in", "medication", "allergies"):
        assert words in said["clinician"], said
    for words in ("headache", "ibuprofen"):
        assert words in said["patient"], said
    assert "ibuprofen" not in said["clinician"]
    assert final["audio"]["duration_s"] == pytest.approx(fixture.duration_s, abs=1.5)


# ---------------------------------------------------------------- captions

LATE_REVISION = """async () => {
    const { StreamSession } = await import('/client/v1/index.js');
    const session = new StreamSession({ input: 'captions' });
    const seen = [];
    session.addEventListener('message', (e) => seen.push(e.detail));
    const finalised = () => new Promise((resolve) => {
        const done = () => seen.some((m) => m.type === 'transcript' && m.segment.final);
        if (done()) return resolve();
        session.addEventListener('message', () => done() && resolve());
    });
    await session.open();
    await session.pushCaption({ caption_id: 'a', speaker: 'Maria', text: 'I take lisinopril' });
    await finalised();  // quiet for longer than the service waits: final there
    // revisions queued after it was made final: each goes on as the one continuation
    for (const text of ['every', 'every morning', 'every Morning with water']) {
        const revision = `I take lisinopril ${text}`;
        session.pushCaption({ caption_id: 'a', speaker: 'Maria', text: revision });
    }
    await session.pushCaption({
        caption_id: 'a', speaker: 'Maria', text: 'I take lisinopril every morning with water',
        final: true });
    await session.pushCaption({ caption_id: 'b', speaker: 'Dr. Rivera', text: 'Thank you.' });
    const final = await session.stop();
    const refused = seen.filter((m) => m.type === 'error').map((m) => m.code);
    return { transcript: final.transcript.map((s) => [s.speaker_name, s.text]), refused };
}"""


@pytest.fixture(scope="module")
def quick_captions(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServerProcess]:
    """A service that makes a caption final after 1 s without a revision."""
    env = {"DRT_REDIS_URL": redis_url, "DRT_CAPTIONS__QUIET_FINAL_S": "1"}
    srv = start_server(tmp_path_factory.mktemp("quick-captions"), env)
    yield srv
    stop_server(srv)


async def test_a_caption_revised_after_the_service_made_it_final_loses_no_words(
    page: Page, quick_captions: ServerProcess
) -> None:
    await page.goto(quick_captions.http_url + "/")
    result: dict[str, Any] = await page.evaluate(LATE_REVISION)
    assert result["refused"] == ["caption_final"]  # seen, and carried on
    assert result["transcript"] == [
        ["Maria", "I take lisinopril"],
        # the words beyond the final text, once, as the next caption
        ["Maria", "every morning with water"],
        ["Dr. Rivera", "Thank you."],
    ]
