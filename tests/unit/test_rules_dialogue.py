"""Questions, answers and what a question is about, one sentence at a time.

Every sentence here is written for these tests; none comes from a data set.
"""

from __future__ import annotations

import pytest

from drtranscribe.extraction.rules.dialogue import answer_polarity, is_question, topics
from drtranscribe.extraction.rules.text import normalise

pytestmark = pytest.mark.unit


def question(text: str) -> bool:
    return is_question(normalise(text), text)


@pytest.mark.parametrize(
    "text",
    [
        "Any fever?",
        "alright and have you been getting any headaches",  # ASR, no "?"
        "so do you get short of breath on the stairs",
        "alright how about chest pain",
    ],
)
def test_questions(text: str) -> None:
    assert question(text)


@pytest.mark.parametrize(
    "text",
    [
        "I have had a cough for a week.",
        "i have you know been coughing a lot",  # "have you" without a lead-in
        "I think so and do your exercises every day",  # "do your" is not "do you"
    ],
)
def test_statements(text: str) -> None:
    assert not question(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, I haven't really.", "no"),  # the comma a dropped filler leaves
        ("Hm, I don't believe so.", "no"),
        ("Not that I, uh, not that I know.", "no"),
        ("Um, yeah, a little.", "yes"),
        ("It started on Monday.", None),
    ],
)
def test_answer_polarity(text: str, expected: str | None) -> None:
    assert answer_polarity(normalise(text)) == expected


def test_normalise_drops_punctuation_left_by_a_filler() -> None:
    assert normalise("Uh, no.") == "no ."
    assert normalise("Um... yes") == "yes"


@pytest.mark.parametrize(
    ("text", "has_allergy", "has_meds"),
    [
        ("Are you allergic to anything?", True, False),
        ("Have you ever reacted badly to any medicines?", True, True),
        ("What are you taking for your allergies?", False, True),
        ("Do you take any allergy medication?", False, True),
    ],
)
def test_allergy_topic(text: str, has_allergy: bool, has_meds: bool) -> None:
    found = topics(normalise(text))
    assert ("allergy" in found) is has_allergy
    assert ("meds" in found) is has_meds
