"""The extension's caption follower on its own, in the browser, with a hand-driven clock:
how Meet's in-place rewrites become caption messages (ids, revisions, finality)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.browser.extension_harness import PANEL_URL, extension_browser

pytestmark = pytest.mark.browser

#: Steps: ["blocks", t, [[block, speaker, text], ...]] shows the region at time t (blocks
#: named by a letter: the same letter is the same element; "A'" a re-render of A's turn
#: as a new element), ["baseline", t, [...]] (on screen when following starts), ["tick", t],
#: ["flush"]. Returns what was sent, as
#: [caption_id, speaker, text, final].
FOLLOW = """async (steps) => {
    const { CaptionFollower } = await import('/content/caption-follower.js');
    let now = 0;
    const sent = [];
    const send = (c) => sent.push([c.caption_id, c.speaker, c.text, c.final]);
    const follower = new CaptionFollower({ now: () => now, prefix: 'c', send });
    const elements = {};
    const el = (name) => (elements[name] ??= document.createElement('div'));
    for (const [kind, t, blocks] of steps) {
        now = t ?? now;
        const shown = (blocks ?? []).map(([n, speaker, text]) => ({ el: el(n), speaker, text }));
        if (kind === 'baseline') follower.baseline(shown);
        if (kind === 'blocks') follower.update(shown);
        if (kind === 'tick') follower.tick();
        if (kind === 'flush') follower.flush();
    }
    return sent;
}"""


@pytest.fixture(scope="module")
async def page(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Page]:
    tmp: Path = tmp_path_factory.mktemp("follower")
    async with extension_browser(tmp) as context:
        page = await context.new_page()
        await page.goto(PANEL_URL)
        yield page


async def _follow(page: Page, steps: list[Any]) -> list[list[Any]]:
    sent: list[list[Any]] = await page.evaluate(FOLLOW, steps)
    return sent


async def test_revisions_are_paced_and_a_new_turn_makes_the_last_one_final(page: Page) -> None:
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Dr. Rivera", "What brings"]]],
        ["blocks", 100, [["A", "Dr. Rivera", "What brings you in"]]],  # within 700 ms: held
        ["tick", 800],  # now sent
        ["blocks", 900, [["A", "Dr. Rivera", "What brings you in today?"],
                         ["B", "Maria", "A headache"]]],
        ["flush"],
    ])  # fmt: skip
    assert sent == [
        ["c-1", "Dr. Rivera", "What brings", False],
        ["c-1", "Dr. Rivera", "What brings you in", False],
        ["c-1", "Dr. Rivera", "What brings you in today?", True],
        ["c-2", "Maria", "A headache", False],
        ["c-2", "Maria", "A headache", True],
    ]


async def test_a_quiet_caption_is_final_and_later_words_start_the_next(page: Page) -> None:
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", "I take listen daily"]]],
        ["tick", 3100],  # quiet for 3 s: final
        # Meet corrects a word already final (ignored), then the speaker goes on
        ["blocks", 3200, [["A", "Maria", "I take lisinopril daily"]]],
        ["blocks", 3300, [["A", "Maria", "I take lisinopril daily for my blood pressure"]]],
        ["flush"],
    ])  # fmt: skip
    assert sent == [
        ["c-1", "Maria", "I take listen daily", False],
        ["c-1", "Maria", "I take listen daily", True],
        ["c-2", "Maria", "for my blood pressure", False],
        ["c-2", "Maria", "for my blood pressure", True],
    ]


async def test_a_re_rendered_turn_keeps_its_caption_and_a_vanished_one_is_final(
    page: Page,
) -> None:
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", "No chest pain"]]],
        ["blocks", 900, [["A'", "Maria", "No chest pain at all"]]],  # a new element, same turn
        ["blocks", 1800, []],  # scrolled away
    ])  # fmt: skip
    assert sent == [
        ["c-1", "Maria", "No chest pain", False],
        ["c-1", "Maria", "No chest pain at all", False],  # the same caption, revised
        ["c-1", "Maria", "No chest pain at all", True],
    ]


async def test_what_was_on_screen_before_the_visit_is_not_sent(page: Page) -> None:
    sent = await _follow(page, [
        ["baseline", 0, [["A", "Maria", "Small talk before the visit"]]],
        ["blocks", 100, [["A", "Maria", "Small talk before the visit"]]],
        ["blocks", 200, [["A", "Maria", "Small talk before the visit"],
                         ["B", "You", "Shall we start?"]]],
        ["flush"],
    ])  # fmt: skip
    assert sent == [
        ["c-1", "You", "Shall we start?", False],
        ["c-1", "You", "Shall we start?", True],
    ]


async def test_words_after_a_repeated_or_corrected_final_tail_are_all_kept(page: Page) -> None:
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", "Yes."]]],
        ["tick", 3100],
        ["blocks", 3200, [["A", "Maria", "Yes. I think so, yes"]]],  # the tail word again
        ["tick", 6400],
        ["blocks", 6500, [["A", "Maria", "Yes. I think so, yes, for awhile and then stop"]]],
        ["flush"],
    ])  # fmt: skip
    assert [s[2] for s in sent if s[3]] == ["Yes.", "I think so, yes", "for awhile and then stop"]


async def test_a_block_meet_clears_and_starts_over_loses_nothing(page: Page) -> None:
    long = "one two three four five six seven eight nine ten"
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", long]]],
        ["blocks", 900, [["A", "Maria", "eleven twelve"]]],  # Meet cut the monologue
        ["flush"],
    ])  # fmt: skip
    assert [s[2] for s in sent if s[3]] == [long, "eleven twelve"]


async def test_a_copy_shown_for_a_moment_or_a_final_turn_re_rendered_is_not_sent_again(
    page: Page,
) -> None:
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", "No chest pain"]]],
        ["blocks", 100, [["A", "Maria", "No chest pain"], ["A2", "Maria", "No chest pain"]]],
        ["blocks", 200, [["A", "Maria", "No chest pain"], ["B", "You", "Good."]]],
        # the region re-created: new elements for the same turns
        ["blocks", 300, [["A'", "Maria", "No chest pain"], ["B'", "You", "Good."]]],
        ["flush"],
    ])  # fmt: skip
    assert sent == [
        ["c-1", "Maria", "No chest pain", False],
        ["c-1", "Maria", "No chest pain", True],
        ["c-2", "You", "Good.", False],
        ["c-2", "You", "Good.", True],
    ]


async def test_a_long_monologue_is_cut_into_captions_the_service_accepts(page: Page) -> None:
    word = "blah "
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", word * 150]]],
        ["blocks", 100, [["A", "Maria", word * 250]]],
        ["flush"],
    ])  # fmt: skip
    finals = [s[2] for s in sent if s[3]]
    assert " ".join(finals).split() == (word * 250).split()  # every word once
    assert all(len(text) <= 1000 for text in finals)


async def test_a_new_turn_opening_like_an_old_one_is_a_new_caption(page: Page) -> None:
    """Not a re-render: the earlier turn scrolled away long ago (a regression: the new
    turn's first word matched the old turn's, and its words were taken as already sent)."""
    sent = await _follow(page, [
        ["blocks", 0, [["A", "Maria", "I have had a cough for three days"]]],
        ["blocks", 100, [["A", "Maria", "I have had a cough for three days"],
                         ["B", "You", "Okay."]]],
        ["blocks", 5000, [["B", "You", "Okay."], ["C", "Maria", "I"]]],
        ["blocks", 5100, [["B", "You", "Okay."], ["C", "Maria", "I take aspirin"]]],
        ["flush"],
    ])  # fmt: skip
    assert [s[2] for s in sent if s[3]] == [
        "I have had a cough for three days",
        "Okay.",
        "I take aspirin",
    ]


# ---------------------------------------------------------------- the captions watchdog

HEALTH = """async (steps) => {
    const { CaptionHealth } = await import('/content/health.js');
    let now = 0;
    const reported = [];
    const health = new CaptionHealth({ now: () => now, notFoundMs: 2000,
        report: (status) => reported.push([now, status]) });
    const page = document.implementation.createHTMLDocument('meet');
    for (const [t, html] of steps) {
        now = t;
        page.body.innerHTML = html;
        health.check(page);
    }
    health.stop();
    return reported;
}"""

CALL = "<button><i>call_end</i></button>"
CAPTIONS = (
    '<div role="region" aria-label="Captions"><div><span>Maria</span><div>Hello</div></div></div>'
)
CC_OFF = '<button aria-pressed="false"><i>closed_caption_off</i></button>'


async def test_the_watchdog_raises_alarms_in_a_call_only(page: Page) -> None:
    reported = await page.evaluate(HEALTH, [
        [0, ""], [5000, ""],  # the lobby: no call, no captions expected
        [6000, CALL], [7000, CALL], [8000, CALL],  # in the call, no captions for 2 s
        [9000, CALL + CAPTIONS],  # captions found
        [10000, CALL + CC_OFF],  # turned off
        [11000, ""],  # the call left
    ])  # fmt: skip
    assert reported == [[8000, "captions_not_found"], [9000, "ok"], [10000, "captions_off"]]
