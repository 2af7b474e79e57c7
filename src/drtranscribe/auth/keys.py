"""API keys: loaded from a secret, kept only as SHA-256 digests, compared in constant time.

The secret ``drtranscribe-api-keys`` holds a JSON list::

    [{"id": "clinic-a-web", "tenant": "clinic-a", "key": "<32+ random chars>",
      "origins": ["https://emr.clinic-a.example", "chrome-extension://abcdef..."],
      "limits": {"max_session_s": 3600}}]

``key_sha256`` (hex) may stand instead of ``key``, so the plain key need not be stored
anywhere the service reads. A key's ``origins`` extend the service-wide allowlist for
browsers using that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from drtranscribe.errors import ConfigError

API_KEYS_SECRET = "drtranscribe-api-keys"  # noqa: S105 - the secret's name
MIN_KEY_LENGTH = 24


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and its tenant (never the key itself)."""

    key_id: str
    tenant: str
    origins: tuple[str, ...] = ()
    max_session_s: float | None = None


@dataclass(frozen=True)
class _StoredKey:
    digest: bytes
    principal: Principal


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass
class ApiKeys:
    keys: list[_StoredKey] = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return bool(self.keys)

    def authenticate(self, presented: str | None) -> Principal | None:
        """The key's principal, or None. Every stored digest is compared (no early exit),
        each in constant time, so timing says nothing about which key nearly matched."""
        if not presented:
            return None
        candidate = digest(presented)
        found: Principal | None = None
        for stored in self.keys:
            if hmac.compare_digest(stored.digest, candidate):
                found = stored.principal
        return found

    @classmethod
    def from_json(cls, raw: str) -> ApiKeys:
        try:
            entries = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{API_KEYS_SECRET}: not valid JSON") from exc
        if not isinstance(entries, list):
            raise ConfigError(f"{API_KEYS_SECRET}: expected a JSON list of keys")
        return cls([_parse(entry, i) for i, entry in enumerate(entries)])


def _parse(entry: object, index: int) -> _StoredKey:
    where = f"{API_KEYS_SECRET}[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object")
    key_id, tenant = entry.get("id"), entry.get("tenant")
    if not isinstance(key_id, str) or not isinstance(tenant, str) or not key_id or not tenant:
        raise ConfigError(f"{where}: 'id' and 'tenant' are required strings")
    if isinstance(entry.get("key"), str):
        key = entry["key"]
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"{where} ({key_id}): key shorter than {MIN_KEY_LENGTH} characters")
        stored_digest = digest(key)
    elif isinstance(entry.get("key_sha256"), str):
        try:
            stored_digest = bytes.fromhex(entry["key_sha256"])
        except ValueError as exc:
            raise ConfigError(f"{where} ({key_id}): key_sha256 is not hex") from exc
        if len(stored_digest) != 32:
            raise ConfigError(f"{where} ({key_id}): key_sha256 must be 32 bytes")
    else:
        raise ConfigError(f"{where} ({key_id}): needs 'key' or 'key_sha256'")
    origins = entry.get("origins", [])
    limits = entry.get("limits", {}) or {}
    if not isinstance(origins, Sequence) or not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"{where} ({key_id}): 'origins' must be a list of strings")
    max_session = limits.get("max_session_s") if isinstance(limits, dict) else None
    return _StoredKey(
        stored_digest,
        Principal(
            key_id=key_id,
            tenant=tenant,
            origins=tuple(origins),
            max_session_s=float(max_session) if max_session else None,
        ),
    )
