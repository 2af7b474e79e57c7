"""Capacity of one service process: N clinicians streaming real-time consultations.

One ``drtranscribe serve`` process in its cloud configuration: speech-to-text from an
OpenAI-compatible provider (the test suite's fake provider server, answering each request
after ``--delay`` seconds, called through the official SDK), the local extractor, its own
embedded Redis and local disk. Locust (``locustfile.py``, ``AudioVisit``) runs N users,
each streaming 5 s chunks of real speech in real time. Per N, side by side in one run:

* ack p50/p99: chunk sent -> acked (storage and the service's own work);
* overhead p99: chunk sent -> its first transcript event, minus the provider's delay;
* loop-thread CPU: the event loop's thread, share of one core over the run;
* stalls: the longest event-loop stall (``drt_event_loop_lag_max_seconds``) and the
  share of 50 ms wake-ups late by more than 20 ms;
* Redis commands per chunk (``INFO stats``), RSS at the end, failed visits.

    .venv/bin/python bench/load.py --users 50 100 200 --seconds 120
    .venv/bin/python bench/load.py --users 100 --gc-freeze both   # start-up objects frozen or not
    make load                                                     # the defaults
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from devtools import devserver  # noqa: E402

CHUNK_S = 5


def _proc_cpu_s(pid: int, tid: int | None = None) -> float:
    """CPU seconds (user + system) of a process, or of one of its threads."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _redis_commands(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def run_one(users: int, seconds: int, fake: FakeProvider, freeze: bool) -> dict[str, Any]:
    env = {
        "DRT_STT_CHAIN": json.dumps(["openai"]),
        "DRT_PROVIDERS__OPENAI__API_KEY": fake.api_key,
        "DRT_PROVIDERS__OPENAI__BASE_URL": fake.url + "/v1",
        "DRT_EXTRACTION_CHAIN": json.dumps(["local"]),
        "DRT_GC_FREEZE": "true" if freeze else "false",
    }

    async def measured() -> dict[str, Any]:
        async with devserver.serving("load", env) as server:
            pid = server.proc.pid
            assert server.redis_url is not None
            commands0, cpu0, loop0 = (
                _redis_commands(server.redis_url),
                _proc_cpu_s(pid),
                _proc_cpu_s(pid, pid),
            )
            began = time.perf_counter()
            prefix = Path(tempfile.mkdtemp(prefix="drt-load-")) / "locust"
            spawn_rate = max(1, users // 10)
            command = [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "locustfile.py")]
            command += ["--headless", "-u", str(users), "-r", str(spawn_rate)]
            # stop spawning visits before the first ones end: each user streams one visit,
            # which is let finish (--stop-timeout)
            command += ["-t", f"{int(seconds * 0.9)}s", "--stop-timeout", str(seconds + 120)]
            command += ["--host", server.http_url, "--csv", str(prefix), "--only-summary"]
            command += ["--drt-chunks", str(seconds // CHUNK_S), "--loglevel", "WARNING"]
            command += ["AudioVisit"]
            await asyncio.to_thread(
                subprocess.run, command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL
            )
            wall = time.perf_counter() - began
            response = await asyncio.to_thread(httpx.get, server.http_url + "/metrics")
            metrics = response.text
            stats = _stats(prefix)
            acks = int(stats["ack"]["Request Count"])
            lag_count = _metric(metrics, "drt_event_loop_lag_seconds_count")
            lag_under_20ms = _metric(metrics, 'drt_event_loop_lag_seconds_bucket{le="0.02"}')
            first = stats.get("first transcript", {})
            return {
                "users": users,
                "gc_freeze": freeze,
                "chunks_acked": acks,
                "ack_p50_ms": float(stats["ack"]["50%"]),
                "ack_p99_ms": float(stats["ack"]["99%"]),
                "overhead_p99_ms": float(first.get("99%", "nan")) - fake.delay_s * 1000,
                "first_transcript_p50_ms": float(first.get("50%", "nan")),
                "visits_failed": int(stats.get("visit", {}).get("Failure Count", 0)),
                "visits": int(stats.get("visit", {}).get("Request Count", 0)),
                "cpu_process_pct": round(100 * (_proc_cpu_s(pid) - cpu0) / wall, 1),
                "cpu_loop_thread_pct": round(100 * (_proc_cpu_s(pid, pid) - loop0) / wall, 1),
                "loop_stall_max_ms": round(
                    1000 * _metric(metrics, "drt_event_loop_lag_max_seconds"), 1
                ),
                "loop_wakeups_late_20ms_pct": round(100 * (1 - lag_under_20ms / lag_count), 2)
                if lag_count
                else None,
                "redis_commands_per_chunk": round(
                    (_redis_commands(server.redis_url) - commands0) / max(1, acks), 1
                ),
                "rss_mb": round(_rss_mb(pid), 1),
            }

    return asyncio.run(measured())


FAKE = """
import sys, threading
sys.path.insert(0, {root!r})
from tests.fakes.provider_server import FakeProviderServer, Ok
fake = FakeProviderServer(default=Ok(delay_s={delay}), keep_requests=False)
fake.start()
print(fake.url, fake.api_key, flush=True)
threading.Event().wait()
"""


class FakeProvider:
    """The fake provider server in a process of its own: its work (multipart parsing of
    every chunk) must not share this process's interpreter lock with the log reader, nor
    be counted as the service's."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        script = FAKE.format(root=str(ROOT), delay=delay_s)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url, self.api_key = self.proc.stdout.readline().split()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--seconds", type=int, default=120, help="each visit's length")
    parser.add_argument("--delay", type=float, default=0.3, help="the provider's answer time")
    parser.add_argument("--gc-freeze", choices=["on", "off", "both"], default="on")
    args = parser.parse_args()
    fake = FakeProvider(args.delay)
    rows = []
    try:
        freezes = {"on": [True], "off": [False], "both": [False, True]}[args.gc_freeze]
        for users in args.users:
            for freeze in freezes:
                row = run_one(users, args.seconds, fake, freeze)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        fake.stop()
    out = BENCH / "results" / f"load-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    print(
        "\n| N | gc.freeze | ack p50 / p99 | overhead p99 | loop thread CPU | longest stall "
        "| Redis cmds/chunk | RSS | visits failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['users']} | {'on' if r['gc_freeze'] else 'off'} | {r['ack_p50_ms']:.0f} / "
            f"{r['ack_p99_ms']:.0f} ms | {r['overhead_p99_ms']:.0f} ms | "
            f"{r['cpu_loop_thread_pct']} % | {r['loop_stall_max_ms']} ms | "
            f"{r['redis_commands_per_chunk']} | {r['rss_mb']} MB | "
            f"{r['visits_failed']}/{r['visits']} |"
        )


if __name__ == "__main__":
    main()
