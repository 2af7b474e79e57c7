"""A token bucket: ``rate`` events per second, at most ``burst`` saved up.

The server limits each connection's chunks with one; the reference client paces itself
with the same bucket, fed the limits the server announces, so it is never refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        tolerance_s: float = 0.0,
    ) -> None:
        """``tolerance_s``: a token that would arrive within this time is taken already
        (the server gives a paced client's frames this much slack for delays on the way)."""
        self.rate = rate
        self._slack = rate * tolerance_s
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._clock = clock
        self._last = self._clock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1.0 - self._slack:
            self.tokens -= 1.0
            return True
        return False

    def wait_s(self) -> float:
        """Seconds until :meth:`take` would succeed (as of the last call)."""
        return max(0.0, (1.0 - self.tokens) / self.rate) if self.rate > 0 else float("inf")

    def reserve(self) -> float:
        """Take a token now, in debt if need be: the seconds to wait before using it."""
        self._refill()
        self.tokens -= 1.0
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate if self.rate > 0 else float("inf")
