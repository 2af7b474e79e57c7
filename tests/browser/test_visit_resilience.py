"""A visit in the demo page survives what happens in clinics: the serving instance is
SIGKILLed (another takes over behind the same URL), the browser goes offline for 20 s, the
page is reloaded. Nothing recorded is lost and nothing is doubled: the service's record of
the session (``GET /v1/sessions/{id}``) has every second of the microphone's audio once.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import launch
from tests.browser.proxy import SwitchableProxy
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.browser

WORDS = ("brings you in", "ibuprofen", "allergies")
#: Connected again: "Resumed" until the next chunk is acked, then "Live".
BACK = re.compile(r"^(Resumed|Live)")


@pytest.fixture
async def browser(speech: dict[str, SpeechFixture]) -> AsyncIterator[Browser]:
    async for b in launch(speech["consult_short"].path.resolve()):
        yield b


async def _open(browser: Browser, url: str) -> tuple[Page, Any]:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url + "/")
    return page, context


async def _session_id(page: Page) -> str:
    await expect(page.locator("#session-id")).to_contain_text("Session s_")
    return (await page.inner_text("#session-id")).removeprefix("Session ").strip()


async def _finish(page: Page) -> None:
    await expect(page.locator("#transcript")).to_contain_text(WORDS[-1], timeout=60_000)
    await page.get_by_role("button", name="End visit").click()
    await expect(page.locator("#connection")).to_have_text("Visit ended", timeout=60_000)


async def _recorded(base_url: str, session_id: str, key: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        response = await client.get(f"/v1/sessions/{session_id}")
    assert response.status_code == 200
    record: dict[str, Any] = response.json()
    return record


def _no_gap_no_double(record: dict[str, Any], fixture: SpeechFixture) -> None:
    assert record["status"] == "finished"
    text = " ".join(s["text"] for s in record["transcript"]).lower()
    for words in ("brings you in", "headache", "ibuprofen", "no allergies"):
        assert text.count(words) == 1, (words, text)  # heard once: no gap, no double
    # every second the microphone gave was stored once, in order (chunks of 5 s)
    assert record["duration_s"] >= fixture.duration_s
    ids = [s["id"] for s in record["transcript"]]
    assert len(ids) == len(set(ids))


async def test_the_serving_instance_dies_and_another_takes_over(
    browser: Browser,
    server: ServerProcess,
    redis_url: str,
    speech: dict[str, SpeechFixture],
) -> None:
    doomed = start_server(server.data_dir, {"DRT_REDIS_URL": redis_url})
    proxy = SwitchableProxy(doomed.port)
    await proxy.start()
    try:
        page, _ = await _open(browser, proxy.http_url)
        await page.get_by_role("button", name="Start visit").click()
        await expect(page.locator("#transcript")).to_contain_text(WORDS[0], timeout=30_000)
        session_id = await _session_id(page)

        doomed.proc.send_signal(signal.SIGKILL)
        assert doomed.proc.wait(timeout=30) == -signal.SIGKILL
        proxy.switch_to(server.port)  # the load balancer's next instance
        await expect(page.locator("#connection")).not_to_have_text("Live", timeout=20_000)

        await expect(page.locator("#connection")).to_have_text(BACK, timeout=30_000)
        await _finish(page)
        assert await _session_id(page) == session_id
    finally:
        await proxy.stop()
        stop_server(doomed)
    _no_gap_no_double(await _recorded(server.http_url, session_id), speech["consult_short"])


async def test_twenty_seconds_offline_lose_nothing(
    browser: Browser, server: ServerProcess, redis_url: str, speech: dict[str, SpeechFixture]
) -> None:
    # stream tokens that expire during the outage: coming back needs a renewed one
    short_lived = start_server(
        server.data_dir, {"DRT_REDIS_URL": redis_url, "DRT_AUTH__STREAM_TOKEN_TTL_S": "8"}
    )
    try:
        await _offline_visit(browser, short_lived, speech)
    finally:
        stop_server(short_lived)


async def _offline_visit(
    browser: Browser, server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    page, context = await _open(browser, server.http_url)
    await page.get_by_role("button", name="Start visit").click()
    await expect(page.locator("#connection")).to_have_text("Live", timeout=20_000)
    session_id = await _session_id(page)

    await context.set_offline(True)
    await expect(page.locator("#connection")).not_to_have_text("Live", timeout=20_000)
    await asyncio.sleep(20)  # the outage itself (not a wait for anything)
    await context.set_offline(False)

    await expect(page.locator("#connection")).to_have_text(BACK, timeout=30_000)
    await _finish(page)
    _no_gap_no_double(await _recorded(server.http_url, session_id), speech["consult_short"])


async def test_a_reload_mid_visit_resumes_the_same_session(
    browser: Browser, server: ServerProcess
) -> None:
    page, _ = await _open(browser, server.http_url)
    await page.get_by_role("button", name="Start visit").click()
    await expect(page.locator("#transcript")).to_contain_text(WORDS[0], timeout=30_000)
    session_id = await _session_id(page)

    await page.reload()
    await expect(page.locator("#connection")).to_contain_text("Resumed", timeout=30_000)
    assert await _session_id(page) == session_id
    # what was said before the reload is back on screen, from the service
    await expect(page.locator("#transcript")).to_contain_text(WORDS[0])
    await page.get_by_role("button", name="End visit").click()
    await expect(page.locator("#connection")).to_have_text("Visit ended", timeout=60_000)

    record = await _recorded(server.http_url, session_id)
    assert record["status"] == "finished"
    assert WORDS[0] in " ".join(s["text"] for s in record["transcript"]).lower()
