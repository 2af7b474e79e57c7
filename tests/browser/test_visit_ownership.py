"""Who may carry on a visit the browser kept: the tab that streams it (a second tab of the
same browser leaves it alone), and, on a service with API keys, only once the clinician
gives the key again after a reload (the page keeps no key); nothing recorded is lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import launch
from tests.browser.proxy import SwitchableProxy
from tests.browser.test_visit_resilience import WORDS, _recorded, _session_id
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.browser

KEY = "kc_" + "d4" * 16


@pytest.fixture
async def browser(speech: dict[str, SpeechFixture]) -> AsyncIterator[Browser]:
    async for b in launch(speech["consult_short"].path.resolve()):
        yield b


async def test_a_second_tab_leaves_the_visit_to_the_tab_that_streams_it(
    browser: Browser, server: ServerProcess
) -> None:
    context = await browser.new_context()
    first = await context.new_page()
    await first.goto(server.http_url + "/")
    await first.get_by_role("button", name="Start visit").click()
    await expect(first.locator("#transcript")).to_contain_text(WORDS[0], timeout=30_000)
    session_id = await _session_id(first)

    second = await context.new_page()  # same browser, same IndexedDB: it finds the visit
    sockets: list[str] = []
    second.on("websocket", lambda ws: sockets.append(ws.url))
    await second.goto(server.http_url + "/")
    await expect(second.locator("#connection")).to_have_text("Open in another tab")
    await expect(second.locator("#status-detail")).to_have_text(
        "This visit continues in another tab."
    )
    assert sockets == []  # it never connected, so it took nothing over

    await expect(first.locator("#transcript")).to_contain_text(WORDS[-1], timeout=60_000)
    await expect(first.locator("#connection")).to_have_text("Live")
    await first.get_by_role("button", name="End visit").click()
    await expect(first.locator("#connection")).to_have_text("Visit ended", timeout=60_000)
    record = await _recorded(server.http_url, session_id)
    assert record["status"] == "finished"


async def test_a_reload_on_a_keyed_service_asks_for_the_key_before_resuming(
    browser: Browser, redis_url: str, tmp_path: Path
) -> None:
    proxy = SwitchableProxy(0)
    await proxy.start()  # the page's origin must be on the service's list: known first
    keys = [{"id": "clinic-d-web", "tenant": "clinic-d", "key": KEY}]
    secured = start_server(
        tmp_path,
        {
            "DRT_REDIS_URL": redis_url,
            "DRT_SECRET_DRTRANSCRIBE_API_KEYS": json.dumps(keys),
            "DRT_AUTH__ALLOWED_ORIGINS": json.dumps([proxy.http_url]),
            # stream tokens this short are always renewed to reconnect: the key is needed
            "DRT_AUTH__STREAM_TOKEN_TTL_S": "8",
        },
    )
    proxy.switch_to(secured.port)
    try:
        page = await (await browser.new_context()).new_page()
        await page.goto(proxy.http_url + "/")
        await page.get_by_role("button", name="Start visit").click()
        await page.get_by_label("This service needs an API key").fill(KEY)
        await page.get_by_role("button", name="Use key").click()
        await expect(page.locator("#transcript")).to_contain_text(WORDS[0], timeout=30_000)
        session_id = await _session_id(page)

        await page.reload()
        await expect(page.locator("#connection")).to_have_text("Needs the API key")
        key_field = page.get_by_label("This service needs an API key")
        await expect(key_field).to_be_focused()
        await key_field.fill(KEY)
        await page.get_by_role("button", name="Use key").click()
        await expect(page.locator("#connection")).to_contain_text("Resumed", timeout=30_000)
        assert await _session_id(page) == session_id
        await expect(page.locator("#transcript")).to_contain_text(WORDS[0])
        await page.get_by_role("button", name="End visit").click()
        await expect(page.locator("#connection")).to_have_text("Visit ended", timeout=60_000)
        record = await _recorded(proxy.http_url, session_id, KEY)
    finally:
        await proxy.stop()
        stop_server(secured)
    assert record["status"] == "finished"
    assert WORDS[0] in " ".join(s["text"] for s in record["transcript"]).lower()
