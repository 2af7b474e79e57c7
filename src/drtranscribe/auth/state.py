"""The service's view of authentication: keys (reloaded with the secrets), whether they are
required, and the origin allowlist."""

from __future__ import annotations

from dataclasses import dataclass, field

from drtranscribe.auth.keys import ApiKeys, Principal

ANONYMOUS = Principal(key_id="anonymous", tenant="default")


@dataclass
class AuthState:
    keys: ApiKeys
    required: bool
    allowed_origins: frozenset[str] = frozenset()
    token_ttl_s: int = 300
    _all_origins: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        self.replace_keys(self.keys)

    def replace_keys(self, keys: ApiKeys) -> None:
        self.keys = keys
        per_key = {o for k in keys.keys for o in k.principal.origins}
        self._all_origins = self.allowed_origins | per_key

    def authenticate(self, presented: str | None) -> Principal | None:
        if not self.required:
            return self.keys.authenticate(presented) or ANONYMOUS
        return self.keys.authenticate(presented)

    def origin_known(self, origin: str | None) -> bool:
        """Before we know the caller: is the Origin allowed for anybody? (No Origin header:
        not a browser, so cross-site WebSocket hijacking does not apply.)"""
        return origin is None or not self.required or origin in self._all_origins

    def origin_listed(self, origin: str) -> bool:
        """On the service-wide allowlist or on some key's own list (CORS: a preflight
        carries no credentials, so it cannot say which key will follow)."""
        return origin in self._all_origins

    def origin_allowed(self, origin: str | None, principal: Principal) -> bool:
        if origin is None or not self.required:
            return True
        return origin in self.allowed_origins or origin in principal.origins
