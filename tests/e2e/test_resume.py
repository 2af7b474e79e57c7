"""Instance death mid-session: two servers share one Redis and one audio store; the first
is SIGKILLed at a chosen point; the client resumes on the second. The final transcript
must equal an uninterrupted run's, and every chunk's audio must be in the recording once.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import decode_wav
from drtranscribe.client import ClientEvent, stream_audio
from tests.conftest import (
    ServerProcess,
    SpeechFixture,
    open_recording,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.e2e


async def _run(urls: list[str], path: Path) -> tuple[dict[str, Any], list[ClientEvent]]:
    events = [e async for e in stream_audio(urls, load_audio_file(path), realtime=False)]
    final = events[-1].message
    assert final["type"] == "final"
    return final, events


def _transcript(final: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(s["id"], s["text"], s["start"], s["end"], s["final"]) for s in final["transcript"]]


@pytest.fixture(scope="module")
async def baseline(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> tuple[dict[str, Any], list[ClientEvent]]:
    return await _run([server.ws_url], speech["consult_long"].path)


@pytest.mark.parametrize(
    "failpoint", ["before_ack=2", "after_ack=2", "during_extraction=2", "during_stop"]
)
async def test_a_killed_instance_loses_nothing_and_doubles_nothing(
    failpoint: str,
    server: ServerProcess,
    redis_url: str,
    speech: dict[str, SpeechFixture],
    baseline: tuple[dict[str, Any], list[ClientEvent]],
) -> None:
    doomed = start_server(
        server.data_dir, {"DRT_REDIS_URL": redis_url, "DRT_FAILPOINTS": failpoint}
    )
    try:
        final, events = await _run([doomed.ws_url, server.ws_url], speech["consult_long"].path)
        assert doomed.proc.wait(timeout=30) == -signal.SIGKILL  # it really died, at that point
    finally:
        stop_server(doomed)

    reconnects = [e for e in events if e.direction == "reconnect"]
    assert reconnects, "the client never had to resume"
    sessions = [e.message for e in events if e.direction == "in" and e.message["type"] == "session"]
    assert sessions[-1]["resumed"] is True
    assert len({s["session_id"] for s in sessions}) == 1

    expected_final, _ = baseline
    assert _transcript(final) == _transcript(expected_final)
    assert final["note"] == expected_final["note"]

    chunks = list(split_chunks(load_audio_file(speech["consult_long"].path), 5.0))
    combined = decode_wav(open_recording(server.data_dir, final["audio"]["uri"]))
    np.testing.assert_array_equal(combined.samples, np.concatenate([c.samples for c in chunks]))
