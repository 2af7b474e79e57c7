"""The exception tree of drTranscribe.

::

    DrTranscribeError
    ├── ConfigError                  settings that cannot work (missing model, bad chain)
    ├── ProtocolError(code)          a client broke the WebSocket protocol; code is stable
    │   └── AudioError(code)         a chunk that cannot be decoded or breaks the limits
    ├── SessionError(code)           unknown / finished session
    ├── StorageError                 durable storage failed: nothing was acked
    │   ├── StateStoreError          the session store (Redis) did not answer
    │   │   └── SessionTakenOver     another instance now writes this session (fenced out)
    │   └── AudioStoreError          the audio store (disk, Cloud Storage) failed
    │       └── AudioNotFound        no such audio object
    └── ProviderError(provider, retryable, category)
        ├── ProviderTimeout          no answer within the deadline (retryable)
        ├── ProviderConnectionError  could not reach the provider (retryable)
        ├── ProviderStatusError      an HTTP status; 4xx is permanent except 408 and 429
        ├── ProviderInvalidResponse  an answer that does not validate (retryable)
        └── ProviderUnavailable      skipped: its circuit breaker is open (retryable)
    AllProvidersFailed               every provider of a chain failed; names each one

Lower-layer exceptions are mapped once, at the edge where they arise (``raise ... from``).
Messages never carry transcript text, note content or provider error bodies, which
may echo patient data.
"""

from __future__ import annotations

from typing import Literal, NoReturn

ErrorCategory = Literal[
    "timeout", "connection", "status", "invalid_response", "circuit_open", "internal"
]


class DrTranscribeError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(DrTranscribeError):
    """Settings that cannot work."""


class ProtocolError(DrTranscribeError):
    """The client broke the protocol. ``code`` is stable and documented in docs/protocol.md."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class AudioError(ProtocolError):
    """A chunk that cannot be decoded, or one that breaks a limit."""


class SessionError(DrTranscribeError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StorageError(DrTranscribeError):
    """Durable storage failed; whatever was being stored was not acked."""


class StateStoreError(StorageError):
    """The session store did not answer in time."""


class AudioStoreError(StorageError):
    """The audio store failed or refused; ``retryable`` for 408, 429, 5xx and the network."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class AudioNotFound(AudioStoreError):
    """The object, or the bucket, does not exist."""


class SessionTakenOver(StateStoreError):
    """This instance's writes were refused: a newer writer holds the session's fence."""


class ProviderError(DrTranscribeError):
    """A provider call failed."""

    category: ErrorCategory = "internal"

    def __init__(self, provider: str, *, retryable: bool = True, detail: str = "") -> None:
        super().__init__(f"{provider}: {self.category}{': ' + detail if detail else ''}")
        self.provider = provider
        self.retryable = retryable
        self.detail = detail


class ProviderTimeout(ProviderError):
    category: ErrorCategory = "timeout"


class ProviderConnectionError(ProviderError):
    category: ErrorCategory = "connection"


class ProviderStatusError(ProviderError):
    category: ErrorCategory = "status"

    def __init__(self, provider: str, status: int, *, retry_after_s: float | None = None) -> None:
        retryable = status >= 500 or status in (408, 429)
        super().__init__(provider, retryable=retryable, detail=f"HTTP {status}")
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def is_configuration_problem(self) -> bool:
        """401/403/404 and other permanent 4xx: a key, a model name or a request shape is wrong."""
        return not self.retryable


class ProviderInvalidResponse(ProviderError):
    category: ErrorCategory = "invalid_response"


class ProviderUnavailable(ProviderError):
    category: ErrorCategory = "circuit_open"


class AllProvidersFailed(DrTranscribeError):
    """Every provider of a chain failed."""

    def __init__(self, errors: list[ProviderError]) -> None:
        names = ", ".join(f"{e.provider} ({e.category})" for e in errors) or "no provider"
        super().__init__(f"all providers failed: {names}")
        self.errors = errors

    @property
    def retryable(self) -> bool:
        return any(e.retryable for e in self.errors)

    @property
    def retry_after_s(self) -> float | None:
        hints = [e.retry_after_s for e in self.errors if isinstance(e, ProviderStatusError)]
        known = [h for h in hints if h is not None]
        return max(known) if known else None


def raise_mapped(mapped: ProviderError, cause: BaseException) -> NoReturn:
    """Raise a vendor's error as mapped. A timeout or connection failure keeps its cause;
    a status or parse error does not, because an SDK's message quotes the provider's body
    (which may echo the request: patient data)."""
    if isinstance(mapped, ProviderTimeout | ProviderConnectionError):
        raise mapped from cause
    raise mapped from None
