"""The demo EMR page in a real browser: a clinician starts the visit, the fake microphone
(a committed consultation fixture) speaks, and the words and the medication appear; the
visit ends with the final note, items point at their evidence, the note exports as text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import launch
from tests.browser.proxy import SwitchableProxy
from tests.conftest import ServerProcess, SpeechFixture, start_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser(speech: dict[str, SpeechFixture]) -> AsyncIterator[Browser]:
    async for b in launch(speech["consult_short"].path.resolve()):
        yield b


async def _visit(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url + "/")
    return page


async def test_a_visit_fills_the_transcript_and_the_note(
    browser: Browser, server: ServerProcess
) -> None:
    page = await _visit(browser, server.http_url)
    await expect(page.locator("#connection")).to_have_text("Not started")
    await page.get_by_role("button", name="Start visit").click()
    await expect(page.locator("#connection")).to_have_text("Live", timeout=20_000)

    transcript = page.locator("#transcript")
    await expect(transcript).to_contain_text("brings you in", timeout=30_000)
    await expect(page.locator("#note")).to_contain_text("ibuprofen", timeout=40_000)
    await expect(page.locator(".segment").first).to_be_visible()
    await expect(transcript).to_contain_text("allergies", timeout=40_000)  # the last words

    await page.get_by_role("button", name="End visit").click()
    await expect(page.locator("#connection")).to_have_text("Visit ended", timeout=60_000)
    # a finished visit leaves nothing behind in the browser: no audio, no resume token
    kept = await page.evaluate(
        "async () => (await import('/client/v1/idb-outbox.js')).IdbOutbox.unfinished()"
    )
    assert kept is None
    # every segment is final: nothing shown as provisional speech any more
    await expect(page.locator(".segment.interim")).to_have_count(0)
    medication = page.locator(".note-item", has_text="ibuprofen")
    await expect(medication).to_contain_text("400 mg")

    # clicking an item highlights the segments it rests on
    await medication.click()
    highlighted = page.locator(".segment.evidence")
    await expect(highlighted).not_to_have_count(0)
    await expect(highlighted.first).to_contain_text("ibuprofen")

    # export: the note as text on the clipboard, with its sections
    await page.get_by_role("button", name="Copy note").click()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert "MEDICATIONS" in copied
    assert "ibuprofen" in copied
    assert page.errors == []  # type: ignore[attr-defined]
    await page.screenshot(path=str(server.data_dir / "demo-page.png"), full_page=True)


async def test_the_page_is_served_with_a_strict_content_security_policy(
    server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        page = await client.get("/")
        library = await client.get("/client/v1/index.js")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert library.status_code == 200
    assert library.headers["content-type"].startswith("text/javascript")
    assert "api_key" not in page.text  # no key in the page; the page asks for stream tokens


KEY = "kc_" + "c3" * 16


async def test_a_service_with_api_keys_asks_for_one_and_keeps_it_out_of_urls(
    browser: Browser, redis_url: str, tmp_path: Path
) -> None:
    proxy = SwitchableProxy(0)
    await proxy.start()  # the page's origin must be on the service's list: known first
    keys = [{"id": "clinic-c-web", "tenant": "clinic-c", "key": KEY}]
    secured = start_server(
        tmp_path,
        {
            "DRT_REDIS_URL": redis_url,
            "DRT_SECRET_DRTRANSCRIBE_API_KEYS": json.dumps(keys),
            "DRT_AUTH__ALLOWED_ORIGINS": json.dumps([proxy.http_url]),
        },
    )
    proxy.switch_to(secured.port)
    try:
        page = await _visit(browser, proxy.http_url)
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        page.on("websocket", lambda ws: urls.append(ws.url))
        await page.get_by_role("button", name="Start visit").click()
        await expect(page.get_by_label("This service needs an API key")).to_be_focused()
        await page.get_by_label("This service needs an API key").fill(KEY)
        await page.get_by_role("button", name="Use key").click()
        await expect(page.locator("#connection")).to_have_text("Live", timeout=20_000)
        await expect(page.locator("#transcript")).to_contain_text("brings you in", timeout=30_000)
        await page.get_by_role("button", name="End visit").click()
        await expect(page.locator("#connection")).to_have_text("Visit ended", timeout=60_000)
        assert any("/v1/stream?token=st_" in url for url in urls)
        assert not any(KEY in url for url in urls)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await proxy.stop()
        stop_server(secured)
