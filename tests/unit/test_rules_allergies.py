"""Allergies in one sentence: what is an allergen and what only sounds like one.

Every sentence here is written for these tests; none comes from a data set.
"""

from __future__ import annotations

import pytest

from drtranscribe.extraction.rules.allergies import (
    NKDA,
    SEASONAL,
    find_allergies,
    is_drug_allergen,
)
from drtranscribe.extraction.rules.medications import find_medications
from drtranscribe.extraction.rules.negation import find_scopes
from drtranscribe.extraction.rules.text import normalise, tokens

pytestmark = pytest.mark.unit


def allergies(text: str) -> list[str]:
    norm = normalise(text)
    found, _ = find_allergies(norm, tokens(norm), find_scopes(norm))
    return [a.substance for a in found]


def drugs(text: str) -> list[str]:
    norm = normalise(text)
    toks = tokens(norm)
    scopes = find_scopes(norm)
    _, spans = find_allergies(norm, toks, scopes)
    found, _ = find_medications(norm, toks, scopes, exclude=spans)
    return [m.name for m in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm allergic to penicillin.", ["penicillin"]),
        ("She's allergic to kiwi.", ["kiwi"]),
        ("I'm sensitive to codeine, it makes me itch.", ["codeine"]),
        ("Allergies: amoxicillin.", ["amoxicillin"]),
        ("I get seasonal allergies every spring.", [SEASONAL]),
        ("Hay fever, mostly in June.", [SEASONAL]),
        ("No known drug allergies.", [NKDA]),
    ],
)
def test_allergens(text: str, expected: list[str]) -> None:
    assert allergies(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # photophobia and phonophobia are symptoms, not allergies
        "Bright lights make me squint, I'm sensitive to light.",
        "He's really sensitive to loud noises since the headache started.",
        # a reaction to a procedure names no allergen
        "She had a bad reaction to the needle going in.",
        # a drug taken for allergies is not the allergen
        "I take Zyrtec for my allergies.",
        # "allergies" then a treatment proposed later in the sentence
        "It could be allergies, so loratadine every day for a month is worth a try.",
        "I don't have seasonal allergies.",
    ],
)
def test_not_allergies(text: str) -> None:
    assert allergies(text) == []


def test_a_drug_taken_for_allergies_stays_a_medication() -> None:
    assert drugs("I take Zyrtec for my seasonal allergies.") == ["cetirizine"]
    assert allergies("I take Zyrtec for my seasonal allergies.") == [SEASONAL]


def test_drug_allergens_and_others() -> None:
    assert is_drug_allergen("penicillin")
    assert is_drug_allergen("some unknown pill")  # unknown: treated as a drug, to be safe
    assert not is_drug_allergen("peanuts")
    assert not is_drug_allergen(SEASONAL)
