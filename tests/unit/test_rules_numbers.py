"""Numbers spoken as words and the text normalisation around them."""

from __future__ import annotations

import pytest

from drtranscribe.domain.identity import slug
from drtranscribe.extraction.rules.numerals import words_to_digits
from drtranscribe.extraction.rules.text import display, normalise, split_sentences

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("twenty", "20"),
        ("five hundred milligrams", "500 milligrams"),
        ("a thousand milligrams", "1000 milligrams"),
        ("one hundred and twenty", "120"),
        ("two thousand and five", "2005"),
        ("thirty eight point five", "38.5"),
        ("ninety eight point six", "98.6"),
        ("point five", "0.5"),
        ("one forty over ninety", "140 over 90"),
        ("one twenty five", "125"),
        ("one oh five", "105"),
        ("two and a half weeks", "2.5 weeks"),
        ("three or four times", "3 or 4 times"),
        ("seven", "7"),
        ("one tablet", "1 tablet"),
    ],
)
def test_words_to_digits(spoken: str, digits: str) -> None:
    assert words_to_digits(spoken) == digits


@pytest.mark.parametrize("text", ["no one came", "the one i take", "and so on", "a few days"])
def test_words_that_are_not_numbers_stay(text: str) -> None:
    assert words_to_digits(text) == text


def test_normalise_expands_contractions_drops_fillers_and_units() -> None:
    assert normalise("Um, she hasn't had any, uh, cough") == "she has not had any , cough"
    assert normalise("Metformin five hundred milligrams") == "metformin 500 mg"
    assert normalise("Sats ninety six percent") == "sats 96 %"
    assert normalise("Mm-hmm.") == "yes ."
    assert normalise("500mg TID") == "500 mg tid"


def test_sentences_split_on_punctuation_but_not_decimals() -> None:
    assert split_sentences("Temp is 38.5 today. Any cough? No; none.") == [
        "Temp is 38.5 today.",
        "Any cough?",
        "No;",
        "none.",
    ]


def test_display_and_slug() -> None:
    assert display("um, so I've had, uh, a cough") == "I've had, a cough"
    assert display("x" * 300, limit=20).endswith("...")
    assert slug("Shortness of breath") == "shortness-of-breath"
    assert slug("COVID-19 test") == "covid-19-test"
