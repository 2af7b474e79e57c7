"""Symptoms, negation scopes, onset and severity in one sentence."""

from __future__ import annotations

import re

import pytest

from drtranscribe.extraction.rules.negation import find_scopes
from drtranscribe.extraction.rules.symptoms import (
    find_onset,
    find_severity,
    find_symptoms,
    is_bare_list,
)
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


# --- lay phrasings and the prefilter -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Overall I'm feeling pretty crummy.", [("malaise", False)]),
        ("The kids say they feel icky.", [("malaise", False)]),
        ("I felt really hot last night.", [("fever", False)]),
        ("I think I'm losing my sense of smell.", [("loss of smell", False)]),
        ("She's been losing her taste a bit.", [("loss of taste", False)]),
        ("He has issues swallowing pills.", [("difficulty swallowing", False)]),
        ("Her muscles are all sore.", [("muscle aches", False)]),
        # the "not" belongs to the phrase: a poor appetite, not a denied one
        ("My son just doesn't have much of an appetite.", [("loss of appetite", False)]),
        ("She hasn't really got a big appetite lately.", [("loss of appetite", False)]),
        # traps
        ("Her appetite is fine.", []),
        ("I'm not losing any weight.", [("weight loss", True)]),
        ("I don't feel sick at all.", [("nausea", True)]),
    ],
)
def test_lay_phrasings(text: str, expected: list[tuple[str, bool]]) -> None:
    assert syms(text) == expected


_PREFILTER_SENTENCES = [
    "Overall I'm feeling pretty crummy.",
    "I felt really hot and then cold.",
    "I've been feeling under the weather.",
    "She feels off today.",
    "My throat is raw and my nose is stuffed up.",
    "He's losing his sense of taste.",
    "I can't catch my breath on the stairs.",
    "My left knee has been killing me.",
    "There's blood in my pee.",
    "It's hard to swallow and my voice is hoarse.",
    "I'm peeing all the time and I'm always thirsty.",
    "I have pins and needles in my fingers.",
    "The baby has been running a temperature.",
]


def test_prefilter_never_hides_a_symptom(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cheap stem prefilter must give the same result as reading every sentence."""
    from drtranscribe.extraction.rules import symptoms

    with_filter = [syms(t) for t in _PREFILTER_SENTENCES]
    monkeypatch.setattr(symptoms, "_STEMS", re.compile(""))
    without_filter = [syms(t) for t in _PREFILTER_SENTENCES]
    assert with_filter == without_filter
    missing = [t for t, s in zip(_PREFILTER_SENTENCES, with_filter, strict=True) if not s]
    assert not missing


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("alright sneezing sore throat", True),
        ("and any fever, chills", True),
        ("no fever or chills", False),  # a denial is a finding, not a checklist
        ("I have a cough", False),
        ("okay", False),
    ],
)
def test_bare_symptom_list(text: str, bare: bool) -> None:
    norm = normalise(text)
    assert is_bare_list(norm, find_symptoms(norm, find_scopes(norm))) is bare
