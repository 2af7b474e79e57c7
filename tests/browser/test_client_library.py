"""The browser client library's pure parts, run in the real browser: the JSON Patch it
keeps the note with (RFC 6902's own examples, and a real session's note messages against
the service's final note) and the empty note it starts from."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from drtranscribe.client import stream_captions
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.turns import parse_turns
from tests.browser.conftest import launch
from tests.conftest import ServerProcess, SpeechFixture

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src" / "drtranscribe" / "web" / "static"


@pytest.fixture
async def page(speech: dict[str, SpeechFixture], server: ServerProcess) -> AsyncIterator[Page]:
    browser: Browser
    async for browser in launch(speech["consult_short"].path.resolve()):
        page = await browser.new_page()
        await page.goto(server.http_url + "/")
        yield page


async def _patch(page: Page, document: Any, operations: list[dict[str, Any]]) -> Any:
    return await page.evaluate(
        """async ([document, operations]) => {
            const { applyPatch } = await import('/client/v1/jsonpatch.js');
            try { return { ok: applyPatch(document, operations) }; }
            catch (error) { return { error: error.name + ': ' + error.message }; }
        }""",
        [document, operations],
    )


# RFC 6902, Appendix A (the examples that the JSON format can carry).
RFC_EXAMPLES: list[tuple[Any, list[dict[str, Any]], Any]] = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"foo": 1}, [{"op": "copy", "from": "/foo", "path": "/bar"}], {"foo": 1, "bar": 1}),
]
RFC_ERRORS: list[tuple[Any, list[dict[str, Any]], str]] = [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], "test failed"),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], "path not found"),
    ({"foo": ["a"]}, [{"op": "remove", "path": "/foo/1"}], "out of range"),
    ({"foo": 1}, [{"op": "replace", "path": "/nope", "value": 2}], "path not found"),
    ({"foo": ["a"]}, [{"op": "add", "path": "/foo/01", "value": 2}], "bad array index"),
]


async def test_rfc_6902_examples(page: Page) -> None:
    for document, operations, expected in RFC_EXAMPLES:
        result = await _patch(page, document, operations)
        assert result == {"ok": expected}, operations
    for document, operations, message in RFC_ERRORS:
        result = await _patch(page, document, operations)
        assert message in result.get("error", ""), (operations, result)
    # the document given is never changed
    unchanged = await page.evaluate(
        """async () => {
            const { applyPatch } = await import('/client/v1/jsonpatch.js');
            const doc = { list: [1] };
            applyPatch(doc, [{ op: 'add', path: '/list/-', value: 2 }]);
            return doc;
        }"""
    )
    assert unchanged == {"list": [1]}


TRANSCRIPT = (
    "Doctor: What brings you in today?\n"
    "Patient: I have had a cough and a fever since Monday. I take lisinopril 10 mg daily.\n"
    "Doctor: Any allergies?\n"
    "Patient: Penicillin gives me a rash.\n"
    "Doctor: Actually, how much lisinopril? Twenty milligrams?\n"
    "Patient: Yes, 20 mg now.\n"
    "Doctor: We will start amoxicillin... no, azithromycin 500 mg once a day.\n"
)


async def test_the_live_model_rebuilds_the_final_note_from_the_patches(
    page: Page, server: ServerProcess
) -> None:
    events = [
        e.message
        async for e in stream_captions(server.ws_url, parse_turns(TRANSCRIPT), realtime=False)
        if e.direction == "in"
    ]
    final = events[-1]
    assert final["type"] == "final"
    assert sum(1 for m in events if m["type"] == "note") > 3  # revisions came as patches
    rebuilt = await page.evaluate(
        """async (messages) => {
            const { LiveModel } = await import('/client/v1/live-model.js');
            const model = new LiveModel();
            for (const message of messages) if (message.type !== 'final') model.receive(message);
            return { note: model.note, version: model.noteVersion,
                     segments: model.transcript().map((s) => [s.id, s.text, s.final]) };
        }""",
        events,
    )
    assert rebuilt["note"] == final["note"]
    assert rebuilt["version"] == final["note_version"]
    assert rebuilt["segments"] == [[s["id"], s["text"], s["final"]] for s in final["transcript"]]


def test_the_empty_note_is_the_services() -> None:
    source = (STATIC / "client" / "v1" / "empty-note.js").read_text(encoding="utf-8")
    literal = source[source.index("Object.freeze(") + len("Object.freeze(") : source.rindex(");")]
    as_json = re.sub(r",(\s*})", r"\1", re.sub(r"(\w+):", r'"\1":', literal))
    assert json.loads(as_json) == ClinicalNote().model_dump(mode="json")


async def test_a_reset_model_holds_nothing_of_the_last_visit(page: Page) -> None:
    """A new visit's note versions start at 1 again: a model not reset would skip them."""
    result = await page.evaluate(
        """async () => {
            const { LiveModel, EMPTY_NOTE } = await import('/client/v1/index.js');
            const model = new LiveModel();
            const segment = { id: 'seg-0000', first_chunk_seq: 0, start: 0, text: 'old visit' };
            model.receive({ type: 'transcript', segment });
            const aspirin = { id: 'med-a', name: 'aspirin' };
            const med = { op: 'add', path: '/medications/-', value: aspirin };
            model.receive({ type: 'note', version: 1, patch: [med] });
            let resets = 0;
            model.addEventListener('reset', () => resets++);
            model.reset();
            const emptied = model.transcript().length === 0 && model.noteVersion === 0
                && JSON.stringify(model.note) === JSON.stringify(EMPTY_NOTE);
            const applied = model.receive({ type: 'note', version: 1, patch: [med] });
            return { resets, emptied, applied, meds: model.note.medications.length };
        }"""
    )
    assert result == {"resets": 1, "emptied": True, "applied": True, "meds": 1}
