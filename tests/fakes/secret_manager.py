"""A small real gRPC server speaking Secret Manager's ``AccessSecretVersion``.

``grpc.server`` (its own thread pool) on ``127.0.0.1`` and a port chosen by the kernel,
with one generic handler for ``google.cloud.secretmanager.v1.SecretManagerService``: the
request and response are the library's own proto-plus messages, (de)serialised by their
``serialize``/``deserialize``, so no generated code is needed. Other methods answer
``UNIMPLEMENTED`` (gRPC's default for an unknown method).

Behaviour, per request name ``projects/{project}/secrets/{secret}/versions/{version}``:

* ``set(secret, value)`` adds a version (1, 2, ...); ``latest`` is the last one and a
  number picks that version; the response carries ``data_crc32c`` like the real service;
* an unknown project, secret or version: ``NOT_FOUND``;
* ``deny(secret)``: ``PERMISSION_DENIED`` (even when the secret has a value);
* ``fail_next(secret, code, times)``: the next ``times`` reads of it fail with ``code``;
* ``corrupt(secret)``: the checksum sent does not match the data;
* every request is recorded in ``calls`` (secret, version, metadata) before it is answered.

Fixture: ``secret_manager`` (function scope, a fresh server per test) → :class:`FakeSecretManager`.
Load it with ``pytest_plugins = ["tests.fakes.secret_manager"]``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, NoReturn

import google_crc32c
import grpc  # type: ignore[import-untyped]
import pytest
from google.cloud.secretmanager_v1.types import resources, service

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
_VERSION_NAME = re.compile(
    r"projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/]+)/versions/(?P<version>[^/]+)"
)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable: abort raises")


@dataclass(frozen=True)
class Call:
    secret: str
    version: str
    metadata: dict[str, str]


@dataclass
class FakeSecretManager:
    project: str = "test-project"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    _versions: dict[str, list[bytes]] = field(default_factory=dict)
    _denied: set[str] = field(default_factory=set)
    _corrupt: set[str] = field(default_factory=set)
    _faults: dict[str, list[grpc.StatusCode]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- scripting -------------------------------------------------------------------
    def set(self, secret: str, value: str | bytes) -> int:
        """Add a version; returns its number."""
        data = value.encode() if isinstance(value, str) else value
        with self._lock:
            versions = self._versions.setdefault(secret, [])
            versions.append(data)
            return len(versions)

    def delete(self, secret: str) -> None:
        with self._lock:
            self._versions.pop(secret, None)

    def deny(self, secret: str, denied: bool = True) -> None:
        with self._lock:
            (self._denied.add if denied else self._denied.discard)(secret)

    def corrupt(self, secret: str) -> None:
        with self._lock:
            self._corrupt.add(secret)

    def fail_next(self, secret: str, code: grpc.StatusCode, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(secret, []).extend([code] * times)

    def count(self, secret: str | None = None) -> int:
        """Requests received (for ``secret``, or all)."""
        with self._lock:
            return sum(1 for c in self.calls if secret is None or c.secret == secret)

    # --- the RPC ---------------------------------------------------------------------
    def access_secret_version(
        self, request: service.AccessSecretVersionRequest, context: grpc.ServicerContext
    ) -> service.AccessSecretVersionResponse:
        match = _VERSION_NAME.fullmatch(request.name)
        if match is None:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "malformed version name")
        secret, version = match["secret"], match["version"]
        metadata = {k: str(v) for k, v in context.invocation_metadata()}
        with self._lock:
            self.calls.append(Call(secret, version, metadata))
            faults = self._faults.get(secret)
            fault = faults.pop(0) if faults else None
            denied = secret in self._denied
            corrupt = secret in self._corrupt
            versions = list(self._versions.get(secret, []))
        if fault is not None:
            _abort(context, fault, "injected fault")
        if denied:
            _abort(context, grpc.StatusCode.PERMISSION_DENIED, f"permission denied on {secret}")
        if match["project"] != self.project or not versions:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"secret {secret} not found")
        if version == "latest":
            number = len(versions)
        elif version.isdigit() and 1 <= int(version) <= len(versions):
            number = int(version)
        else:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"version {version} not found")
        data = versions[number - 1]
        checksum = google_crc32c.value(data) ^ (1 if corrupt else 0)
        return service.AccessSecretVersionResponse(
            name=f"projects/{self.project}/secrets/{secret}/versions/{number}",
            payload=resources.SecretPayload(data=data, data_crc32c=checksum),
        )

    def handler(self) -> Any:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "AccessSecretVersion": grpc.unary_unary_rpc_method_handler(
                    self.access_secret_version,
                    request_deserializer=service.AccessSecretVersionRequest.deserialize,
                    response_serializer=service.AccessSecretVersionResponse.serialize,
                )
            },
        )


def start_fake(project: str = "test-project") -> tuple[FakeSecretManager, grpc.Server]:
    fake = FakeSecretManager(project=project)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[fake.handler()])
    fake.port = server.add_insecure_port("127.0.0.1:0")
    if fake.port == 0:
        raise RuntimeError("the fake Secret Manager could not bind a port")
    server.start()
    return fake, server


@pytest.fixture
def secret_manager() -> Iterator[FakeSecretManager]:
    fake, server = start_fake()
    try:
        yield fake
    finally:
        server.stop(grace=None).wait()
