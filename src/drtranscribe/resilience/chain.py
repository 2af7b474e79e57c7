"""The fallback chain both sides use: ordered providers, breakers, hedging, deadline, retries.

One call of :meth:`FallbackChain.call`:

1. A *round* asks the providers in configured order. A provider whose breaker is open
   is skipped. When one fails, the next is asked at once. When one is slow (no answer
   after ``hedge_after_s``), the next is asked too and the first valid answer wins;
   the loser is cancelled and counts as a slow failure. A provider with
   ``hedge_target = False`` (the local rules extractor: it answers in a millisecond, so a
   race against it would always cancel the LLM) is asked only after a failure, or when
   ``LAST_RESORT_MARGIN_S`` before the deadline the others are still running.
2. If every provider failed and at least one failure was transient, tenacity runs
   another round after a backoff (1, 2, 4 s with jitter, or the provider's Retry-After):
   the failed providers are retried *later*, never in front of a healthy fallback.
3. The whole call runs under one deadline owned by the chain (``deadline_s``), so no
   provider's own timeout can hold a chunk longer than that.

An "all failed" error names every provider and why it failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from drtranscribe.errors import (
    AllProvidersFailed,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    ProviderUnavailable,
)
from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker, Permit
from drtranscribe.resilience.retry import RetryPolicy, is_transient

log = structlog.get_logger(__name__)


class Named(Protocol):
    name: str


P = TypeVar("P", bound=Named)

#: A held last resort is launched this long before the chain's deadline at the latest.
LAST_RESORT_MARGIN_S = 2.0
R = TypeVar("R")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ChainPolicy:
    deadline_s: float = 60.0
    hedge_after_s: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class ChainResult(Generic[R]):
    value: R
    provider: str
    attempts: int


class FallbackChain(Generic[P]):
    def __init__(
        self,
        providers: Sequence[P],
        *,
        kind: str,
        policy: ChainPolicy | None = None,
        breakers: dict[str, CircuitBreaker] | None = None,
        sleep: Sleep = asyncio.sleep,
        on_failure: Callable[[str, ProviderError], None] | None = None,
    ) -> None:
        if not providers:
            raise ValueError(f"empty {kind} chain")
        self.providers = list(providers)
        self.kind = kind
        self.policy = policy or ChainPolicy()
        self.breakers = breakers or {p.name: CircuitBreaker(p.name) for p in self.providers}
        self._sleep = sleep
        self._on_failure = on_failure

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def available(self) -> list[str]:
        return [p.name for p in self.providers if self.breakers[p.name].available]

    def last_resort(self) -> str | None:
        """The last provider's name while every provider before it is out (its breaker
        open or half-open): the chain then runs on its last resort, typically the local
        fallback. None for a one-provider chain, which is as configured, not degraded."""
        if len(self.providers) < 2:
            return None
        ahead = self.providers[:-1]
        if any(self.breakers[p.name].state is BreakerState.CLOSED for p in ahead):
            return None
        return self.providers[-1].name

    def targets(self) -> list[tuple[P, CircuitBreaker]]:
        return [(p, self.breakers[p.name]) for p in self.providers]

    def status(self) -> list[dict[str, object]]:
        """Per provider: breaker state, availability, whether it looks misconfigured."""
        return [
            {
                "name": p.name,
                "state": self.breakers[p.name].state.value,
                "available": self.breakers[p.name].available,
                "misconfigured": self.breakers[p.name].misconfigured,
                "retry_in_s": round(self.breakers[p.name].retry_in_s, 1),
            }
            for p in self.providers
        ]

    async def call(
        self, fn: Callable[[P], Coroutine[Any, Any, R]], *, hedge_after_s: float | None = None
    ) -> R:
        return (await self.call_detailed(fn, hedge_after_s=hedge_after_s)).value

    async def call_detailed(
        self, fn: Callable[[P], Coroutine[Any, Any, R]], *, hedge_after_s: float | None = None
    ) -> ChainResult[R]:
        """``hedge_after_s`` overrides the policy's budget for this call (e.g. longer audio
        deserves a longer budget)."""
        hedge = hedge_after_s if hedge_after_s is not None else self.policy.hedge_after_s
        retry = self.policy.retry

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return retry.backoff_s(state.attempt_number, exc)

        rounds = AsyncRetrying(
            stop=stop_after_attempt(retry.attempts),
            wait=wait,
            retry=retry_if_exception(is_transient),
            sleep=self._sleep,
            reraise=True,
        )
        started = time.monotonic()
        deadline_at = started + self.policy.deadline_s
        try:
            async with asyncio.timeout(self.policy.deadline_s):
                async for attempt in rounds:
                    with attempt:
                        value, provider = await self._round(fn, hedge, deadline_at)
                        return ChainResult(value, provider, attempt.retry_state.attempt_number)
        except TimeoutError as exc:
            log.warning("chain.deadline", chain=self.kind, deadline_s=self.policy.deadline_s)
            raise AllProvidersFailed([ProviderTimeout(f"{self.kind} chain deadline")]) from exc
        finally:
            log.debug(
                "chain.call",
                chain=self.kind,
                latency_ms=round((time.monotonic() - started) * 1000, 1),
            )
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _candidates(self, errors: list[ProviderError]) -> Iterator[tuple[P, Permit]]:
        for provider in self.providers:
            permit = self.breakers[provider.name].acquire()
            if permit is None:
                errors.append(ProviderUnavailable(provider.name, detail="circuit open"))
                continue
            yield provider, permit

    async def _round(
        self, fn: Callable[[P], Coroutine[Any, Any, R]], hedge: float | None, deadline_at: float
    ) -> tuple[R, str]:
        errors: list[ProviderError] = []
        candidates = self._candidates(errors)
        running: dict[asyncio.Task[R], tuple[P, Permit]] = {}
        overdue: set[asyncio.Task[R]] = set()  # ran past the hedge budget

        held: list[tuple[P, Permit]] = []  # the next candidate, kept back from a hedge

        def launch(*, hedging: bool = False) -> bool:
            candidate = held.pop() if held else next(candidates, None)
            if candidate is None:
                return False
            provider, permit = candidate
            if hedging and not getattr(provider, "hedge_target", True):
                held.append(candidate)  # a last resort is tried after a failure, never raced
                return False
            task = asyncio.create_task(fn(provider), name=f"{self.kind}:{provider.name}")
            running[task] = (provider, permit)
            return True

        try:
            launch()
            while running:
                timeout = hedge
                if held:  # the last resort must get its turn before the deadline
                    left = deadline_at - LAST_RESORT_MARGIN_S - time.monotonic()
                    if left <= 0:
                        launch()
                        log.info("chain.last_resort", chain=self.kind)
                    elif timeout is None or left < timeout:
                        timeout = left
                done, _ = await asyncio.wait(
                    running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:  # slow: ask the next provider too
                    overdue.update(running)
                    if launch(hedging=True):
                        log.info("chain.hedged", chain=self.kind, after_s=timeout)
                    continue
                for task in done:
                    provider, permit = running.pop(task)
                    exc = task.exception()
                    if exc is None:
                        permit.success()
                        return task.result(), provider.name
                    error = self._as_provider_error(provider, exc)
                    permanent = not error.retryable and isinstance(error, ProviderStatusError)
                    permit.failure(permanent=permanent)
                    errors.append(error)
                    if self._on_failure is not None:
                        self._on_failure(provider.name, error)
                    log.warning(
                        "chain.provider_failed",
                        chain=self.kind,
                        provider=provider.name,
                        category=error.category,
                        retryable=error.retryable,
                    )
                if not running:
                    launch()  # a failure moves on at once
            raise AllProvidersFailed(errors)
        finally:
            for task, (provider, permit) in running.items():
                task.cancel()
                if task in overdue:
                    # It outlived its budget and lost: a slow failure, so that a provider
                    # that hangs opens its breaker instead of costing every chunk a hedge.
                    permit.failure()
                    log.warning("chain.provider_slow", chain=self.kind, provider=provider.name)
                else:
                    permit.release()
            for _, permit in held:
                permit.release()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _as_provider_error(self, provider: P, exc: BaseException) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        log.error(
            "chain.provider_bug", chain=self.kind, provider=provider.name, error=type(exc).__name__
        )
        return ProviderError(provider.name, retryable=True, detail=type(exc).__name__)
