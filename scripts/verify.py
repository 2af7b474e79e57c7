#!/usr/bin/env python3
"""``make verify``: the service's verification list, run against real processes.

(a) the Dockerfile's runtime environment starts the service and /health answers;
(b) a whole consultation from a committed fixture;
(c) an instance SIGKILLed mid-session, the session resumed on a second one from Redis;
(d) the primary speech-to-text provider down: the fallback answers, at little cost;
(e) the logs of (b) and (d): every session line names its session, no patient content.

Prints a table and exits non-zero if any check fails. Run from anywhere:

    .venv/bin/python scripts/verify.py
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import structlog

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.fakes, tests.conftest

from verify_checks import failover, image, logs, resume  # noqa: E402
from verify_checks.common import CheckResult, ServedSession, failed  # noqa: E402

NAME_WIDTH = 50
RESULT_WIDTH = 7


def progress(message: str) -> None:
    print(f"verify: {message}", file=sys.stderr, flush=True)


async def run_checks(workdir: Path) -> list[CheckResult]:
    progress("(a)+(b) the service with the Dockerfile's ENV, then a consultation ...")
    outcome = await image.run(workdir)
    results = [outcome.health, outcome.consultation]
    sessions: list[ServedSession] = [outcome.session] if outcome.session else []

    progress("(c) two instances on one Redis; SIGKILL the first mid-session ...")
    try:
        results.append(await resume.run(workdir / "resume", outcome.final))
    except Exception as exc:
        results.append(failed(resume.NAME, exc))

    progress("(d) dead primary vs baseline, sessions alternating ...")
    try:
        dead_primary = await failover.run(workdir / "failover")
        results.append(dead_primary.result)
        sessions += dead_primary.sessions
    except Exception as exc:
        results.append(failed(failover.NAME, exc))

    progress("(e) the logs of (b) and (d) ...")
    try:
        results.append(logs.check(sessions, expected=1 + 2 * failover.ROUNDS))
    except Exception as exc:
        results.append(failed(logs.NAME, exc))
    return results


def render(results: Sequence[CheckResult]) -> str:
    indent = " " * (NAME_WIDTH + RESULT_WIDTH + 2)
    lines = [f"{'check':<{NAME_WIDTH}} {'result':<{RESULT_WIDTH}} detail"]
    for result in results:
        verdict = "PASS" if result.passed else "FAIL"
        lines.append(f"{result.name:<{NAME_WIDTH}} {verdict:<{RESULT_WIDTH}} {result.detail}")
        lines += [indent + more for more in result.more]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)


def main() -> int:
    began = time.monotonic()
    # This process's own log lines (the Redis of (c)) would clutter the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="drt-verify-") as workdir:
        results = asyncio.run(run_checks(Path(workdir)))
    print(render(results))
    progress(f"done in {time.monotonic() - began:.0f} s")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
