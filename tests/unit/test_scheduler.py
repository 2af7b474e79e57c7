import asyncio

import pytest

from drtranscribe.transcription.scheduler import PrioritySlots

pytestmark = pytest.mark.unit


async def _queued_job(
    slots: PrioritySlots, priority: int, queued: asyncio.Event, body: asyncio.Event | None = None
) -> None:
    # Setting ``queued`` and entering the wait happen in one step of this task, so once the
    # test sees the event, this job is in the scheduler's queue.
    queued.set()
    async with slots.slot(priority):
        if body is not None:
            await body.wait()


async def test_free_slot_goes_to_the_most_urgent_waiter() -> None:
    slots = PrioritySlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def job(name: str, priority: int, queued: asyncio.Event, hold: bool = False) -> None:
        queued.set()
        async with slots.slot(priority):
            if hold:
                await release.wait()
            order.append(name)

    holder_in = asyncio.Event()
    holder = asyncio.create_task(job("holder", 0, holder_in, hold=True))
    await holder_in.wait()
    tasks = []
    for name, priority in [("final-1", 1), ("final-2", 1), ("interim", 0)]:
        queued = asyncio.Event()
        tasks.append(asyncio.create_task(job(name, priority, queued)))
        await queued.wait()
    assert slots.waiting == 3
    release.set()
    await asyncio.gather(holder, *tasks)
    assert order == ["holder", "interim", "final-1", "final-2"]


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    slots = PrioritySlots(1)
    hold = asyncio.Event()
    holding = asyncio.Event()
    holder = asyncio.create_task(_queued_job(slots, 0, holding, hold))
    await holding.wait()
    queued = asyncio.Event()
    waiter = asyncio.create_task(_queued_job(slots, 0, queued))
    await queued.wait()
    assert slots.waiting == 1
    waiter.cancel()
    hold.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async with asyncio.timeout(1), slots.slot(0):
        assert slots.waiting == 0
