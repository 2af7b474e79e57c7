"""The fallback chain under injected faults, with in-process fake providers."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from drtranscribe.errors import (
    AllProvidersFailed,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
)
from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker
from drtranscribe.resilience.chain import ChainPolicy, FallbackChain
from drtranscribe.resilience.retry import RetryPolicy

pytestmark = pytest.mark.unit


class FakeProvider:
    """Answers from a script: a string is an answer, an exception is raised, "hang" hangs."""

    def __init__(self, name: str, script: list[object] | None = None, default: object = "ok"):
        self.name = name
        self.script = list(script or [])
        self.default = default
        self.calls = 0
        self.started = asyncio.Event()
        self.cancelled = 0
        self.release = asyncio.Event()

    async def answer(self) -> str:
        self.calls += 1
        self.started.set()
        step = self.script.pop(0) if self.script else self.default
        if step == "hang":
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return f"{self.name}:late"
        if isinstance(step, BaseException):
            raise step
        return f"{self.name}:{step}"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _chain(
    *providers: FakeProvider, hedge: float | None = None, attempts: int = 3, deadline: float = 10
) -> tuple[FallbackChain[FakeProvider], Sleeps]:
    sleeps = Sleeps()
    policy = ChainPolicy(
        deadline_s=deadline, hedge_after_s=hedge, retry=RetryPolicy(attempts=attempts)
    )
    return FallbackChain(list(providers), kind="test", policy=policy, sleep=sleeps), sleeps


async def _ask(provider: FakeProvider) -> str:
    return await provider.answer()


async def test_healthy_primary_answers() -> None:
    a, b = FakeProvider("a"), FakeProvider("b")
    chain, sleeps = _chain(a, b)
    assert await chain.call(_ask) == "a:ok"
    assert b.calls == 0
    assert sleeps.waits == []


@pytest.mark.parametrize(
    "fault",
    [ProviderConnectionError("a"), ProviderStatusError("a", 503), ProviderStatusError("a", 429)],
)
async def test_a_failure_moves_to_the_fallback_without_any_backoff(fault: ProviderError) -> None:
    a, b = FakeProvider("a", [fault]), FakeProvider("b")
    chain, sleeps = _chain(a, b)
    result = await chain.call_detailed(_ask)
    assert (result.value, result.provider, result.attempts) == ("b:ok", "b", 1)
    assert sleeps.waits == []  # no backoff in front of the healthy fallback


async def test_all_failing_retries_rounds_with_backoff_then_names_everyone() -> None:
    a = FakeProvider("a", default=ProviderStatusError("a", 500))
    b = FakeProvider("b", default=ProviderConnectionError("b"))
    chain, sleeps = _chain(a, b)
    with pytest.raises(AllProvidersFailed) as info:
        await chain.call(_ask)
    assert "a (status)" in str(info.value)
    assert "b (connection)" in str(info.value)
    assert len(sleeps.waits) == 2
    assert 1.0 <= sleeps.waits[0] <= 1.5
    assert 2.0 <= sleeps.waits[1] <= 2.5
    assert a.calls == 3  # the third failure opened a's breaker
    assert chain.breakers["a"].state is BreakerState.OPEN


async def test_retry_after_is_honoured_between_rounds() -> None:
    a = FakeProvider("a", [ProviderStatusError("a", 429, retry_after_s=7.0)])
    chain, sleeps = _chain(a)
    assert await chain.call(_ask) == "a:ok"
    assert sleeps.waits == [7.0]


async def test_recovery_in_a_later_round() -> None:
    a = FakeProvider("a", [ProviderStatusError("a", 502), ProviderStatusError("a", 502)])
    chain, sleeps = _chain(a)
    result = await chain.call_detailed(_ask)
    assert (result.value, result.attempts) == ("a:ok", 3)
    assert len(sleeps.waits) == 2


async def test_permanent_error_is_not_retried_and_opens_the_breaker() -> None:
    a = FakeProvider("a", [ProviderStatusError("a", 401)])
    b = FakeProvider("b", default=ProviderStatusError("b", 403))
    chain, sleeps = _chain(a, b)
    with pytest.raises(AllProvidersFailed) as info:
        await chain.call(_ask)
    assert not info.value.retryable
    assert sleeps.waits == []
    assert chain.breakers["a"].state is BreakerState.OPEN
    assert chain.breakers["a"].misconfigured


async def test_open_breaker_skips_the_provider_at_no_cost() -> None:
    a, b = FakeProvider("a"), FakeProvider("b")
    chain, _ = _chain(a, b)
    chain.breakers["a"] = CircuitBreaker("a", cooldown_s=3600)
    for _ in range(3):
        permit = chain.breakers["a"].acquire()
        assert permit is not None
        permit.failure()
    assert await chain.call(_ask) == "b:ok"
    assert a.calls == 0
    assert chain.available() == ["b"]


async def test_hedging_asks_the_next_provider_and_the_first_answer_wins() -> None:
    a, b = FakeProvider("a", ["hang"]), FakeProvider("b")
    chain, _ = _chain(a, b, hedge=0.05)
    result = await chain.call_detailed(_ask)
    assert result.provider == "b"
    assert a.cancelled == 1  # the slow call is cancelled
    assert a.calls == b.calls == 1


async def test_a_hanging_primary_opens_its_breaker_after_three_lost_hedges() -> None:
    a, b = FakeProvider("a", default="hang"), FakeProvider("b")
    chain, _ = _chain(a, b, hedge=0.02)
    for _ in range(3):
        assert await chain.call(_ask) == "b:ok"
    assert chain.breakers["a"].state is BreakerState.OPEN
    assert await chain.call(_ask) == "b:ok"  # now at no added latency: a is skipped
    assert a.calls == 3


async def test_a_hedge_that_loses_is_not_held_against_the_fallback() -> None:
    a, b = FakeProvider("a", ["hang"]), FakeProvider("b", ["hang"])
    chain, _ = _chain(a, b, hedge=0.01)
    call = asyncio.create_task(chain.call_detailed(_ask))
    await b.started.wait()
    a.release.set()
    assert (await call).provider == "a"
    assert b.cancelled == 1
    permit = chain.breakers["b"].acquire()  # b's record is clean: three more failures needed
    assert permit is not None
    permit.failure()
    permit = chain.breakers["b"].acquire()
    assert permit is not None
    permit.failure()
    assert chain.breakers["b"].state is BreakerState.CLOSED


async def test_a_per_call_hedge_budget_overrides_the_policy() -> None:
    a, b = FakeProvider("a", ["hang"]), FakeProvider("b")
    chain, _ = _chain(a, b, hedge=None)
    assert (await chain.call_detailed(_ask, hedge_after_s=0.01)).provider == "b"


async def test_slow_primary_still_wins_if_it_answers_first() -> None:
    a, b = FakeProvider("a", ["hang"]), FakeProvider("b", ["hang"])
    chain, _ = _chain(a, b, hedge=0.01)
    call = asyncio.create_task(chain.call_detailed(_ask))
    await b.started.wait()  # both are in flight now
    a.release.set()
    result = await call
    assert result.provider == "a"
    assert b.cancelled == 1


async def test_the_chain_deadline_bounds_a_hang() -> None:
    a = FakeProvider("a", default="hang")
    chain, _ = _chain(a, deadline=0.1)
    with pytest.raises(AllProvidersFailed, match="deadline"):
        await chain.call(_ask)
    assert a.cancelled >= 1


async def test_a_provider_bug_is_a_failure_not_a_crash() -> None:
    a, b = FakeProvider("a", [KeyError("x")]), FakeProvider("b")
    chain, _ = _chain(a, b)
    assert await chain.call(_ask) == "b:ok"


async def test_half_open_lets_one_trial_through_while_others_use_the_fallback() -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    a, b = FakeProvider("a", ["hang"]), FakeProvider("b")
    chain, _ = _chain(a, b)
    chain.breakers["a"] = CircuitBreaker("a", cooldown_s=30, clock=clock)
    for _ in range(3):
        permit = chain.breakers["a"].acquire()
        assert permit is not None
        permit.failure()
    clock.now = 31.0
    trial = asyncio.create_task(chain.call(_ask))
    await a.started.wait()  # the trial call is in flight on a
    others = await asyncio.gather(*(chain.call(_ask) for _ in range(5)))
    assert others == ["b:ok"] * 5
    assert a.calls == 1
    a.release.set()
    assert await trial == "a:late"
    assert chain.breakers["a"].state is BreakerState.CLOSED


class LastResort(FakeProvider):
    hedge_target = False  # as the local rules extractor


async def test_a_last_resort_is_not_raced_but_asked_after_a_failure() -> None:
    a, b = FakeProvider("a", [ProviderConnectionError("a")]), LastResort("b")
    chain, _ = _chain(a, b, hedge=0.005, attempts=1)
    assert (await chain.call_detailed(_ask)).provider == "b"  # a failed: b at once
    assert b.calls == 1


async def test_a_last_resort_still_answers_before_the_deadline_when_the_others_hang() -> None:
    a, b = FakeProvider("a", default="hang"), FakeProvider("b", default="hang")
    local = LastResort("local")
    # Deadline 2.3 s: b is hedged to at once; local is held back from the race (tens of
    # hedge budgets pass) and launched 2 s before the end, in time to answer.
    chain, _ = _chain(a, b, local, hedge=0.01, attempts=1, deadline=2.3)
    with structlog.testing.capture_logs() as logs:
        result = await chain.call_detailed(_ask)
    assert result.provider == "local"
    events = [e["event"] for e in logs]
    assert events.count("chain.hedged") == 1  # a -> b only; never -> local
    assert "chain.last_resort" in events
    assert a.cancelled == b.cancelled == 1
    assert local.calls == 1


async def test_the_default_schedule_is_the_seeds_three_retries_after_1_2_4_s() -> None:
    from drtranscribe.config import Settings

    for config in (Settings().resilience.stt, Settings().resilience.extraction):
        a = FakeProvider("a", default=ProviderConnectionError("a"))
        sleeps = Sleeps()
        policy = ChainPolicy(
            deadline_s=config.deadline_s,
            retry=RetryPolicy(
                attempts=config.retry_attempts,
                initial_s=config.backoff_initial_s,
                max_s=config.backoff_max_s,
            ),
        )
        breaker = CircuitBreaker("a", failure_threshold=10)
        chain = FallbackChain(
            [a], kind="test", policy=policy, breakers={"a": breaker}, sleep=sleeps
        )
        with pytest.raises(AllProvidersFailed):
            await chain.call(_ask)
        assert a.calls == 4
        assert [int(w) for w in sleeps.waits] == [1, 2, 4]  # plus jitter under 0.5 s


def test_last_resort_names_the_last_provider_once_every_other_is_out() -> None:
    a, b, local = FakeProvider("a"), FakeProvider("b"), FakeProvider("local")
    chain, _ = _chain(a, b, local)
    assert chain.last_resort() is None
    for name in ("a", "b"):
        assert chain.last_resort() is None  # one cloud provider still closed
        for _ in range(chain.breakers[name].failure_threshold):
            permit = chain.breakers[name].acquire()
            assert permit is not None
            permit.failure()
    assert chain.last_resort() == "local"
    single, _ = _chain(FakeProvider("local"))
    assert single.last_resort() is None  # configured so, not degraded


def test_build_chain_logs_and_measures_degraded_and_recovered() -> None:
    from drtranscribe.config import ChainSettings
    from drtranscribe.metrics import Metrics
    from drtranscribe.runtime import build_chain

    metrics = Metrics()
    a, local = FakeProvider("a"), FakeProvider("local")
    config = ChainSettings(failure_threshold=1, cooldown_s=0)
    chain = build_chain([a, local], "stt", config, metrics)
    breaker = chain.breakers["a"]
    gauge = metrics.chain_last_resort.labels("stt")
    with structlog.testing.capture_logs() as logs:
        permit = breaker.acquire()
        assert permit is not None
        permit.failure()  # open: the chain runs on "local"
        assert gauge._value.get() == 1
        trial = breaker.acquire()  # cooled down: one half-open trial (still degraded) ...
        assert trial is not None
        assert breaker.state is BreakerState.HALF_OPEN
        assert gauge._value.get() == 1
        trial.success()  # ... which succeeds: closed again
        assert gauge._value.get() == 0
    events = [(e["event"], e.get("running_on")) for e in logs if e["event"].startswith("chain.")]
    assert events == [("chain.degraded", "local"), ("chain.recovered", None)]
