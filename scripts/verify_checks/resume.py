"""(c) SIGKILL an instance mid-session; the client resumes on a second instance sharing
the same Redis and audio store. Nothing acked is lost, nothing is stored twice.

As tests/e2e/test_resume.py: both instances use one data directory (local-disk audio)
and one external redis-server; the combined recording must equal the source's chunks
sample for sample, and the transcript must equal an uninterrupted run's."""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from devtools.devserver import ServerProcess
from tests.conftest import open_recording

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import decode_wav
from drtranscribe.client import ClientEvent
from drtranscribe.state.embedded import EmbeddedRedis
from verify_checks.common import (
    CheckResult,
    final_message,
    image_env,
    log_records,
    received,
    serving,
    speech_fixture,
    stream,
)

NAME = "(c) SIGKILL mid-session, resume on 2nd instance"
FIXTURE = "consult_long"
CHUNK_SECONDS = 5.0  # the reference client's default
KILL_AFTER_ACK = 2
DEATH_TIMEOUT_S = 30.0
_CHUNK_FILE = re.compile(r"chunk_(\d+)\.wav")


@dataclass
class Killer:
    """``on_event``: SIGKILL the first instance as soon as it acks chunk ``after_seq``."""

    server: ServerProcess
    after_seq: int
    killed_after: int | None = None

    def __call__(self, event: ClientEvent) -> None:
        message = event.message
        if self.killed_after is not None or event.direction != "in":
            return
        if message.get("type") == "ack" and int(message["seq"]) >= self.after_seq:
            self.server.proc.kill()
            self.killed_after = int(message["seq"])


async def run(workdir: Path, baseline: dict[str, Any] | None) -> CheckResult:
    fixture = speech_fixture(FIXTURE)
    redis = EmbeddedRedis(workdir / "redis")
    await redis.start()
    try:
        shared = workdir / "shared"
        env = image_env(shared) | {"DRT_REDIS_URL": redis.url}
        async with (
            serving(shared, env, environment=None) as first,
            serving(shared, env, environment=None) as second,
        ):
            killer = Killer(first, KILL_AFTER_ACK)
            events = await stream([first.ws_url, second.ws_url], fixture.path, on_event=killer)
            exit_code = await asyncio.to_thread(first.proc.wait, DEATH_TIMEOUT_S)
    finally:
        await redis.stop()
    recovered = sum(r.get("event") == "session.chunk_recovered" for r in log_records(second.lines))
    return _judge(events, killer, exit_code, fixture.path, baseline, recovered)


def _judge(
    events: list[ClientEvent],
    killer: Killer,
    exit_code: int,
    source: Path,
    baseline: dict[str, Any] | None,
    recovered: int,
) -> CheckResult:
    chunks = list(split_chunks(load_audio_file(source), CHUNK_SECONDS))
    final = final_message(events)
    problems: list[str] = []
    if killer.killed_after is None or exit_code != -signal.SIGKILL:
        problems.append(f"instance 1 was not SIGKILLed mid-session (exit {exit_code})")
    resumed_at, resume_problems = _resumption(events)
    problems += resume_problems
    problems += _acks(events, len(chunks), resumed_at)
    problems += _stored(final, chunks)
    problems += _coverage(final["transcript"], len(chunks), final["audio"]["duration_s"])
    same = None if baseline is None else _transcript(final) == _transcript(baseline)
    if same is False:
        problems.append("the transcript differs from the uninterrupted run of (b)")
    detail = (
        f"killed instance 1 (exit {exit_code}) after ack {killer.killed_after}; "
        f"resumed on instance 2 at next_seq {resumed_at} ({recovered} acked, "
        "untranscribed chunks recovered from storage); final received"
    )
    if problems:
        return CheckResult(NAME, False, detail, tuple(problems))
    compared = "== (b)'s uninterrupted run" if same else "(no (b) run to compare)"
    return CheckResult(
        NAME,
        True,
        detail,
        (
            f"{len(chunks)} chunks, each acked once or stored before the kill; "
            f"recording {final['audio']['duration_s']:.3f} s == source, sample for sample",
            f"{len(final['transcript'])} final segments cover chunks 0..{len(chunks) - 1} "
            f"without gap or overlap; transcript {compared}",
        ),
    )


def _resumption(events: list[ClientEvent]) -> tuple[int | None, list[str]]:
    sessions = received(events, "session")
    problems = []
    if not any(e.direction == "reconnect" for e in events):
        problems.append("the client never reconnected")
    if len({s["session_id"] for s in sessions}) != 1:
        problems.append("the session id changed")
    if not sessions or sessions[-1].get("resumed") is not True:
        problems.append("the last connection did not resume the session")
        return None, problems
    return int(sessions[-1]["next_seq"]), problems


def _acks(events: list[ClientEvent], chunks: int, resumed_at: int | None) -> list[str]:
    """Each seq acked at most once; every seq acked, or stored before the resume (its
    ack lost with the instance); every ack of the dead instance below the resume point."""
    counts = Counter(int(m["seq"]) for m in received(events, "ack"))
    problems = [f"chunk {seq} acked {n} times" for seq, n in sorted(counts.items()) if n > 1]
    stored_before = set(range(resumed_at or 0))
    missing = set(range(chunks)) - set(counts) - stored_before
    if missing:
        problems.append(f"chunks never acked nor stored: {sorted(missing)}")
    first_connection = _before_first_reconnect(events)
    lost = [s for s in first_connection if resumed_at is not None and s >= resumed_at]
    if lost:
        problems.append(f"acked by the dead instance but not stored: {lost}")
    return problems


def _before_first_reconnect(events: list[ClientEvent]) -> list[int]:
    seqs: list[int] = []
    for event in events:
        if event.direction == "reconnect":
            break
        if event.direction == "in" and event.message.get("type") == "ack":
            seqs.append(int(event.message["seq"]))
    return seqs


def _stored(final: dict[str, Any], chunks: list[Any]) -> list[str]:
    """The chunk files are seq 0..N-1, and the combined recording is the source's chunks,
    each exactly once, in order."""
    recording = Path(urlparse(final["audio"]["uri"]).path)
    audio_root = recording.parent.parent  # {root}/{date}/{session_id}_final.wav
    names = (audio_root / final["session_id"]).iterdir()
    stored = sorted(int(m.group(1)) for p in names if (m := _CHUNK_FILE.fullmatch(p.name)))
    problems = []
    if stored != list(range(len(chunks))):
        problems.append(f"stored chunk files {stored}, expected 0..{len(chunks) - 1}")
    # Stored sealed: opened with the session's data key, as the server would.
    combined = decode_wav(open_recording(audio_root.parent, final["audio"]["uri"])).samples
    expected = np.concatenate([c.samples for c in chunks])
    if combined.shape != expected.shape or not np.array_equal(combined, expected):
        problems.append(
            f"the recording ({combined.shape[0]} frames) is not the source's chunks "
            f"({expected.shape[0]} frames) once each"
        )
    return problems


def _coverage(segments: list[dict[str, Any]], chunks: int, duration_s: float) -> list[str]:
    """Final segments cover chunks 0..N-1 and 0..duration seconds, without gap or overlap."""
    problems = []
    next_seq, next_start = 0, 0.0
    for seg in sorted(segments, key=lambda s: int(s["first_chunk_seq"])):
        if not seg["final"]:
            problems.append(f"segment {seg['id']} is not final")
        if int(seg["first_chunk_seq"]) != next_seq or abs(float(seg["start"]) - next_start) > 1e-3:
            problems.append(
                f"segment {seg['id']} starts at chunk {seg['first_chunk_seq']} / "
                f"{seg['start']} s, expected chunk {next_seq} / {next_start:.3f} s"
            )
        next_seq, next_start = int(seg["chunk_seq"]) + 1, float(seg["end"])
    if next_seq != chunks or abs(next_start - duration_s) > 1e-3:
        problems.append(f"the transcript ends at chunk {next_seq - 1} / {next_start} s")
    return problems


def _transcript(final: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(s["id"], s["text"], s["start"], s["end"]) for s in final["transcript"]]
