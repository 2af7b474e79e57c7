"""The secrets port.

A secret has a name (``drtranscribe-api-keys``, ``groq-api-key``...) and a text value.
Backends load at startup, cache, and refresh in the background; a value is never logged.
"""

from __future__ import annotations

from typing import Protocol


class SecretSource(Protocol):
    name: str

    async def get(self, secret: str) -> str | None:
        """The secret's current value, or None when this source does not have it."""

    async def refresh(self) -> None:
        """Reload cached values (called periodically)."""

    async def aclose(self) -> None: ...
