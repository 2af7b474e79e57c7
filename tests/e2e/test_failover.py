"""Cloud providers in the live service: a server whose chains start with cloud providers
pointed at the fake provider server (real wire formats, real SDKs), then the local ones."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from drtranscribe.audio.file import load_audio_file
from drtranscribe.client import ClientEvent, stream_audio
from drtranscribe.extraction.llm_base import PROBE_TEXT
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server
from tests.fakes.provider_server import (  # noqa: F401
    FakeProviderServer,
    Status,
    fake_providers_fixture,
    provider_server_fixture,
)

pytestmark = pytest.mark.e2e

NOTE = {
    "chief_complaint": {"id": "cc", "evidence": ["seg-0000"], "speaker": None, "text": "headache"},
    "medications": [
        {"id": "med-ibuprofen", "evidence": ["seg-0000"], "speaker": None, "name": "ibuprofen",
         "dose": "400 mg", "route": None, "frequency": None, "status": "current"}
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def cloud_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, provider_server: FakeProviderServer
) -> Iterator[ServerProcess]:
    fake = provider_server
    groq = fake.settings("groq")
    gemini = fake.settings("gemini")
    env = {
        "DRT_REDIS_URL": redis_url,
        "DRT_STT_CHAIN": json.dumps(["groq", "local_whisper"]),
        "DRT_EXTRACTION_CHAIN": json.dumps(["gemini", "local"]),
        "DRT_PROVIDERS__GROQ__API_KEY": fake.api_key,
        "DRT_PROVIDERS__GROQ__BASE_URL": str(groq.base_url),
        "DRT_PROVIDERS__GEMINI__API_KEY": fake.api_key,
        "DRT_PROVIDERS__GEMINI__BASE_URL": str(gemini.base_url),
        "DRT_PROVIDERS__GEMINI__API_VERSION": "v1beta",
        "DRT_RESILIENCE__STT__HEDGE_AFTER_S": "10",
        "DRT_RESILIENCE__PROBE_INTERVAL_S": "3600",
    }
    server = start_server(tmp_path_factory.mktemp("cloud"), env)
    yield server
    stop_server(server)


def _healthy(fake: FakeProviderServer) -> None:
    """The fakes answer with a transcript and a note that mention ibuprofen."""
    fake.transcript = "Patient has a headache and takes ibuprofen."
    fake.note_json = json.dumps(NOTE)


async def _events(server: ServerProcess, fixture: SpeechFixture) -> list[ClientEvent]:
    audio = load_audio_file(fixture.path)
    return [e async for e in stream_audio(server.ws_url, audio, realtime=False)]


async def _stream(server: ServerProcess, fixture: SpeechFixture) -> dict[str, object]:
    events = await _events(server, fixture)
    final = events[-1].message
    assert final["type"] == "final"
    return final


async def test_cloud_providers_answer_when_healthy(
    cloud_server: ServerProcess,
    fake_providers: FakeProviderServer,
    speech: dict[str, SpeechFixture],
) -> None:
    _healthy(fake_providers)
    final = await _stream(cloud_server, speech["consult_short"])
    segments = final["transcript"]
    assert isinstance(segments, list)
    assert {s["provider"] for s in segments} == {"groq"}
    assert "ibuprofen" in segments[0]["text"]
    assert final["note"]["medications"][0]["dose"] == "400 mg"  # type: ignore[index]
    uploads = fake_providers.requests_to("groq.stt")
    assert uploads
    assert all(r.model == "whisper-large-v3-turbo" for r in uploads)
    assert fake_providers.requests_to("gemini.chat")
    async with httpx.AsyncClient(base_url=cloud_server.http_url) as client:
        ready = await client.get("/readiness")
    assert (ready.status_code, ready.json()["status"], ready.json()["degraded"]) == (
        200, "ready", {}
    )  # fmt: skip


async def test_a_failing_cloud_provider_falls_back_and_its_breaker_opens(
    cloud_server: ServerProcess,
    fake_providers: FakeProviderServer,
    speech: dict[str, SpeechFixture],
) -> None:
    fake_providers.script("groq.stt", *[Status(503)] * 20)
    fake_providers.script("gemini.chat", *[Status(500)] * 20)
    final = await _stream(cloud_server, speech["consult_long"])
    segments = final["transcript"]
    assert isinstance(segments, list)
    assert {s["provider"] for s in segments} == {"local_whisper"}
    text = " ".join(s["text"] for s in segments).lower()
    assert "chest pain" in text
    assert "insulin" in [m["name"] for m in final["note"]["medications"]]  # type: ignore[index]
    # 6 interim + >= 2 final decodes; groq saw 3 failures (plus at most one call already in
    # flight when its breaker opened), then the open breaker kept it out.
    assert 3 <= len(fake_providers.requests_to("groq.stt")) <= 4

    async with httpx.AsyncClient(base_url=cloud_server.http_url) as client:
        ready = (await client.get("/readiness")).json()
    states = {p["name"]: p["state"] for p in ready["stt"]["providers"]}
    assert states == {"groq": "open", "local_whisper": "closed"}
    # Still serving (200), on the local fallbacks alone: degraded, and said so.
    assert ready["status"] == "degraded"
    # (The LLM is asked once, at stop: too few failures to open gemini's breaker.)
    assert ready["degraded"] == {"stt": "local_whisper"}
    degraded = [json.loads(ln) for ln in cloud_server.lines if '"chain.degraded"' in ln]
    assert [(d["chain"], d["running_on"], d["severity"]) for d in degraded] == [
        ("stt", "local_whisper", "WARNING")
    ]


async def test_drafts_show_at_once_and_the_llm_reads_the_consultation_once(
    cloud_server: ServerProcess,
    fake_providers: FakeProviderServer,
    speech: dict[str, SpeechFixture],
) -> None:
    _healthy(fake_providers)
    events = await _events(cloud_server, speech["consult_short"])
    final = events[-1].message
    assert final["type"] == "final"
    notes = [e.message for e in events if e.direction == "in" and e.message["type"] == "note"]
    ops = [op for n in notes for op in n["patch"]]
    drafted = next(i for i, op in enumerate(ops) if op["path"] == "/medications/0")
    # The local rules drafted the medication from interim text, before any LLM call ...
    assert ops[drafted]["op"] == "add"
    assert (ops[drafted]["value"]["name"], ops[drafted]["value"]["provisional"]) == (
        "ibuprofen",
        True,
    )
    # ... and the LLM, called once at stop (a short consultation stays under the default
    # 1200-token cadence), read every final segment and confirmed it under the same id.
    calls = [r for r in fake_providers.requests_to("gemini.chat") if PROBE_TEXT not in r.text]
    assert len(calls) == 1
    assert all(f"[{int(s['id'][4:])}]" in calls[0].text for s in final["transcript"])
    (med,) = final["note"]["medications"]
    assert (med["id"], med["dose"], med["provisional"]) == ("med-ibuprofen", "400 mg", False)
    assert any(op["path"] == "/medications/0/provisional" for op in ops[drafted + 1 :])
