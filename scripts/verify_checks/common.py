"""What every check uses: results, fixtures, servers with a bounded start, bounded streams."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from devtools import devserver
from devtools.deployenv import dockerfile_env
from devtools.devserver import ServerProcess
from tests.conftest import SpeechFixture, speech_fixtures

from drtranscribe.audio.file import load_audio_file
from drtranscribe.client import ClientEvent, stream_audio

REPO = Path(__file__).resolve().parents[2]

SERVER_START_TIMEOUT_S = 90.0
STREAM_TIMEOUT_S = 150.0
HTTP_TIMEOUT_S = 10.0
LOG_WAIT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    more: tuple[str, ...] = ()  # further detail lines


def failed(name: str, exc: BaseException) -> CheckResult:
    """A check that could not run to its end: the error's first line."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return CheckResult(name, False, f"{type(exc).__name__}: {first}")


@dataclass(frozen=True)
class ServedSession:
    """One session and every log line of the server process that served it, for (e)."""

    label: str
    session_id: str
    lines: list[str]
    content: frozenset[str] = field(default_factory=frozenset)  # never to be logged


def speech_fixture(name: str) -> SpeechFixture:
    return speech_fixtures()[name]


def image_env(data_dir: Path) -> dict[str, str]:
    """The Dockerfile's runtime ENV, with the paths that exist only in the image
    (/var/lib/drtranscribe, /app/settings.yaml) moved to this machine."""
    env = dockerfile_env(REPO / "Dockerfile", base={"PATH": os.environ["PATH"]})
    return env | {"DRT_DATA_DIR": str(data_dir), "DRT_SETTINGS_FILE": str(REPO / "settings.yaml")}


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


async def start_server(
    data_dir: Path, env: dict[str, str], *, environment: str | None = "test"
) -> ServerProcess:
    """:func:`devserver.start`, bounded: a child that never says where it listens is
    SIGKILLed (by the pid it got) and the start fails."""
    before = _children()
    pending = asyncio.get_running_loop().run_in_executor(
        None, _start_blocking, data_dir, env, environment
    )
    try:
        return await asyncio.wait_for(asyncio.shield(pending), SERVER_START_TIMEOUT_S)
    except TimeoutError:
        for pid in _children() - before:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pending, 15)  # its reader sees EOF and gives up
        raise RuntimeError(
            f"the server did not listen within {SERVER_START_TIMEOUT_S:g} s"
        ) from None


def _start_blocking(data_dir: Path, env: dict[str, str], environment: str | None) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    return devserver.start(data_dir, env, environment=environment)


@contextlib.asynccontextmanager
async def serving(
    data_dir: Path, env: dict[str, str], *, environment: str | None = "test"
) -> AsyncIterator[ServerProcess]:
    server = await start_server(data_dir, env, environment=environment)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)  # SIGTERM, bounded, then SIGKILL


async def stream(
    urls: str | Sequence[str],
    audio_path: Path,
    *,
    on_event: Callable[[ClientEvent], None] | None = None,
) -> list[ClientEvent]:
    """Every event of a whole session streamed as fast as acked, ending with ``final``."""
    audio = load_audio_file(audio_path)
    events: list[ClientEvent] = []
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        source = stream_audio(urls, audio, realtime=False, on_event=on_event)
        # An async generator (annotated as an iterator): closed even when the time is up.
        async with contextlib.aclosing(cast(AsyncGenerator[ClientEvent, None], source)):
            events = [event async for event in source]
    if not events or events[-1].message.get("type") != "final":
        raise RuntimeError("the stream ended without a final message")
    return events


def final_message(events: list[ClientEvent]) -> dict[str, Any]:
    return events[-1].message


def received(events: list[ClientEvent], kind: str) -> list[dict[str, Any]]:
    return [e.message for e in events if e.direction == "in" and e.message.get("type") == kind]


def log_records(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Each line parsed as a JSON object; an empty one where a line is not JSON."""
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = {}
        records.append(record if isinstance(record, dict) else {})
    return records


async def wait_for_probes(server: ServerProcess) -> None:
    """Until the provider monitor's first round (one probe per provider of both chains,
    as ``service.ready`` lists them) is logged: no probe runs inside a measured session."""

    def first_round_done(lines: list[str]) -> bool | None:
        records = log_records(list(lines))
        ready = next((r for r in records if r.get("event") == "service.ready"), None)
        if ready is None:
            return None
        expected = list(ready.get("stt_chain", [])) + list(ready.get("extraction_chain", []))
        probed = [r.get("provider") for r in records if is_probe_outcome(r)]
        return all(probed.count(name) >= expected.count(name) for name in expected) or None

    done = await asyncio.to_thread(server.wait_until, first_round_done, LOG_WAIT_TIMEOUT_S)
    if not done:
        raise TimeoutError(f"no first probe round in the logs within {LOG_WAIT_TIMEOUT_S:g} s")


def is_probe_outcome(record: dict[str, Any]) -> bool:
    """The provider monitor's line after each background probe (synthetic input)."""
    return str(record.get("event", "")).startswith("provider.probe_")


def phrases(text: str) -> set[str]:
    """Every pair of consecutive words (as tests/e2e/test_phi_logs.py): patient content,
    not log vocabulary."""
    words = re.findall(r"[a-z']+", text.lower())
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


def session_content(final: dict[str, Any], *texts: str) -> frozenset[str]:
    """What a session's logs must never contain: word pairs of the spoken text and the
    final transcript, and the note's medication names."""
    spoken = " ".join(str(s["text"]) for s in final["transcript"])
    found = phrases(spoken)
    for text in texts:
        found |= phrases(text)
    found |= {str(m["name"]).lower() for m in final["note"].get("medications", [])}
    return frozenset(found)
