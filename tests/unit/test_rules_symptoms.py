"""Symptoms, negation scopes, onset and severity in one sentence."""

from __future__ import annotations

import pytest

from drtranscribe.extraction.rules.negation import find_scopes
from drtranscribe.extraction.rules.symptoms import find_onset, find_severity, find_symptoms
from drtranscribe.extraction.rules.text import normalise

pytestmark = pytest.mark.unit


def syms(text: str) -> list[tuple[str, bool]]:
    norm = normalise(text)
    return [(m.name, m.negated) for m in find_symptoms(norm, find_scopes(norm))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no fever or chills", [("fever", True), ("chills", True)]),
        ("denies chest pain but has a cough", [("chest pain", True), ("cough", False)]),
        ("she hasn't had any cough", [("cough", True)]),
        (
            "I haven't had a headache, however I feel dizzy",
            [("headache", True), ("dizziness", False)],
        ),
        (
            "no nausea, vomiting, or diarrhea",
            [("nausea", True), ("vomiting", True), ("diarrhea", True)],
        ),
        (
            "never had chest pain although I get palpitations",
            [("chest pain", True), ("palpitations", False)],
        ),
        (
            "negative for night sweats except some fatigue",
            [("night sweats", True), ("fatigue", False)],
        ),
        ("free of wheezing; coughing a lot", [("wheezing", True), ("cough", False)]),
        ("no history of blood in stool", [("blood in stool", True)]),
        ("I can't breathe properly", [("shortness of breath", False)]),
        ("I have no energy", [("fatigue", False)]),
        ("the headache has gone away", [("headache", True)]),
        ("no, I have a sore throat", [("sore throat", False)]),
        ("I'm not sure, but I have a rash", [("rash", False)]),
    ],
)
def test_negation(text: str, expected: list[tuple[str, bool]]) -> None:
    assert syms(text) == expected


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I've been short of breath", "shortness of breath"),
        ("I feel breathless", "shortness of breath"),
        ("shortness of breath on exertion", "shortness of breath"),
        ("stuffy nose", "nasal congestion"),
        ("I've been throwing up", "vomiting"),
        ("feeling lightheaded", "dizziness"),
        ("burning when I pee", "painful urination"),
        ("pain in my left shoulder", "shoulder pain"),
        ("my stomach hurts", "abdominal pain"),
        ("I've been coughing up blood", "coughing up blood"),
        ("my ankles are swollen", "leg swelling"),
    ],
)
def test_synonyms(text: str, name: str) -> None:
    assert syms(text) == [(name, False)]


@pytest.mark.parametrize(
    "text",
    [
        "if you develop a fever come back",
        "watch out for chest pain",
        "this medicine can cause nausea",
    ],
)
def test_hypothetical_is_no_mention(text: str) -> None:
    assert syms(text) == []


@pytest.mark.parametrize(
    ("text", "onset"),
    [
        ("for three days", "3 days"),
        ("for the past week", "1 week"),
        ("for a couple of weeks", "a couple of weeks"),
        ("since last week", "since last week"),
        ("since yesterday", "since yesterday"),
        ("it started two days ago", "2 days ago"),
        ("it began this morning", "this morning"),
        ("a week now.", "1 week"),
        ("nothing about time here", None),
    ],
)
def test_onset(text: str, onset: str | None) -> None:
    assert find_onset(normalise(text)) == onset


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("it's severe", "severe"),
        ("really bad pain", "severe"),
        ("mild", "mild"),
        ("a little bit", "mild"),
        ("moderate", "moderate"),
        ("eight out of ten", "8/10"),
        ("about a 7/10", "7/10"),
        ("it hurts", None),
    ],
)
def test_severity(text: str, severity: str | None) -> None:
    assert find_severity(normalise(text)) == severity
