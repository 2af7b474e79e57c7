"""The Chrome extension in captions mode, end to end: a stand-in Meet call at Meet's origin
shows a consultation's captions as Meet does (blocks per turn, words rewritten in place),
the content script follows them, the panel streams them to a real service and shows the
transcript and note. The service's final transcript must equal what was shown."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.extension_harness import (
    EXTENSION_ORIGIN,
    extension_browser,
    open_meeting,
    open_panel,
    play,
)
from tests.browser.proxy import SwitchableProxy
from tests.conftest import ServerProcess, start_server, stop_server

pytestmark = pytest.mark.browser

CLINICIAN = "Dr. Rivera"
PATIENT = "Maria Lopez"
#: A consultation as Meet captions it. "heard|meant": Meet shows the first, then corrects
#: it in place. `sameBlock`: the speaker goes on after a short pause, in the same block.
TURNS: list[dict[str, Any]] = [
    {"speaker": "You", "text": "Good morning. What brings you in today?"},
    {"speaker": PATIENT, "text": "I have had a dry cough and a fever for three days."},
    {"speaker": "You", "text": "Any shortness of breath or chest pain?"},
    {"speaker": PATIENT, "text": "No chest pain. A little short of breath on the stairs."},
    {"speaker": "You", "text": "Do you take any medication?"},
    {
        "speaker": PATIENT,
        "text": "I take listen|lisinopril ten milligrams every morning for my blood pressure.",
    },
    {"speaker": PATIENT, "text": "And I am allergic to penicillin.", "sameBlock": True},
    {
        "speaker": "You",
        "text": "Your temperature is thirty eight point two. Rest and fluids for now.",
    },
    {"speaker": PATIENT, "text": "Thank you, doctor."},
]


def _shown(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What the captions finally said, per speaker run: (speaker as the service names
    them, words)."""
    runs: list[tuple[str, str]] = []
    for turn in turns:
        speaker = CLINICIAN if turn["speaker"] == "You" else turn["speaker"]
        words = " ".join(w.split("|")[-1] for w in turn["text"].split())
        if runs and runs[-1][0] == speaker:
            runs[-1] = (speaker, runs[-1][1] + " " + words)
        else:
            runs.append((speaker, words))
    return runs


def _runs(transcript: list[dict[str, Any]]) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for segment in transcript:
        if not segment["text"]:
            continue
        if runs and runs[-1][0] == segment["speaker_name"]:
            runs[-1] = (segment["speaker_name"], runs[-1][1] + " " + segment["text"])
        else:
            runs.append((segment["speaker_name"], segment["text"]))
    return runs


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    """A service whose Origin allowlist (WebSocket and CORS) has the extension."""
    srv = start_server(tmp_path_factory.mktemp("ext"), _allowing_the_extension(redis_url))
    yield srv
    stop_server(srv)


def _allowing_the_extension(redis_url: str) -> dict[str, str]:
    return {"DRT_REDIS_URL": redis_url, "DRT_AUTH__ALLOWED_ORIGINS": json.dumps([EXTENSION_ORIGIN])}


async def _start(panel: Page) -> str:
    await panel.get_by_role("button", name="Start visit").click()
    await expect(panel.locator("#connection")).to_have_text("Live", timeout=20_000)
    await expect(panel.locator("#session-id")).to_contain_text("Session s_")
    return (await panel.inner_text("#session-id")).removeprefix("Session ").strip()


async def _end(panel: Page) -> None:
    await panel.get_by_role("button", name="End visit").click()
    await expect(panel.locator("#connection")).to_have_text("Visit ended", timeout=30_000)


async def _record(base_url: str, session_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get(f"/v1/sessions/{session_id}")
    assert response.status_code == 200
    record: dict[str, Any] = response.json()
    return record


def _count(metrics: str, status: str) -> float:
    pattern = re.compile(rf'^drt_source_problems_total\{{status="{status}"\}} (\S+)$', re.M)
    found = pattern.search(metrics)
    return float(found.group(1)) if found else 0.0


async def _counted(server: ServerProcess, status: str, *, after: int = 0) -> float:
    """The service's count of caption sources in ``status``, once it has logged such a
    report (log line index ``after`` on: the report travels panel -> WebSocket -> service
    after the panel shows it; the counter moves in the same step as the log line)."""
    await asyncio.to_thread(server.wait_for_line, f'"status": "{status}"', after=after)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        return _count((await client.get("/metrics")).text, status)


async def test_captions_shown_in_meet_become_the_visits_transcript_and_note(
    service: ServerProcess, tmp_path: Path
) -> None:
    async with extension_browser(tmp_path) as context:
        meeting = await open_meeting(context)
        panel = await open_panel(context, serviceUrl=service.http_url, clinician=CLINICIAN)
        session_id = await _start(panel)
        await play(meeting, TURNS)
        # the panel shows the conversation and the note as the meeting goes on
        await expect(panel.locator("#transcript")).to_contain_text("allergic to penicillin")
        await expect(panel.locator("#note")).to_contain_text("lisinopril", timeout=15_000)
        await _end(panel)
        assert await panel.locator("#problem").is_hidden()
    record = await _record(service.http_url, session_id)
    assert record["status"] == "finished"
    transcript = record["transcript"]
    assert _runs(transcript) == _shown(TURNS)  # nothing lost, nothing doubled, corrected
    roles = {s["speaker_name"]: (s["speaker"], s["speaker_source"]) for s in transcript}
    assert roles == {CLINICIAN: ("clinician", "client"), PATIENT: ("patient", "inferred")}
    note = record["note"]
    assert [m["name"] for m in note["medications"]] == ["lisinopril"]
    assert note["medications"][0]["speaker"] == "patient"
    assert [a["substance"] for a in note["allergies"]] == ["penicillin"]


async def test_a_meet_page_change_is_shown_in_the_panel_and_counted_by_the_service(
    service: ServerProcess, tmp_path: Path
) -> None:
    async with extension_browser(tmp_path) as context:
        meeting = await open_meeting(context)
        panel = await open_panel(
            context, serviceUrl=service.http_url, clinician=CLINICIAN, tuning={"notFoundMs": 2000}
        )
        session_id = await _start(panel)
        await play(meeting, TURNS[:2])
        await expect(panel.locator("#transcript")).to_contain_text("three days")
        await meeting.evaluate("window.meet.breakCaptions('renamed')")
        # the clinician is told, with the way out
        await expect(panel.locator("#problem")).to_contain_text(
            "cannot find Meet's captions", timeout=10_000
        )
        await expect(
            panel.get_by_role("button", name="Use the call's audio instead")
        ).to_be_visible()
        assert await _counted(service, "captions_not_found") >= 1
        await _end(panel)
    record = await _record(service.http_url, session_id)
    assert _runs(record["transcript"]) == _shown(TURNS[:2])  # what was shown is kept


async def test_the_service_dies_mid_meeting_and_another_instance_carries_the_visit(
    service: ServerProcess, redis_url: str, tmp_path: Path
) -> None:
    doomed = start_server(service.data_dir, _allowing_the_extension(redis_url))
    proxy = SwitchableProxy(doomed.port)
    await proxy.start()
    try:
        async with extension_browser(tmp_path) as context:
            meeting = await open_meeting(context)
            panel = await open_panel(context, serviceUrl=proxy.http_url, clinician=CLINICIAN)
            session_id = await _start(panel)
            await play(meeting, TURNS[:4])
            doomed.proc.send_signal(signal.SIGKILL)
            assert doomed.proc.wait(timeout=30) == -signal.SIGKILL
            proxy.switch_to(service.port)
            await play(meeting, TURNS[4:])
            await expect(panel.locator("#transcript")).to_contain_text("Thank you, doctor")
            await _end(panel)
    finally:
        await proxy.stop()
        stop_server(doomed)
    record = await _record(service.http_url, session_id)
    assert _runs(record["transcript"]) == _shown(TURNS)


async def test_captions_gone_quiet_while_the_call_has_sound_or_turned_off_are_shown(
    service: ServerProcess, tmp_path: Path
) -> None:
    async with extension_browser(tmp_path) as context:
        meeting = await open_meeting(context)
        panel = await open_panel(
            context, serviceUrl=service.http_url, clinician=CLINICIAN, tuning={"quietS": 3}
        )
        await _start(panel)
        async with httpx.AsyncClient(base_url=service.http_url) as client:
            before = _count((await client.get("/metrics")).text, "captions_quiet")
        logged = len(service.lines)
        await play(meeting, TURNS[:1])
        await expect(panel.locator("#problem")).to_be_hidden()
        await meeting.evaluate("window.meet.sound()")  # talk, and no captions come
        await expect(panel.locator("#problem")).to_contain_text(
            "has sound but no captions", timeout=15_000
        )
        assert await _counted(service, "captions_quiet", after=logged) > before
        await play(meeting, TURNS[1:2])  # captions again: the warning goes
        await expect(panel.locator("#problem")).to_be_hidden(timeout=10_000)
        await meeting.evaluate("window.meet.captionsOff()")
        await expect(panel.locator("#problem")).to_contain_text("Captions are off in Meet")
        await _end(panel)


KEY = "kx_" + "e5" * 16


async def test_a_keyed_service_that_lists_the_extension_on_the_key_alone(
    redis_url: str, tmp_path: Path
) -> None:
    """The extension's origin only in its API key's own list (not service-wide): the CORS
    preflight and the stream pass, and the key never appears in a URL."""
    keys = [
        {"id": "clinic-e-meet", "tenant": "clinic-e", "key": KEY, "origins": [EXTENSION_ORIGIN]}
    ]
    keyed = start_server(
        tmp_path / "srv",
        {"DRT_REDIS_URL": redis_url, "DRT_SECRET_DRTRANSCRIBE_API_KEYS": json.dumps(keys)},
    )
    try:
        async with extension_browser(tmp_path) as context:
            meeting = await open_meeting(context)
            panel = await open_panel(
                context, serviceUrl=keyed.http_url, clinician=CLINICIAN, apiKey=KEY
            )
            urls: list[str] = []
            panel.on("request", lambda request: urls.append(request.url))
            panel.on("websocket", lambda ws: urls.append(ws.url))
            session_id = await _start(panel)
            await play(meeting, TURNS[:3])
            await expect(panel.locator("#transcript")).to_contain_text("chest pain")
            await _end(panel)
        async with httpx.AsyncClient(
            base_url=keyed.http_url, headers={"authorization": f"Bearer {KEY}"}
        ) as client:
            record = (await client.get(f"/v1/sessions/{session_id}")).json()
    finally:
        stop_server(keyed)
    assert _runs(record["transcript"]) == _shown(TURNS[:3])
    assert any("/v1/stream?token=st_" in url for url in urls)
    assert not any(KEY in url for url in urls)
