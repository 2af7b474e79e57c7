"""(d) The primary speech-to-text provider is down (its port refuses connections): every
chunk still gets its transcript from the fallback, and the added latency stays small.

Two servers side by side, sessions alternating between them: a baseline whose chain is
the fallback alone, and one whose chain is the dead primary (groq) then that same
fallback (openai). The fallback is the test suite's fake provider server, in this
process, spoken to through the real OpenAI SDK. Latency per chunk: from the client
sending it to the first transcript event covering it."""

from __future__ import annotations

import json
import socket
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from devtools.devserver import ServerProcess
from tests.conftest import SpeechFixture
from tests.fakes.provider_server import FakeProviderServer

from drtranscribe.client import ClientEvent
from verify_checks.common import (
    CheckResult,
    ServedSession,
    final_message,
    log_records,
    serving,
    session_content,
    speech_fixture,
    stream,
    wait_for_probes,
)

NAME = "(d) primary STT refused: fallback adds < 500 ms"
FIXTURE = "consult_long"
ROUNDS = 3  # sessions per server
LIMIT_MS = 500.0
SPOKEN = "I use insulin for diabetes, and aspirin daily."  # the fake's answer to every chunk


@dataclass
class Side:
    label: str
    server: ServerProcess
    latencies_ms: list[float] = field(default_factory=list)
    answered_by: Counter[str] = field(default_factory=Counter)
    untranscribed: int = 0
    sessions: list[ServedSession] = field(default_factory=list)


@dataclass(frozen=True)
class FailoverOutcome:
    result: CheckResult
    sessions: list[ServedSession]  # for (e)


async def run(workdir: Path) -> FailoverOutcome:
    fake = FakeProviderServer()
    fake.transcript = SPOKEN
    fake.start()
    refused = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    refused_url = f"http://127.0.0.1:{refused.getsockname()[1]}"
    fixture = speech_fixture(FIXTURE)
    try:
        async with (
            serving(workdir / "baseline", _env(fake, None)) as baseline_server,
            serving(workdir / "dead", _env(fake, refused_url)) as dead_server,
        ):
            baseline = Side("baseline", baseline_server)
            dead = Side("dead primary", dead_server)
            for side in (baseline, dead):
                await wait_for_probes(side.server)
            for round_ in range(ROUNDS):
                for side in (baseline, dead) if round_ % 2 == 0 else (dead, baseline):
                    await _session(side, fixture)
    finally:
        fake.stop()
        refused.close()
    return FailoverOutcome(_judge(baseline, dead), baseline.sessions + dead.sessions)


def _env(fake: FakeProviderServer, primary_url: str | None) -> dict[str, str]:
    """The fallback alone, or (``primary_url``) groq at that URL in front of it."""
    env = {
        "DRT_STT_CHAIN": json.dumps(["openai"] if primary_url is None else ["groq", "openai"]),
        "DRT_EXTRACTION_CHAIN": json.dumps(["local"]),
        "DRT_PROVIDERS__OPENAI__API_KEY": fake.api_key,
        "DRT_PROVIDERS__OPENAI__BASE_URL": str(fake.settings("openai").base_url),
    }
    if primary_url is not None:
        env |= {
            "DRT_PROVIDERS__GROQ__API_KEY": fake.api_key,
            "DRT_PROVIDERS__GROQ__BASE_URL": str(fake.settings("groq", url=primary_url).base_url),
        }
    return env


async def _session(side: Side, fixture: SpeechFixture) -> None:
    events = await stream(side.server.ws_url, fixture.path)
    final = final_message(events)
    sent, first = _chunk_times(events)
    for seq, sent_at in sorted(sent.items()):
        if seq not in first:
            side.untranscribed += 1
            continue
        answered_at, provider = first[seq]
        side.latencies_ms.append((answered_at - sent_at) * 1000)
        side.answered_by[provider] += 1
    side.sessions.append(
        ServedSession(
            label=f"(d) {side.label} #{len(side.sessions) + 1}",
            session_id=str(final["session_id"]),
            lines=side.server.lines,
            content=session_content(final, SPOKEN),
        )
    )


def _chunk_times(
    events: list[ClientEvent],
) -> tuple[dict[int, float], dict[int, tuple[float, str]]]:
    """Per chunk: when it was (last) sent, and when and from whom its first transcript came."""
    sent: dict[int, float] = {}
    first: dict[int, tuple[float, str]] = {}
    for event in events:
        message = event.message
        if event.direction == "out":
            sent[int(message["chunk"])] = event.t
        elif event.direction == "in" and message.get("type") == "transcript":
            segment = message["segment"]
            first.setdefault(int(segment["chunk_seq"]), (event.t, str(segment["provider"])))
    return sent, first


def _judge(baseline: Side, dead: Side) -> CheckResult:
    if not baseline.latencies_ms or not dead.latencies_ms:
        return CheckResult(NAME, False, "no chunk got a transcript on one of the servers")
    added_p50 = _p50(dead) - _p50(baseline)
    added_max = max(dead.latencies_ms) - max(baseline.latencies_ms)
    fallback_only = set(dead.answered_by) == {"openai"}
    passed = (
        baseline.untranscribed == dead.untranscribed == 0
        and len(dead.latencies_ms) == len(baseline.latencies_ms) > 0
        and fallback_only
        and added_p50 < LIMIT_MS
        and added_max < LIMIT_MS
    )
    asked = _primary_failures(dead.server.lines)
    return CheckResult(
        NAME,
        passed,
        f"{len(dead.latencies_ms)} chunks each side, {_untranscribed(baseline, dead)}; "
        f"added p50 {added_p50:+.0f} ms, max {added_max:+.0f} ms (limit {LIMIT_MS:.0f})",
        (
            f"baseline (openai alone): p50 {_p50(baseline):.0f} ms, "
            f"max {max(baseline.latencies_ms):.0f} ms",
            f"dead primary (groq refused, then openai): p50 {_p50(dead):.0f} ms, "
            f"max {max(dead.latencies_ms):.0f} ms; answered by {_counts(dead.answered_by)}",
            f"groq was tried and refused {asked} times in sessions (then its breaker opened)",
        ),
    )


def _untranscribed(baseline: Side, dead: Side) -> str:
    if baseline.untranscribed == dead.untranscribed == 0:
        return "every chunk transcribed"
    return f"untranscribed: baseline {baseline.untranscribed}, dead primary {dead.untranscribed}"


def _p50(side: Side) -> float:
    return statistics.median(side.latencies_ms)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in counter.most_common())


def _primary_failures(lines: list[str]) -> int:
    return sum(
        1
        for record in log_records(lines)
        if record is not None
        and record.get("event") == "chain.provider_failed"
        and record.get("provider") == "groq"
    )
