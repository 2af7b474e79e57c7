"""The Chrome extension under test: built from the repository (``devtools/extension.py``),
loaded into Debian's Chromium by Playwright (a persistent context: extensions need one),
with a stand-in for a Google Meet call served at Meet's own origin, where the extension's
content script runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from devtools.extension import build, extension_id
from playwright.async_api import BrowserContext, Page, Route, async_playwright

from tests.browser.conftest import CHROMIUM
from tests.conftest import FIXTURES

MEET = Path(__file__).resolve().parent / "meet"
SOUND = FIXTURES / "consult_short.wav"
MEETING_URL = "https://meet.google.com/abc-defg-hij"
EXTENSION_ID = extension_id()
EXTENSION_ORIGIN = f"chrome-extension://{EXTENSION_ID}"
PANEL_URL = f"{EXTENSION_ORIGIN}/panel/panel.html"


async def _serve_meet(route: Route) -> None:
    path = route.request.url.removeprefix("https://meet.google.com")
    if path == "/__fixture__/sound.wav":  # a participant talking
        await route.fulfill(body=SOUND.read_bytes(), content_type="audio/wav")
    elif path.startswith("/__fixture__/"):
        body = (MEET / path.removeprefix("/__fixture__/")).read_bytes()
        await route.fulfill(body=body, content_type="text/javascript")
    else:
        await route.fulfill(body=(MEET / "meet.html").read_bytes(), content_type="text/html")


@asynccontextmanager
async def extension_browser(
    tmp: Path, microphone: Path | None = None
) -> AsyncIterator[BrowserContext]:
    built = build(tmp / "extension")
    args = [
        "--headless=new",
        f"--disable-extensions-except={built}",
        f"--load-extension={built}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    if microphone is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}%noloop",
        ]
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp / "profile", executable_path=CHROMIUM, headless=False, args=args
        )
        try:
            await context.route("https://meet.google.com/**", _serve_meet)
            if not context.service_workers:  # the extension is loaded once its worker runs
                await context.wait_for_event("serviceworker", timeout=10_000)
            yield context
        finally:
            await context.close()


async def open_meeting(context: BrowserContext) -> Page:
    page = await context.new_page()
    await page.goto(MEETING_URL)
    await page.wait_for_selector("html[data-ready]", state="attached")
    return page


async def open_panel(context: BrowserContext, **settings: object) -> Page:
    """The visit panel (as a tab: a side panel opens only from a click on the toolbar),
    with ``settings`` stored first."""
    panel = await context.new_page()
    await panel.goto(PANEL_URL)
    await panel.evaluate("(settings) => chrome.storage.local.set(settings)", settings)
    await panel.reload()
    return panel


async def play(meeting: Page, turns: list[dict[str, object]]) -> None:
    await meeting.evaluate("(turns) => window.meet.play(turns)", turns)
