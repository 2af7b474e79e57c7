import pytest

from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(breaker: CircuitBreaker, *, permanent: bool = False) -> None:
    permit = breaker.acquire()
    assert permit is not None
    permit.failure(permanent=permanent)


def test_opens_after_three_consecutive_failures_only() -> None:
    breaker = CircuitBreaker("p", clock=Clock())
    _fail(breaker)
    _fail(breaker)
    permit = breaker.acquire()
    assert permit is not None
    permit.success()  # resets the count
    _fail(breaker)
    _fail(breaker)
    assert breaker.state is BreakerState.CLOSED
    _fail(breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is None
    assert not breaker.available


def test_half_open_admits_exactly_one_trial_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", cooldown_s=30, clock=clock)
    for _ in range(3):
        _fail(breaker)
    clock.now += 29.9
    assert breaker.acquire() is None
    assert breaker.retry_in_s == pytest.approx(0.1)
    clock.now += 0.1
    trial = breaker.acquire()
    assert trial is not None
    assert trial.trial
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() is None  # everyone else goes to the fallback
    assert breaker.acquire() is None
    trial.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.acquire() is not None


def test_failed_trial_reopens_for_a_new_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", cooldown_s=30, clock=clock)
    for _ in range(3):
        _fail(breaker)
    clock.now += 30
    _fail(breaker)
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert breaker.acquire() is None


def test_cancelled_trial_frees_the_trial_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", cooldown_s=1, clock=clock)
    for _ in range(3):
        _fail(breaker)
    clock.now += 1
    trial = breaker.acquire()
    assert trial is not None
    trial.release()
    assert breaker.state is BreakerState.HALF_OPEN
    again = breaker.acquire()
    assert again is not None
    assert again.trial


def test_permanent_error_opens_at_once_and_flags_configuration() -> None:
    changes: list[tuple[str, str, str]] = []
    breaker = CircuitBreaker(
        "p", clock=Clock(), on_change=lambda n, a, b: changes.append((n, a.value, b.value))
    )
    _fail(breaker, permanent=True)
    assert breaker.state is BreakerState.OPEN
    assert breaker.misconfigured
    assert changes == [("p", "closed", "open")]


def test_outcome_is_counted_once_per_permit() -> None:
    breaker = CircuitBreaker("p", clock=Clock())
    permit = breaker.acquire()
    assert permit is not None
    permit.failure()
    permit.failure()
    permit.failure()
    assert breaker.state is BreakerState.CLOSED
