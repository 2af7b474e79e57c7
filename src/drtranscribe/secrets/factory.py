"""Choosing a secrets backend from configuration, refreshing it, and refusing placeholders.

Backends (``kind``)::

    env    EnvSecrets              DRT_SECRET_* variables             (no parameters)
    file   FileSecrets(file)       a directory or a JSON/YAML file   file= required
    gcp    SecretManagerSecrets    Google Cloud Secret Manager       project= required;
                                                                     names=, endpoint=

Every backend also has ``async start()``: :func:`open_secret_source` builds and starts
one; :func:`refresh_periodically` is the background task that calls ``refresh()``.

Placeholders (values that are not real secrets) are refused by
:mod:`drtranscribe.placeholders`, re-exported here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from drtranscribe.errors import ConfigError
from drtranscribe.placeholders import (
    MIN_API_KEY_LENGTH,
    PLACEHOLDERS_ALLOWED_IN,
    placeholder_reason,
    reject_placeholders,
)
from drtranscribe.secrets.base import SecretSource
from drtranscribe.secrets.env import EnvSecrets
from drtranscribe.secrets.file import FileSecrets
from drtranscribe.secrets.gcp import SecretManagerSecrets

log = structlog.get_logger(__name__)

__all__ = [
    "MIN_API_KEY_LENGTH",
    "PLACEHOLDERS_ALLOWED_IN",
    "build_secret_source",
    "open_secret_source",
    "placeholder_reason",
    "refresh_periodically",
    "reject_placeholders",
    "require_secret",
]

SecretBackend = Literal["env", "file", "gcp"]


class ManagedSecretSource(SecretSource, Protocol):
    """A :class:`SecretSource` that loads at ``start()`` (every backend here is one)."""

    async def start(self) -> None: ...


@dataclass(frozen=True)
class _Params:
    file: Path | None
    project: str | None
    endpoint: str | None
    names: Sequence[str]
    timeout_s: float
    environ: Mapping[str, str] | None


def _env(params: _Params) -> ManagedSecretSource:
    return EnvSecrets(params.environ)


def _file(params: _Params) -> ManagedSecretSource:
    if params.file is None:
        raise ConfigError("secrets backend 'file' needs a path (secrets_file)")
    return FileSecrets(params.file)


def _gcp(params: _Params) -> ManagedSecretSource:
    if not params.project:
        raise ConfigError("secrets backend 'gcp' needs a project (gcp_project)")
    return SecretManagerSecrets(
        params.project, names=params.names, endpoint=params.endpoint, timeout_s=params.timeout_s
    )


BACKENDS: dict[str, Callable[[_Params], ManagedSecretSource]] = {
    "env": _env,
    "file": _file,
    "gcp": _gcp,
}


def build_secret_source(
    kind: str,
    *,
    file: Path | None = None,
    project: str | None = None,
    endpoint: str | None = None,
    names: Sequence[str] = (),
    timeout_s: float = 10.0,
    environ: Mapping[str, str] | None = None,
) -> ManagedSecretSource:
    """The backend ``kind``, not yet started; parameters a backend does not use are ignored."""
    try:
        builder = BACKENDS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown secrets backend {kind!r}; expected one of {', '.join(BACKENDS)}"
        ) from None
    return builder(_Params(file, project, endpoint, names, timeout_s, environ))


async def open_secret_source(kind: str, **options: Any) -> ManagedSecretSource:
    """:func:`build_secret_source` (same options), started: its values are loaded (or
    ConfigError)."""
    source = build_secret_source(kind, **options)
    try:
        await source.start()
    except BaseException:
        await source.aclose()
        raise
    return source


async def refresh_periodically(
    source: SecretSource,
    interval_s: float,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    after: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call ``source.refresh()`` every ``interval_s`` until cancelled, then ``after`` (e.g.
    re-read what depends on the secrets); failures are logged and the old values kept."""
    while True:
        await sleep(interval_s)
        try:
            await source.refresh()
            if after is not None:
                await after()
        except Exception as exc:
            log.warning("secrets.refresh_failed", source=source.name, error=type(exc).__name__)


async def require_secret(source: SecretSource, secret: str, environment: str) -> str:
    """The value of ``secret``: ConfigError when it is unset, or a placeholder outside dev."""
    value = await source.get(secret)
    if value is None:
        raise ConfigError(f"secret {secret!r} is not set (secrets backend {source.name!r})")
    reject_placeholders(secret, value, environment)
    return value
