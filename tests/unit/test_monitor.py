import pytest

from drtranscribe.errors import ProviderConnectionError, ProviderStatusError
from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker
from drtranscribe.resilience.monitor import ProviderMonitor

pytestmark = pytest.mark.unit


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Probed:
    def __init__(self, name: str, outcomes: list[Exception | None]) -> None:
        self.name = name
        self.outcomes = outcomes
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        permit = breaker.acquire()
        assert permit is not None
        permit.failure()


async def test_probe_after_cooldown_closes_a_recovered_provider() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", cooldown_s=30, clock=clock)
    provider = Probed("p", [None])
    monitor = ProviderMonitor([(provider, breaker)], interval_s=300)
    _open(breaker)
    assert await monitor.probe_once(provider, breaker) is False  # still cooling down
    assert provider.probes == 0
    clock.now = 30
    assert monitor.due(clock.now + 1) == [(provider, breaker)]
    assert await monitor.probe_once(provider, breaker) is True
    assert breaker.state is BreakerState.CLOSED


async def test_failed_probes_count_like_calls() -> None:
    breaker = CircuitBreaker("p", clock=Clock())
    provider = Probed("p", [ProviderConnectionError("p")] * 3)
    monitor = ProviderMonitor([(provider, breaker)], interval_s=300)
    for _ in range(3):
        assert await monitor.probe_once(provider, breaker) is False
    assert breaker.state is BreakerState.OPEN


async def test_a_bad_key_is_found_by_the_probe() -> None:
    breaker = CircuitBreaker("p", clock=Clock())
    provider = Probed("p", [ProviderStatusError("p", 401)])
    await ProviderMonitor([(provider, breaker)], interval_s=300).probe_once(provider, breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.misconfigured


def test_periodic_schedule() -> None:
    breaker = CircuitBreaker("p", clock=Clock())
    provider = Probed("p", [])
    monitor = ProviderMonitor([(provider, breaker)], interval_s=60)
    assert monitor.due(0.0) == [(provider, breaker)]
    monitor._last["p"] = 0.0
    assert monitor.due(59.0) == []
    assert monitor.due(60.0) == [(provider, breaker)]


async def test_what_a_provider_logs_during_its_probe_is_marked_as_the_probe() -> None:
    import structlog

    class Logging(Probed):
        async def probe(self) -> None:
            structlog.get_logger("test").info("extract.done", provider=self.name)

    provider = Logging("local", [])
    monitor = ProviderMonitor([(provider, CircuitBreaker("local"))], interval_s=300)
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        assert await monitor.probe_once(provider, monitor.targets[0][1]) is True
        structlog.get_logger("test").info("after")
    marked = {e["event"]: e.get("probe") for e in logs}
    assert marked == {"extract.done": "local", "provider.probe_ok": None, "after": None}
