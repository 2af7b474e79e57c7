"""Generate the schema sections of docs/ from the models: ``python -m devtools.docs_gen``.

docs/protocol.md keeps hand-written prose above a marker line; everything below it is
generated here. tests/unit/test_docs.py fails when the committed file is out of step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drtranscribe.domain.note import ClinicalNote
from drtranscribe.protocol import ERROR_CODES, message_schemas

MARKER = "<!-- generated below: python -m devtools.docs_gen -->"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def generated_protocol_section() -> str:
    parts = [MARKER, "", "## Error codes", "", "| code | meaning |", "|---|---|"]
    parts += [f"| `{code}` | {meaning} |" for code, meaning in ERROR_CODES.items()]
    parts += ["", "## Message schemas", ""]
    for name, schema in message_schemas().items():
        direction, kind = name.split(".")
        arrow = "client → server" if direction == "client" else "server → client"
        parts += [f"### `{kind}` ({arrow})", "", "```json", json.dumps(schema, indent=2), "```", ""]
    return "\n".join(parts)


def render_protocol(current: str) -> str:
    head = current.split(MARKER, 1)[0].rstrip() + "\n\n"
    return head + generated_protocol_section()


def note_schema() -> str:
    return json.dumps(ClinicalNote.model_json_schema(), indent=2) + "\n"


def main() -> int:
    protocol = DOCS / "protocol.md"
    protocol.write_text(render_protocol(protocol.read_text(encoding="utf-8")), encoding="utf-8")
    (DOCS / "note.schema.json").write_text(note_schema(), encoding="utf-8")
    print(f"wrote {protocol} and {DOCS / 'note.schema.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
