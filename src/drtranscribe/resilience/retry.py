"""When to try again, and how long to wait: one policy for every provider.

Transient: timeouts, connection errors, 408, 429 (honouring Retry-After), 5xx, an answer
that did not validate, a provider skipped because its breaker was open. Permanent:
other 4xx (a key, a model name, a request shape that is wrong): retrying cannot help.

The chain retries a *round* (every provider once, in order) only after every provider
failed, so a backoff sleep never stands in front of a healthy fallback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from drtranscribe.errors import AllProvidersFailed, ProviderError


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, AllProvidersFailed):
        return exc.retryable
    if isinstance(exc, ProviderError):
        return exc.retryable
    return False


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try and 3 retries: 1, 2, 4 s
    initial_s: float = 1.0
    max_s: float = 4.0
    jitter_s: float = 0.5

    def backoff_s(self, attempt: int, exc: BaseException | None = None) -> float:
        """Wait before try ``attempt + 1`` (attempt counts from 1): 1, 2, 4 s plus jitter,
        or the provider's Retry-After when that is longer."""
        base = min(self.max_s, self.initial_s * 2 ** (attempt - 1))
        wait = base + random.uniform(0, self.jitter_s)  # noqa: S311 - jitter, not crypto
        hint = exc.retry_after_s if isinstance(exc, AllProvidersFailed) else None
        return float(max(wait, hint or 0.0))
