"""Secrets from the file system: a directory of one file per secret, or one mapping file.

Directory form (Kubernetes secret volumes, Cloud Run secrets mounted as files): each
regular file directly inside the directory is a secret, named by its file name, valued by
its UTF-8 text without trailing line breaks (``echo value > name`` writes one). Names
starting with ``.`` are skipped: Kubernetes keeps its ``..data`` symlink and timestamped
``..2024_…`` directories there and swaps them atomically on update; the visible names are
symlinks into ``..data``, which are followed. Sub-directories are ignored.

Mapping form: a ``.json``, ``.yaml`` or ``.yml`` file whose top level maps secret names to
string values (a ``null`` value counts as unset).

A secret is at most :data:`MAX_SECRET_BYTES` (Secret Manager's own limit). Values are
read at ``start()`` and again on every ``refresh()``; the new content replaces the old
as a whole, so a file removed from the directory is gone after the next refresh. A
reload that fails (unreadable path, bad JSON, a value too large...) raises
:class:`~drtranscribe.errors.ConfigError` at ``start()``; at ``refresh()`` it logs a
warning and keeps the values loaded before. Messages name paths and secrets, never values.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import structlog
import yaml

from drtranscribe.errors import ConfigError

MAX_SECRET_BYTES = 64 * 1024
MAPPING_SUFFIXES = (".json", ".yaml", ".yml")

log = structlog.get_logger(__name__)


def _read_capped(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigError(f"secret file {path}: larger than {MAX_SECRET_BYTES} bytes")
    return data


def _load_directory(directory: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        try:
            text = _read_capped(entry).decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"secret file {entry}: not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"secret file {entry}: cannot read ({exc.strerror})") from None
        values[entry.name] = text.rstrip("\r\n")
    return values


def _load_mapping(path: Path) -> dict[str, str]:
    try:
        text = _read_capped(path).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"secrets file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"secrets file {path}: cannot read ({exc.strerror})") from None
    try:
        loaded: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        # The parsers' messages quote the offending line, which may hold a value.
        raise ConfigError(f"secrets file {path}: not valid {path.suffix[1:].upper()}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"secrets file {path}: expected a mapping of name to value")
    values: dict[str, str] = {}
    for key, value in loaded.items():
        if value is None:
            continue
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(f"secrets file {path}: the value of {key!r} is not a string")
        values[key] = value
    return values


def load_secrets(path: Path) -> dict[str, str]:
    """Every secret under ``path`` (either form); :class:`ConfigError` when it cannot."""
    if path.is_dir():
        try:
            return _load_directory(path)
        except OSError as exc:
            raise ConfigError(f"secrets directory {path}: cannot list ({exc.strerror})") from None
    if not path.exists():
        raise ConfigError(f"secrets path {path}: does not exist")
    if path.suffix not in MAPPING_SUFFIXES:
        raise ConfigError(
            f"secrets path {path}: expected a directory or a {'/'.join(MAPPING_SUFFIXES)} file"
        )
    return _load_mapping(path)


class FileSecrets:
    """Secrets in a directory (one file per secret) or in one JSON/YAML mapping file."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, str] = {}
        self._loaded = False

    async def start(self) -> None:
        """Load every secret; :class:`ConfigError` when the path cannot be read."""
        self._values = await asyncio.to_thread(load_secrets, self.path)
        self._loaded = True

    async def get(self, secret: str) -> str | None:
        if not self._loaded:
            await self.start()
        return self._values.get(secret)

    async def refresh(self) -> None:
        """Reload; on failure keep the previous values and log a warning."""
        try:
            values = await asyncio.to_thread(load_secrets, self.path)
        except ConfigError as exc:
            log.warning("secrets.refresh_failed", source=self.name, error=str(exc))
            return
        self._values = values
        self._loaded = True

    async def aclose(self) -> None:
        self._values = {}
        self._loaded = False
