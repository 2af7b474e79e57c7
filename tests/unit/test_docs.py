"""The published schemas are generated from the models; these tests keep them in step."""

import json
from pathlib import Path

import pytest
from devtools.docs_gen import MARKER, note_schema, render_protocol

from drtranscribe.protocol import ERROR_CODES, message_schemas

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_protocol_doc_matches_the_models() -> None:
    current = (DOCS / "protocol.md").read_text(encoding="utf-8")
    assert MARKER in current
    assert current == render_protocol(current), "run `make schemas` and commit docs/"


def test_every_message_and_error_code_is_documented() -> None:
    current = (DOCS / "protocol.md").read_text(encoding="utf-8")
    for name in message_schemas():
        assert f"### `{name.split('.')[1]}`" in current
    for code in ERROR_CODES:
        assert f"`{code}`" in current


def test_note_schema_file_matches_the_model() -> None:
    published = (DOCS / "note.schema.json").read_text(encoding="utf-8")
    assert published == note_schema()
    assert "medications" in json.loads(published)["properties"]
