"""The event-loop stall monitor sees a stall, and start-up objects are frozen."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from drtranscribe.loop_watch import freeze_startup_objects, watching_the_loop
from drtranscribe.metrics import Metrics

pytestmark = pytest.mark.unit


async def test_a_blocked_loop_is_measured_as_a_stall() -> None:
    metrics = Metrics()
    stalled = 0.0
    async with watching_the_loop(metrics, interval_s=0.01):
        await asyncio.sleep(0)  # the watcher starts its first wait
        time.sleep(0.12)  # noqa: ASYNC251 - the stimulus: work that holds the loop 120 ms
        for _ in range(20):  # zero-time yields until the watcher, overdue, has run
            await asyncio.sleep(0)
            stalled = metrics.loop_lag_max._value.get()
            if stalled:
                break
    assert stalled >= 0.1
    bucket = {s.labels.get("le"): s.value for s in metrics.loop_lag.collect()[0].samples}
    assert bucket["0.05"] < bucket["+Inf"]  # one observation above 50 ms


def test_freezing_moves_objects_out_of_the_collectors_reach() -> None:
    before = gc.get_freeze_count()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
