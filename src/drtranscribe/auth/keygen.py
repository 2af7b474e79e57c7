"""Edit the API-keys secret without hand-writing SHA-256 JSON (``drtranscribe keys``).

The secret is a JSON list (format in :mod:`drtranscribe.auth.keys`). A new key is made
here from 32 random bytes; only its SHA-256 digest goes into the list, so the plain key
exists once, in the output shown to whoever runs the command. Every edit is checked by
the same parser the service uses, so a list that leaves here is a list the service loads.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from drtranscribe.auth.keys import API_KEYS_SECRET, ApiKeys, digest
from drtranscribe.errors import ConfigError

KEY_BYTES = 32  # 43 URL-safe characters


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    entries: list[dict[str, Any]]  # the whole list, the new entry last


def parse_entries(raw: str) -> list[dict[str, Any]]:
    """The list in a secret's text; empty text is an empty list."""
    if not raw.strip():
        return []
    ApiKeys.from_json(raw)  # the service's own checks, with its messages
    entries: list[dict[str, Any]] = json.loads(raw)
    return entries


def add_key(
    entries: list[dict[str, Any]],
    *,
    key_id: str,
    tenant: str,
    origins: list[str] | None = None,
    max_session_s: float | None = None,
) -> NewKey:
    if any(entry.get("id") == key_id for entry in entries):
        raise ConfigError(f"{API_KEYS_SECRET}: a key with id {key_id!r} exists already")
    origins = [_origin(o) for o in origins or []]
    key = secrets.token_urlsafe(KEY_BYTES)
    entry: dict[str, Any] = {"id": key_id, "tenant": tenant, "key_sha256": digest(key).hex()}
    if origins:
        entry["origins"] = list(origins)
    if max_session_s is not None:
        entry["limits"] = {"max_session_s": max_session_s}
    updated = [*entries, entry]
    ApiKeys.from_json(json.dumps(updated))
    return NewKey(key=key, entries=updated)


def revoke_key(entries: list[dict[str, Any]], key_id: str) -> list[dict[str, Any]]:
    kept = [entry for entry in entries if entry.get("id") != key_id]
    if len(kept) == len(entries):
        known = sorted(str(entry.get("id")) for entry in entries)
        raise ConfigError(f"{API_KEYS_SECRET}: no key with id {key_id!r} (ids: {known})")
    return kept


def describe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a listing shows: everything but keys and digests."""
    return [{k: v for k, v in entry.items() if k not in ("key", "key_sha256")} for entry in entries]


def _origin(value: str) -> str:
    """An origin as browsers send it: scheme://host[:port], no path, no trailing slash."""
    origin = value.strip().rstrip("/")
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("https", "http", "chrome-extension") or not rest or "/" in rest:
        raise ConfigError(
            f"origin {value!r}: expected scheme://host[:port] (https, http or chrome-extension)"
        )
    return origin
