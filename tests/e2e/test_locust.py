"""The load test users (locustfile.py) against a real server: a short headless run of
both kinds of visit must stream, be acked, get transcripts and finish without failures
(the capacity figures themselves come from bench/load.py)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_audio_and_captions_visits_run_without_failures(
    server: ServerProcess, tmp_path: Path
) -> None:
    prefix = tmp_path / "run"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless"]
    command += ["-u", "2", "-r", "2", "-t", "12s", "--stop-timeout", "60"]
    command += ["--host", server.http_url, "--csv", str(prefix), "--only-summary"]
    command += ["--drt-chunks", "2", "--drt-turns", "2", "AudioVisit", "CaptionsVisit"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    assert int(stats["visit"]["Request Count"]) >= 2
    assert int(stats["Aggregated"]["Failure Count"]) == 0, done.stderr[-2000:]
    assert int(stats["ack"]["Request Count"]) >= 4
    assert int(stats["first transcript"]["Request Count"]) >= 1
    assert int(stats["final"]["Request Count"]) >= 2
