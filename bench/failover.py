"""Failover benchmark: latency a failing primary adds to a chunk before the fallback answers.

A real :class:`~drtranscribe.resilience.chain.FallbackChain` (``runtime.build_chain``,
the production STT chain policy from ``ResilienceSettings`` defaults) of two real
providers, ``GroqSTT`` (primary) then ``OpenAISTT`` (fallback), talking through the
``openai`` SDK to the fake provider server of the test suite
(``tests/fakes/provider_server.py``), started in this process. Provider timeouts are the
production default (``ProviderSettings().timeout_s``). Every call transcribes 5 s of a
synthetic 440 Hz tone (never patient audio).

Scenarios, each with its own chain (own breakers), run *interleaved* (every iteration
calls each scenario once, in a shuffled order) so machine noise hits them alike:

* ``baseline``  the fallback alone (a one-provider chain): the reference latency;
* ``healthy``   the primary answers (sanity check: the primary wins, no added latency);
* ``refused``   the primary's URL is a bound port that never listens (ECONNREFUSED);
* ``5xx``       the primary answers ``503`` to every request;
* ``hang@H``    the primary never answers; hedging after ``H`` s asks the fallback too.

Added latency = scenario percentile − baseline percentile (p50 and p99), and paired: a
call's latency − the baseline call's of the same iteration. Each call is classed by the
primary's breaker just before it: ``closed`` (primary asked), ``open`` (primary skipped)
or ``trial`` (cool-down over: one half-open trial asks the primary again).

Note: a hedged call that the fallback wins *cancels* the primary, and the chain releases
a cancelled call's breaker permit without counting a failure; so a hanging primary never
opens its breaker and every chunk pays ``hedge_after_s`` (the table's "primary asked").

A second, shorter phase runs ``hang`` with the production ``hedge_after_s`` (4 s for
STT), interleaved with its own baseline.

Writes ``bench/results/failover-<time>.json`` and prints markdown tables.

    .venv/bin/python bench/failover.py                       # 200 calls, ~3 min
    .venv/bin/python bench/failover.py --calls 50 --hedges 0.25 --default-hedge-calls 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import structlog

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.provider_server import FakeProviderServer, Hang, Status  # noqa: E402

from drtranscribe.config import ChainSettings, ProviderSettings, ResilienceSettings  # noqa: E402
from drtranscribe.resilience.breaker import BreakerState  # noqa: E402
from drtranscribe.resilience.chain import FallbackChain  # noqa: E402
from drtranscribe.runtime import build_chain  # noqa: E402
from drtranscribe.transcription.base import (  # noqa: E402
    Priority,
    SpeechToText,
    TranscriptionRequest,
    probe_audio,
)
from drtranscribe.vendors.openai.stt import GroqSTT, OpenAISTT  # noqa: E402

AUDIO_SECONDS = 5.0
PRIMARY = "groq"
TARGETS_MS = {"refused": 100.0, "5xx": 100.0, "hang": 500.0}


# ---------------------------------------------------------------------------- setup


@contextmanager
def refused_url() -> Iterator[str]:
    """A port bound but never listening: connecting is refused at once (as the fixture)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@dataclass
class Scenario:
    name: str
    kind: str  # baseline | healthy | refused | 5xx | hang
    chain: FallbackChain[SpeechToText]
    hedge_after_s: float | None
    latencies_ms: list[float] = field(default_factory=list)
    regimes: list[str] = field(default_factory=list)  # breaker state of the primary
    winners: list[str] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    errors: int = 0

    @property
    def primary_breaker(self) -> Any:
        return self.chain.breakers.get(PRIMARY)

    def regime(self) -> str:
        breaker = self.primary_breaker
        if breaker is None:
            return "none"
        if breaker.state is BreakerState.CLOSED:
            return "closed"
        return "trial" if breaker.available else "open"

    async def call(self, request: TranscriptionRequest) -> None:
        regime = self.regime()

        async def transcribe(provider: SpeechToText) -> Any:
            return await provider.transcribe(request)

        started = time.perf_counter()
        try:
            result = await self.chain.call_detailed(transcribe)
            winner, attempts = result.provider, result.attempts
        except Exception:
            self.errors += 1
            winner, attempts = "FAILED", 0
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.regimes.append(regime)
        self.winners.append(winner)
        self.attempts.append(attempts)


def provider_settings(fake: FakeProviderServer, provider: str, url: str | None) -> ProviderSettings:
    # The fake's helper sets a 5 s timeout for tests; keep the production default.
    return fake.settings(provider, url=url, timeout_s=ProviderSettings().timeout_s)


def make_chain(
    policy: ChainSettings,
    fallback_fake: FakeProviderServer,
    primary_fake: FakeProviderServer | None,
    primary_url: str | None = None,
) -> FallbackChain[SpeechToText]:
    providers: list[SpeechToText] = []
    if primary_fake is not None:
        providers.append(GroqSTT(provider_settings(primary_fake, "groq", primary_url)))
    providers.append(OpenAISTT(provider_settings(fallback_fake, "openai", None)))
    return build_chain(providers, "stt", policy)


async def close_chain(chain: FallbackChain[SpeechToText]) -> None:
    for provider in chain.providers:
        await provider.aclose()


# ---------------------------------------------------------------------------- stats


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p99_ms": pct(values, 99)}


def added(values: list[float], baseline: list[float]) -> dict[str, Any]:
    s, b = summary(values), summary(baseline)
    out = dict(s)
    for key in ("p50_ms", "p99_ms"):
        if s[key] is not None and b[key] is not None:
            out["added_" + key] = round(s[key] - b[key], 2)
        else:
            out["added_" + key] = None
    return out


def paired_stats(diffs: list[float]) -> dict[str, Any]:
    return {
        "n": len(diffs),
        "p50_ms": pct(diffs, 50),
        "p99_ms": pct(diffs, 99),
        "max_ms": round(max(diffs), 2) if diffs else None,
    }


def scenario_stats(sc: Scenario, baseline: Scenario) -> dict[str, Any]:
    # Every iteration calls every scenario once, so index i pairs a call with the
    # baseline call of the same iteration.
    paired = [a - b for a, b in zip(sc.latencies_ms, baseline.latencies_ms, strict=True)]
    by_regime = {
        regime: paired_stats([d for d, r in zip(paired, sc.regimes, strict=True) if r == regime])
        for regime in ("closed", "open", "trial")
        if regime in sc.regimes
    }
    return {
        "scenario": sc.name,
        "kind": sc.kind,
        "hedge_after_s": sc.hedge_after_s,
        **added(sc.latencies_ms, baseline.latencies_ms),
        "paired_added_p50_ms": pct(paired, 50),
        "paired_added_p99_ms": pct(paired, 99),
        "paired_first3": paired_stats(paired[:3]),
        "paired_rest": paired_stats(paired[3:]),
        "paired_by_breaker_regime": by_regime,
        "winners": {w: sc.winners.count(w) for w in sorted(set(sc.winners))},
        "max_attempts": max(sc.attempts, default=0),
        "errors": sc.errors,
        "breaker_final_state": (
            sc.primary_breaker.state.value if sc.primary_breaker is not None else None
        ),
        "latencies_ms": [round(v, 2) for v in sc.latencies_ms],
        "regimes": sc.regimes,
    }


# ---------------------------------------------------------------------------- run


async def run_interleaved(
    scenarios: list[Scenario], calls: int, request: TranscriptionRequest, seed: int
) -> float:
    rng = random.Random(seed)
    started = time.monotonic()
    for i in range(calls):
        order = list(scenarios)
        rng.shuffle(order)
        for sc in order:
            await sc.call(request)
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{calls} iterations, {time.monotonic() - started:.0f} s", flush=True)
    return time.monotonic() - started


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    policy = ResilienceSettings().stt
    hedges = [float(h) for h in args.hedges.split(",") if h.strip()]
    request = TranscriptionRequest(audio=probe_audio(AUDIO_SECONDS), priority=Priority.INTERIM)
    script_len = 20 * args.calls + 100

    ok, fivexx, hang = FakeProviderServer(), FakeProviderServer(), FakeProviderServer()
    for fake in (ok, fivexx, hang):
        fake.start()
    fivexx.script("groq.stt", *[Status(503)] * script_len)
    hang.script("groq.stt", *[Hang()] * script_len)
    await asyncio.sleep(0.5)  # let the uvicorn threads start serving

    def hang_policy(h: float) -> ChainSettings:
        return policy.model_copy(update={"hedge_after_s": h})

    result: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "calls": args.calls,
        "audio_s": AUDIO_SECONDS,
        "seed": args.seed,
        "policy": policy.model_dump(),
        "provider_timeout_s": ProviderSettings().timeout_s,
        "chain": ["groq (GroqSTT)", "openai (OpenAISTT)"],
    }
    try:
        with refused_url() as refused:
            # Warm-up (SDK resources, first connections) on a throwaway chain.
            warm = make_chain(policy, ok, ok)
            for _ in range(5):
                await warm.call(lambda p: p.transcribe(request))
            await close_chain(warm)

            main = [
                Scenario(
                    "baseline (fallback alone)", "baseline", make_chain(policy, ok, None), None
                ),
                Scenario(
                    "healthy primary", "healthy", make_chain(policy, ok, ok), policy.hedge_after_s
                ),
                Scenario(
                    "primary refused",
                    "refused",
                    make_chain(policy, ok, ok, primary_url=refused),
                    policy.hedge_after_s,
                ),
                Scenario(
                    "primary 5xx (503)",
                    "5xx",
                    make_chain(policy, fivexx, fivexx),
                    policy.hedge_after_s,
                ),
            ]
            for h in hedges:
                main.append(
                    Scenario(
                        f"primary hangs, hedge {h:g} s",
                        "hang",
                        make_chain(hang_policy(h), hang, hang),
                        h,
                    )
                )
            print(f"phase 1: {len(main)} scenarios x {args.calls} calls, interleaved", flush=True)
            wall = await run_interleaved(main, args.calls, request, args.seed)
            result["phase1_wall_s"] = round(wall, 1)
            result["phase1"] = [scenario_stats(sc, main[0]) for sc in main]

            default_h = policy.hedge_after_s
            phase2: list[Scenario] = []
            if args.default_hedge_calls > 0 and default_h is not None:
                phase2 = [
                    Scenario(
                        "baseline (fallback alone)", "baseline", make_chain(policy, ok, None), None
                    ),
                    Scenario(
                        f"primary hangs, hedge {default_h:g} s (default)",
                        "hang",
                        make_chain(policy, hang, hang),
                        default_h,
                    ),
                ]
                print(f"phase 2: hang with the default hedge_after_s={default_h:g} s", flush=True)
                wall = await run_interleaved(phase2, args.default_hedge_calls, request, args.seed)
                result["phase2_wall_s"] = round(wall, 1)
                result["phase2"] = [scenario_stats(sc, phase2[0]) for sc in phase2]
            for sc in main + phase2:
                await close_chain(sc.chain)
    finally:
        for fake in (ok, fivexx, hang):
            fake.stop()
    return result


# ---------------------------------------------------------------------------- report


def fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def target_for(row: dict[str, Any]) -> str:
    target = TARGETS_MS.get(row["kind"])
    if target is None:
        return ""
    ok = row["added_p99_ms"] is not None and row["added_p99_ms"] <= target
    return f"≤ {target:g}: {'met' if ok else 'NOT met'}"


def markdown(result: dict[str, Any]) -> str:
    rows = result["phase1"] + result.get("phase2", [])
    lines = [
        "| scenario | calls | p50 ms | p99 ms | added p50 ms | added p99 ms | paired added p99 ms "
        "| primary asked | winner | target (added p99) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        asked = sum(1 for g in r["regimes"] if g in ("closed", "trial"))
        asked_s = "–" if r["kind"] == "baseline" else str(asked)
        winners = ", ".join(f"{k} {v}" for k, v in r["winners"].items())
        lines.append(
            f"| {r['scenario']} | {r['n']} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | "
            f"{fmt(r['added_p50_ms'])} | {fmt(r['added_p99_ms'])} | "
            f"{fmt(r['paired_added_p99_ms'])} | {asked_s} | {winners} | "
            f"{target_for(r)} |"
        )
    lines += [
        "",
        "By the primary's breaker just before the call; added = this call − the baseline call "
        "of the same iteration (paired):",
        "",
        "| scenario | calls | regime | n | added p50 ms | added p99 ms | added max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {
        "closed": "breaker closed (primary asked)",
        "open": "breaker open (primary skipped)",
        "trial": "half-open trial (primary asked)",
    }
    for r in rows:
        if r["kind"] in ("baseline", "healthy"):
            continue
        parts = [("first 3", "all", r["paired_first3"]), ("4+", "all", r["paired_rest"])]
        parts += [("all", names[k], v) for k, v in r["paired_by_breaker_regime"].items()]
        for calls, label, s in parts:
            if not s["n"]:
                continue
            lines.append(
                f"| {r['scenario']} | {calls} | {label} | {s['n']} | {fmt(s['p50_ms'])} | "
                f"{fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=200, help="calls per scenario (phase 1)")
    p.add_argument(
        "--hedges",
        default="0.25,0.4",
        help="hedge_after_s values for the hang scenario in phase 1 (comma-separated)",
    )
    p.add_argument(
        "--default-hedge-calls",
        type=int,
        default=10,
        help="calls of the hang scenario with the production hedge_after_s (phase 2; 0: skip)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="result JSON (default: bench/results/...)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(bench(args))
    table = markdown(result)
    result["table"] = table
    out = args.out or BENCH / "results" / (
        f"failover-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
