"""Secrets from Google Cloud Secret Manager, through ``google-cloud-secret-manager``.

``start()`` reads the latest version of every named secret at once
(``AccessSecretVersion`` on ``projects/{project}/secrets/{name}/versions/latest``) and
caches the values; ``get()`` answers from the cache (a name not loaded at start is read
on first use, then cached); ``refresh()`` reads every cached name again.

Outcomes of one read:

* a value: its CRC32C is checked when the server sends one, then it is decoded as UTF-8;
* ``NOT_FOUND`` (no such secret, or no version): the secret is unset, ``get()`` is None;
  the next ``refresh()`` asks again;
* anything else (``PERMISSION_DENIED``, ``UNAVAILABLE`` after the retries, a checksum
  mismatch, bytes that are not UTF-8): at ``start()`` one
  :class:`~drtranscribe.errors.ConfigError` naming every secret that failed and why
  (status names only); at ``refresh()`` the cached value is kept and a warning is logged;
  at a first ``get()`` a ConfigError.

Retries: ``UNAVAILABLE``, ``RESOURCE_EXHAUSTED`` and ``DEADLINE_EXCEEDED`` are retried
with a short backoff (0.1 s doubling to 1 s) within ``timeout_s`` per read; the
library's default would keep a starting instance waiting 60 s.

Connection: by default the async gRPC client with Application Default Credentials
(on Cloud Run, the service account); its construction is deferred to ``start()`` since a
``grpc.aio`` channel belongs to the running event loop. With ``endpoint`` (an emulator
or the test fake, ``host:port``), an insecure channel and no credentials at all: the
transport is handed a ready channel, so Google's credential lookup never runs. An
injected ``client`` is used as is and left open by ``aclose()``.

Values never reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import google_crc32c
import grpc  # type: ignore[import-untyped]
import structlog
from google.api_core import exceptions as api_exceptions
from google.api_core import retry_async
from google.auth import exceptions as auth_exceptions
from google.cloud.secretmanager_v1.services.secret_manager_service import (
    SecretManagerServiceAsyncClient,
)
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcAsyncIOTransport,
)

from drtranscribe.errors import ConfigError

log = structlog.get_logger(__name__)

_SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_TRANSIENT = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.ResourceExhausted,
    api_exceptions.DeadlineExceeded,
)


class _ReadFailed(Exception):
    """One read that failed for another reason than NOT_FOUND; ``reason`` holds no value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _channel_target(endpoint: str) -> str:
    for scheme in ("http://", "grpc://"):
        if endpoint.startswith(scheme):
            return endpoint[len(scheme) :].rstrip("/")
    return endpoint


def client_for_endpoint(endpoint: str) -> SecretManagerServiceAsyncClient:
    """An async client on an insecure channel to ``endpoint`` (``host:port``), no credentials.

    Call it inside the event loop that will use the client.
    """
    # A local subchannel pool: the connection belongs to this channel and goes with it,
    # instead of lingering in the process-wide pool after ``aclose()``.
    channel = grpc.aio.insecure_channel(
        _channel_target(endpoint), options=[("grpc.use_local_subchannel_pool", 1)]
    )
    return SecretManagerServiceAsyncClient(
        transport=SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
    )


class SecretManagerSecrets:
    """Secrets in one Google Cloud project's Secret Manager."""

    name = "gcp"

    def __init__(
        self,
        project: str,
        *,
        names: Sequence[str] = (),
        client: SecretManagerServiceAsyncClient | None = None,
        endpoint: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """``names`` are loaded at ``start()``; ``endpoint`` (an emulator) or ``client``."""
        if not project:
            raise ConfigError("secret manager: a project is required")
        if client is not None and endpoint is not None:
            raise ConfigError("secret manager: give a client or an endpoint, not both")
        for secret in names:
            _check_secret_id(secret)
        self.project = project
        self.endpoint = endpoint
        self._names = list(dict.fromkeys(names))
        self._client = client
        self._owns_client = client is None
        self._timeout_s = timeout_s
        self._retry = retry_async.AsyncRetry(
            predicate=retry_async.if_exception_type(*_TRANSIENT),
            initial=0.1,
            maximum=1.0,
            multiplier=2.0,
            timeout=timeout_s,
        )
        self._cache: dict[str, str | None] = {}
        self._refresh_lock = asyncio.Lock()
        self._started = False

    def version_path(self, secret: str) -> str:
        return f"projects/{self.project}/secrets/{secret}/versions/latest"

    def _ensure_client(self) -> SecretManagerServiceAsyncClient:
        if self._client is None:
            if self.endpoint is not None:
                self._client = client_for_endpoint(self.endpoint)
            else:
                try:
                    self._client = SecretManagerServiceAsyncClient()
                except auth_exceptions.GoogleAuthError as exc:
                    raise ConfigError(
                        "secret manager: no Google credentials "
                        f"(Application Default Credentials): {type(exc).__name__}"
                    ) from None
        return self._client

    async def _read(self, secret: str) -> str | None:
        """The latest value, None on NOT_FOUND; :class:`_ReadFailed` otherwise."""
        client = self._ensure_client()
        try:
            response = await client.access_secret_version(
                name=self.version_path(secret), retry=self._retry, timeout=self._timeout_s
            )
        except api_exceptions.NotFound:
            return None
        except api_exceptions.RetryError:
            raise _ReadFailed("retries exhausted") from None
        except api_exceptions.GoogleAPICallError as exc:
            code = exc.grpc_status_code
            raise _ReadFailed(code.name if code is not None else type(exc).__name__) from None
        except auth_exceptions.GoogleAuthError as exc:
            raise _ReadFailed(f"credentials: {type(exc).__name__}") from None
        payload = response.payload
        data: bytes = payload.data
        if "data_crc32c" in payload and google_crc32c.value(data) != payload.data_crc32c:
            raise _ReadFailed("checksum mismatch")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _ReadFailed("not UTF-8") from None

    async def _read_all(self, names: Sequence[str]) -> dict[str, str | _ReadFailed | None]:
        results = await asyncio.gather(*(self._read(n) for n in names), return_exceptions=True)
        outcome: dict[str, str | _ReadFailed | None] = {}
        for secret, result in zip(names, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, _ReadFailed):
                raise result
            outcome[secret] = result
        return outcome

    async def start(self) -> None:
        """Read every named secret; one :class:`ConfigError` naming each that failed."""
        if self._started:
            return
        self._ensure_client()
        outcome = await self._read_all(self._names)
        failures = [f"{s} ({r.reason})" for s, r in outcome.items() if isinstance(r, _ReadFailed)]
        if failures:
            raise ConfigError(
                f"secret manager (project {self.project}): cannot read " + ", ".join(failures)
            )
        for secret, value in outcome.items():
            assert not isinstance(value, _ReadFailed)
            self._cache[secret] = value
        self._started = True
        log.info(
            "secrets.loaded",
            source=self.name,
            secrets=len(outcome),
            unset=sorted(s for s, v in outcome.items() if v is None),
        )

    async def get(self, secret: str) -> str | None:
        if secret in self._cache:
            return self._cache[secret]
        _check_secret_id(secret)
        try:
            value = await self._read(secret)
        except _ReadFailed as exc:
            raise ConfigError(f"secret manager: cannot read {secret} ({exc.reason})") from None
        self._cache[secret] = value
        return value

    async def refresh(self) -> None:
        """Read every cached secret again; a failed read keeps its value and logs a warning."""
        async with self._refresh_lock:
            names = list(dict.fromkeys([*self._names, *self._cache]))
            outcome = await self._read_all(names)
            changed = 0
            for secret, result in outcome.items():
                if isinstance(result, _ReadFailed):
                    log.warning(
                        "secrets.refresh_failed",
                        source=self.name,
                        secret=secret,
                        reason=result.reason,
                        kept_cached=secret in self._cache,
                    )
                    continue
                if result is None and self._cache.get(secret) is not None:
                    log.warning("secrets.secret_removed", source=self.name, secret=secret)
                if self._cache.get(secret) != result:
                    changed += 1
                self._cache[secret] = result
            log.info("secrets.refreshed", source=self.name, secrets=len(names), changed=changed)

    async def aclose(self) -> None:
        self._cache = {}
        self._started = False
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)  # type: ignore[no-untyped-call]


def _check_secret_id(secret: str) -> None:
    if not _SECRET_ID.fullmatch(secret):
        raise ConfigError(
            f"secret manager: {secret!r} is not a secret id (letters, digits, - and _)"
        )
