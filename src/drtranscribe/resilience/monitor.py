"""Background health probes: synthetic, non-PHI requests that keep breakers honest.

Every ``interval_s`` each provider is probed; a provider whose breaker is open is probed
as soon as its cooldown ends, so it comes back without waiting for patient traffic to be
risked on it. A probe goes through the breaker like any call (as the half-open trial when
the breaker is open), and never carries patient audio or text.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from drtranscribe.errors import ProviderError, ProviderStatusError
from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker

log = structlog.get_logger(__name__)


class Probeable(Protocol):
    name: str

    async def probe(self) -> None: ...


class ProviderMonitor:
    def __init__(
        self,
        targets: Sequence[tuple[Probeable, CircuitBreaker]],
        *,
        interval_s: float,
        probe_timeout_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.targets = list(targets)
        self.interval_s = interval_s
        self.probe_timeout_s = probe_timeout_s
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def probe_once(self, provider: Probeable, breaker: CircuitBreaker) -> bool:
        permit = breaker.acquire()
        if permit is None:
            return False
        started = time.monotonic()
        try:
            # Every line the provider logs during its probe says so ("probe": name): no
            # session's work, and Logs Explorer can leave them out.
            with structlog.contextvars.bound_contextvars(probe=provider.name):
                async with asyncio.timeout(self.probe_timeout_s):
                    await provider.probe()
        except ProviderError as exc:
            permanent = isinstance(exc, ProviderStatusError) and not exc.retryable
            permit.failure(permanent=permanent)
            log.warning("provider.probe_failed", provider=provider.name, category=exc.category)
            return False
        except TimeoutError:
            permit.failure()
            log.warning("provider.probe_failed", provider=provider.name, category="timeout")
            return False
        except asyncio.CancelledError:
            permit.release()
            raise
        permit.success()
        log.info(
            "provider.probe_ok",
            provider=provider.name,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return True

    def due(self, now: float) -> list[tuple[Probeable, CircuitBreaker]]:
        out = []
        for provider, breaker in self.targets:
            last = self._last.get(provider.name)
            periodic = last is None or now - last >= self.interval_s
            recovering = breaker.state is not BreakerState.CLOSED and breaker.available
            if periodic or recovering:
                out.append((provider, breaker))
        return out

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            for provider, breaker in self.due(now):
                self._last[provider.name] = now
                await self.probe_once(provider, breaker)
            waits = [self.interval_s] + [
                b.retry_in_s for _, b in self.targets if b.state is BreakerState.OPEN
            ]
            await self._sleep(max(0.5, min(waits)))

    def start(self) -> None:
        if self._task is None and self.targets:
            self._task = asyncio.create_task(self.run(), name="provider-monitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
