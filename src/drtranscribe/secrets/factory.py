"""Choosing a secrets backend from configuration, refreshing it, and refusing placeholders.

Backends (``kind``)::

    env    EnvSecrets              DRT_SECRET_* variables             (no parameters)
    file   FileSecrets(file)       a directory or a JSON/YAML file   file= required
    gcp    SecretManagerSecrets    Google Cloud Secret Manager       project= required;
                                                                     names=, endpoint=

Every backend also has ``async start()``: :func:`open_secret_source` builds and starts
one; :func:`refresh_periodically` is the background task that calls ``refresh()``.

Placeholders. Outside ``development`` (see :data:`PLACEHOLDERS_ALLOWED_IN`) a secret value
is refused, with a :class:`~drtranscribe.errors.ConfigError` that names the secret and
the rule but never the value, when it is:

* empty or only whitespace;
* a placeholder word once case, spaces and punctuation are dropped: one of
  :data:`PLACEHOLDER_VALUES` (``changeme``, ``CHANGE_ME``, ``placeholder``, ``secret``,
  ``test``, ``TODO``, ``your-api-key``...), or only ``x`` characters (``xxx``, ``XXXX``),
  or no letter or digit at all (``****``);
* an unfilled template: ``<...>``, ``${...}``, ``{{...}}``;
* for an API key, shorter than :data:`MIN_API_KEY_LENGTH` (16) characters. A secret is an
  API key when its name ends in ``api-key`` or ``api-keys`` (any of ``-``, ``_``, ``.``
  or nothing between the words); a value may list several keys separated by commas
  or whitespace (``drtranscribe-api-keys``), and each one is checked.

In ``development`` anything goes, so a laptop runs with ``DRT_SECRET_GROQ_API_KEY=test``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from drtranscribe.errors import ConfigError
from drtranscribe.secrets.base import SecretSource
from drtranscribe.secrets.env import EnvSecrets
from drtranscribe.secrets.file import FileSecrets
from drtranscribe.secrets.gcp import SecretManagerSecrets

log = structlog.get_logger(__name__)

SecretBackend = Literal["env", "file", "gcp"]

PLACEHOLDERS_ALLOWED_IN: frozenset[str] = frozenset({"development"})
MIN_API_KEY_LENGTH = 16
PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {
        "changeme",
        "changeit",
        "replaceme",
        "placeholder",
        "secret",
        "password",
        "test",
        "testing",
        "todo",
        "tbd",
        "fixme",
        "dummy",
        "example",
        "sample",
        "fake",
        "default",
        "none",
        "null",
        "undefined",
        "apikey",
        "yourapikey",
        "yourkey",
        "yoursecret",
        "yourkeyhere",
        "insertkeyhere",
    }
)
"""Lower-case, letters and digits only: a value is compared after the same folding."""

_TEMPLATE = re.compile(r"<[^<>]*>|\$\{[^{}]*\}|\{\{.*\}\}", re.DOTALL)
_API_KEY_NAME = re.compile(r"api[-_.]?keys?$", re.IGNORECASE)
_KEY_SEPARATORS = re.compile(r"[,\s]+")


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


def placeholder_reason(secret: str, value: str | None) -> str | None:
    """Why ``value`` looks like a placeholder for ``secret`` (no value in it), or None."""
    stripped = (value or "").strip()
    if not stripped:
        return "empty"
    reason = _value_reason(stripped)
    if reason is not None or not _is_api_key(secret):
        return reason
    for key in filter(None, _KEY_SEPARATORS.split(stripped)):
        reason = _value_reason(key)
        if reason is not None:
            return reason
        if len(key) < MIN_API_KEY_LENGTH:
            return f"an API key shorter than {MIN_API_KEY_LENGTH} characters"
    return None


def _is_api_key(secret: str) -> bool:
    return _API_KEY_NAME.search(secret) is not None


def _value_reason(value: str) -> str | None:
    if _TEMPLATE.fullmatch(value):
        return "an unfilled template"
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    if not folded:
        return "without a letter or digit"
    if folded in PLACEHOLDER_VALUES or re.fullmatch(r"x+", folded):
        return "a placeholder word"
    return None


def reject_placeholders(secret: str, value: str | None, environment: str) -> None:
    """ConfigError when ``value`` is a placeholder and ``environment`` is not development."""
    if environment in PLACEHOLDERS_ALLOWED_IN:
        return
    reason = placeholder_reason(secret, value)
    if reason is not None:
        raise ConfigError(
            f"secret {secret!r} looks like a placeholder ({reason}), which is not allowed "
            f"in {environment}: set a real value (placeholders pass only in development)"
        )


async def require_secret(source: SecretSource, secret: str, environment: str) -> str:
    """The value of ``secret``: ConfigError when it is unset, or a placeholder outside dev."""
    value = await source.get(secret)
    if value is None:
        raise ConfigError(f"secret {secret!r} is not set (secrets backend {source.name!r})")
    reject_placeholders(secret, value, environment)
    return value
