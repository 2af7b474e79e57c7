"""``drtranscribe extract FILE [--json]`` as a user runs it: a real process, real files.

Every transcript here is written for these tests; none comes from a data set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

# Doctor:/Patient: prefixes; a line without a prefix continues the turn before it.
LONG_PREFIXES = """\
Doctor: Good morning. What brings you in today?
Patient: I've had a sore throat for three days.
Doctor: Any fever or chills?
Patient: No fever, no chills.
Doctor: Do you have any allergies to medications?
Patient: Yes, I'm allergic to penicillin,
it gives me a rash.
Doctor: Okay. Your throat looks infected, so let's start you on azithromycin
500 mg once a day for three days.
"""

SHORT_PREFIXES = """\
D: What brings you in?
P: A cough for a week.
D: Any fever?
P: No, no fever.
D: Any allergies?
P: I'm allergic to sulfa drugs, I get hives.
D: I'll prescribe amoxicillin 500 mg three times a day.
"""

TURNS_JSON = {
    "turns": [
        {"speaker": "doctor", "text": "What can I do for you today?"},
        {"speaker": "patient", "text": "My lower back has been hurting for two weeks."},
        {"speaker": "doctor", "text": "Any numbness in your legs?"},
        {"speaker": "patient", "text": "No numbness at all."},
        {"speaker": "doctor", "text": "Any drug allergies?"},
        {"speaker": "patient", "text": "I'm allergic to codeine, it makes me vomit."},
        {"speaker": "doctor", "text": "Take ibuprofen 400 mg three times a day with food."},
    ]
}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"DRT_SETTINGS_FILE": str(cwd / "none.yaml"), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def _note(path: Path) -> dict[str, Any]:
    result = _cli("extract", str(path), "--json", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # stdout is the note and nothing else: a log line there would break `| jq`
    note: dict[str, Any] = json.loads(result.stdout)
    return note


def _med(note: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in note["medications"] if m["name"] == name]
    assert found, [m["name"] for m in note["medications"]]
    return found[0]


def _symptom(note: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in note["symptoms"] if s["name"] == name]
    assert found, [s["name"] for s in note["symptoms"]]
    return found[0]


def test_doctor_patient_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "visit.txt"
    path.write_text(LONG_PREFIXES, encoding="utf-8")
    note = _note(path)
    med = _med(note, "azithromycin")
    assert (med["dose"], med["frequency"], med["status"]) == ("500 mg", "once a day", "started")
    assert med["speaker"] == "clinician"
    assert [(a["substance"], a["reaction"]) for a in note["allergies"]] == [("penicillin", "rash")]
    assert _symptom(note, "fever")["negated"] is True
    assert _symptom(note, "chills")["negated"] is True
    throat = _symptom(note, "sore throat")
    assert (throat["negated"], throat["onset"]) == (False, "3 days")
    # penicillin is an allergy, not a drug the patient takes
    assert "penicillin" not in [m["name"] for m in note["medications"]]


def test_short_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "visit.txt"
    path.write_text(SHORT_PREFIXES, encoding="utf-8")
    note = _note(path)
    med = _med(note, "amoxicillin")
    assert (med["dose"], med["frequency"]) == ("500 mg", "three times a day")
    assert [(a["substance"], a["reaction"]) for a in note["allergies"]] == [
        ("sulfa drugs", "hives")
    ]
    assert _symptom(note, "fever")["negated"] is True
    assert _symptom(note, "cough")["negated"] is False


def test_json_turns(tmp_path: Path) -> None:
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(TURNS_JSON), encoding="utf-8")
    note = _note(path)
    med = _med(note, "ibuprofen")
    assert (med["dose"], med["frequency"]) == ("400 mg", "three times a day")
    assert [(a["substance"], a["reaction"]) for a in note["allergies"]] == [
        ("codeine", "nausea or vomiting")
    ]
    assert _symptom(note, "numbness")["negated"] is True
    assert _symptom(note, "back pain")["negated"] is False
    # evidence points at the segments the CLI made, one per turn, in order
    assert _med(note, "ibuprofen")["evidence"] == ["seg-0006"]


def test_text_output_renders_the_note(tmp_path: Path) -> None:
    path = tmp_path / "visit.txt"
    path.write_text(LONG_PREFIXES, encoding="utf-8")
    result = _cli("extract", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("Chief complaint:", "Symptoms:", "Medications:", "Allergies:"):
        assert heading in out, out
    assert "azithromycin" in out
    assert "500 mg" in out
    assert "penicillin" in out
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("binary.txt", b"\xff\xfe\x00\x81 not text \x00\x9c"),
        ("broken.json", b'{"turns": [{"speaker": "doctor", "text": "hi"'),
        ("wrong-shape.json", b'{"turns": 5}'),
    ],
)
def test_unreadable_file_is_a_clean_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = _cli("extract", str(path), "--json", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "drtranscribe: error:" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = _cli("extract", str(tmp_path / "nope.txt"), cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "drtranscribe: error:" in result.stderr
