"""How long the event loop stalls: everything a process serves waits behind a stall
(an ack, every session's transcript), so its length is the first thing load shows.

A task asks to wake every ``interval_s``; how late it wakes is the stall. Each lateness is
observed in ``drt_event_loop_lag_seconds`` and the longest seen is in
``drt_event_loop_lag_max_seconds``. The cost is one wake-up per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator

from drtranscribe.metrics import Metrics

INTERVAL_S = 0.05


async def _watch(metrics: Metrics, interval_s: float) -> None:
    worst = 0.0
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval_s)
        late = max(0.0, time.perf_counter() - before - interval_s)
        metrics.loop_lag.observe(late)
        if late > worst:
            worst = late
            metrics.loop_lag_max.set(worst)


@contextlib.asynccontextmanager
async def watching_the_loop(
    metrics: Metrics, interval_s: float = INTERVAL_S
) -> AsyncIterator[None]:
    task = asyncio.create_task(_watch(metrics, interval_s), name="loop-watch")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def freeze_startup_objects() -> None:
    """Start-up made most of the process's objects (modules, models, schemas) and they live
    as long as it does: moved out of the collector's reach, so a full collection walks
    only what sessions create (gc.freeze, Python >= 3.7). A collection first, so no
    garbage is frozen with them."""
    gc.collect()
    gc.freeze()
