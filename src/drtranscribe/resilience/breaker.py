"""A circuit breaker per provider, correct under asyncio.

Every method is synchronous (no ``await`` inside), so under one event loop each state
transition is atomic. A call takes a :class:`Permit` before it starts and reports its
outcome on the permit; a call that was cancelled (a hedge that lost, a deadline)
releases its permit without counting as a success or a failure.

States: ``closed`` (calls flow; ``failure_threshold`` consecutive failures open it),
``open`` (calls are refused until ``cooldown_s`` has passed), ``half_open`` (exactly one
trial call is admitted; its success closes the breaker, its failure opens it again for
another cooldown). A permanent error (bad key, bad request) opens it at once.

pybreaker's decorator counts an ``async def`` as succeeded as soon as the coroutine is
created, and its half-open state admits every concurrent caller; hence this class.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class Permit:
    breaker: CircuitBreaker
    trial: bool
    done: bool = False

    def success(self) -> None:
        if not self.done:
            self.done = True
            self.breaker._on_success(self)

    def failure(self, *, permanent: bool = False) -> None:
        if not self.done:
            self.done = True
            self.breaker._on_failure(self, permanent=permanent)

    def release(self) -> None:
        """The call ended without an outcome (cancelled)."""
        if not self.done:
            self.done = True
            self.breaker._on_release(self)


StateListener = Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.misconfigured = False

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def available(self) -> bool:
        """Would a call be admitted now (without taking a permit)?"""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            return self._clock() - self._opened_at >= self.cooldown_s
        return not self._trial_in_flight

    @property
    def retry_in_s(self) -> float:
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.cooldown_s - (self._clock() - self._opened_at))

    def acquire(self) -> Permit | None:
        """A permit to call the provider now, or None when it must be skipped."""
        if self._state is BreakerState.CLOSED:
            return Permit(self, trial=False)
        if self._state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self.cooldown_s:
                return None
            self._set(BreakerState.HALF_OPEN)
        if self._trial_in_flight:
            return None
        self._trial_in_flight = True
        return Permit(self, trial=True)

    def _set(self, state: BreakerState) -> None:
        if state is self._state:
            return
        old, self._state = self._state, state
        log.info("breaker.state_changed", provider=self.name, old=old.value, new=state.value)
        if self._on_change is not None:
            self._on_change(self.name, old, state)

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._set(BreakerState.OPEN)

    def _on_success(self, permit: Permit) -> None:
        if permit.trial:
            self._trial_in_flight = False
        self._failures = 0
        self.misconfigured = False
        self._set(BreakerState.CLOSED)  # any answer proves the provider works

    def _on_failure(self, permit: Permit, *, permanent: bool) -> None:
        if permit.trial:
            self._trial_in_flight = False
        self._failures += 1
        if permanent:
            self.misconfigured = True
            log.error("provider.misconfigured", provider=self.name)
        if permit.trial or permanent or self._failures >= self.failure_threshold:
            self._open()

    def _on_release(self, permit: Permit) -> None:
        if permit.trial:
            self._trial_in_flight = False
