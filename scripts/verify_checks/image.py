"""(a) the service starts with the Dockerfile's runtime environment and answers /health;
(b) a whole consultation from a committed fixture through that server."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from devtools.devserver import ServerProcess

from verify_checks.common import (
    HTTP_TIMEOUT_S,
    CheckResult,
    ServedSession,
    failed,
    final_message,
    image_env,
    serving,
    session_content,
    speech_fixture,
    stream,
)

HEALTH = "(a) image environment starts, /health answers"
CONSULTATION = "(b) full consultation from a fixture"
FIXTURE = "consult_long"


@dataclass(frozen=True)
class ImageOutcome:
    health: CheckResult
    consultation: CheckResult
    session: ServedSession | None  # for (e)
    final: dict[str, Any] | None  # an uninterrupted run, for (c) to compare with


async def run(workdir: Path) -> ImageOutcome:
    data_dir = workdir / "image"
    began = time.monotonic()
    try:
        async with serving(data_dir, image_env(data_dir), environment=None) as server:
            health = await _check_health(server, began)
            try:
                consultation, session, final = await _check_consultation(server)
            except Exception as exc:
                return ImageOutcome(health, failed(CONSULTATION, exc), None, None)
    except Exception as exc:
        return ImageOutcome(failed(HEALTH, exc), failed(CONSULTATION, exc), None, None)
    return ImageOutcome(health, consultation, session, final)


async def _check_health(server: ServerProcess, began: float) -> CheckResult:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=HTTP_TIMEOUT_S) as http:
        health = (await http.get("/health")).status_code
        readiness = await http.get("/readiness")
    took = time.monotonic() - began
    ready = readiness.json() if readiness.status_code == 200 else {}
    chains = "stt " + _providers(ready, "stt") + ", extraction " + _providers(ready, "extraction")
    return CheckResult(
        HEALTH,
        health == 200 and readiness.status_code == 200,
        f"/health {health}, /readiness {readiness.status_code} in {took:.1f} s",
        (f"Dockerfile ENV + DRT_DATA_DIR=<tmp>, DRT_SETTINGS_FILE=settings.yaml; {chains}",),
    )


def _providers(readiness: dict[str, Any], chain: str) -> str:
    names = [p["name"] for p in readiness.get(chain, {}).get("providers", [])]
    return "+".join(names) or "?"


async def _check_consultation(
    server: ServerProcess,
) -> tuple[CheckResult, ServedSession, dict[str, Any]]:
    fixture = speech_fixture(FIXTURE)
    began = time.monotonic()
    final = final_message(await stream(server.ws_url, fixture.path))
    took = time.monotonic() - began
    segments = [s for s in final["transcript"] if str(s["text"]).strip()]
    medications = sorted(str(m["name"]).lower() for m in final["note"].get("medications", []))
    expected = {m.lower() for m in fixture.medications}
    spoken = " ".join(str(s["text"]) for s in segments).lower()
    keywords = [k for k in fixture.keywords if k.lower() in spoken]
    result = CheckResult(
        CONSULTATION,
        bool(segments) and bool(expected & set(medications)),
        f"{fixture.path.name}: final in {took:.1f} s, {len(segments)} segments, "
        f"medications {', '.join(medications) or 'none'} "
        f"(manifest: {', '.join(sorted(expected))})",
        (f"keywords heard: {len(keywords)}/{len(fixture.keywords)} ({', '.join(keywords)})",),
    )
    session = ServedSession(
        label="(b)",
        session_id=str(final["session_id"]),
        lines=server.lines,  # the same list: complete once the server has stopped
        content=session_content(final, fixture.text),
    )
    return result, session, final
