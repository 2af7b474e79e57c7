"""Run ``drtranscribe serve`` as a child process on a free port: for tests and benchmarks.

The child's log lines are collected as they arrive; :func:`start` returns once the server
says where it listens (no sleeping, no polling).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    redis_url: str | None = None  # set by serving(): its own embedded Redis
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_line(self, text: str, *, after: int = 0, timeout_s: float = 30) -> str:
        """The first log line from index ``after`` on that contains ``text``, waiting for
        the child to write it (woken by each new line; TimeoutError past ``timeout_s``)."""
        found = self.wait_until(
            lambda lines: next((ln for ln in lines[after:] if text in ln), None), timeout_s
        )
        if found is None:
            raise TimeoutError(f"no log line with {text!r} within {timeout_s} s")
        return found

    def wait_until(self, check: Callable[[list[str]], T | None], timeout_s: float) -> T | None:
        """``check(lines)`` once it is not None, re-checked as each log line arrives (no
        polling); None past ``timeout_s``."""
        with self._arrived:
            return self._arrived.wait_for(lambda: check(self.lines), timeout=timeout_s)

    def _add_line(self, line: str) -> None:
        with self._arrived:
            self.lines.append(line)
            self._arrived.notify_all()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 20) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.reader is not None:
            self.reader.join(timeout=10)  # ends at EOF of the child's output
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start(
    data_dir: Path, env: dict[str, str], *, environment: str | None = "test"
) -> ServerProcess:
    """Start a server with ``env`` over a clean environment (no inherited DRT_* settings,
    no provider keys), JSON logs, and no settings file unless ``env`` names one.
    ``environment=None`` leaves ``DRT_ENVIRONMENT`` to ``env`` (unset: the default)."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not (k.endswith("_API_KEY") or k.startswith(("AZURE_OPENAI", "DRT_")) or k == "PORT")
    }
    full_env = {
        **inherited,
        "DRT_DATA_DIR": str(data_dir),
        "DRT_LOG_FORMAT": "json",
        "DRT_SETTINGS_FILE": str(data_dir / "no-settings.yaml"),
        **({"DRT_ENVIRONMENT": environment} if environment is not None else {}),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "drtranscribe.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    port: int | None = None
    for line in proc.stdout:  # blocks until the server says where it listens (or dies)
        lines.append(line)
        if match := _LISTENING.search(line):
            port = int(match.group(1))
            break
    if port is None:
        proc.wait(timeout=10)
        proc.stdout.close()
        raise RuntimeError(
            f"server did not start (exit status {proc.returncode}):\n" + "".join(lines)
        )
    server = ServerProcess(proc=proc, port=port, data_dir=data_dir, lines=lines)

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server._add_line(line)

    server.reader = threading.Thread(target=drain, daemon=True)
    server.reader.start()
    return server


@contextlib.asynccontextmanager
async def serving(prefix: str, env: dict[str, str] | None = None) -> AsyncIterator[ServerProcess]:
    """A server on its own embedded Redis and data directory, for a benchmark: started,
    yielded, stopped (the Redis too)."""
    from drtranscribe.state.embedded import EmbeddedRedis

    tmp = Path(tempfile.mkdtemp(prefix=f"drt-bench-{prefix}-"))
    redis = EmbeddedRedis(tmp / "redis")
    await redis.start()
    try:
        server = start(tmp / "server", {"DRT_REDIS_URL": redis.url, **(env or {})})
        server.redis_url = redis.url
        try:
            yield server
        finally:
            server.stop()
    finally:
        await redis.stop()
