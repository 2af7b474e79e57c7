"""Dose, route, frequency and status of drug mentions in one sentence."""

from __future__ import annotations

import pytest

from drtranscribe.extraction.rules.lexicon import medications
from drtranscribe.extraction.rules.medications import MedDetail, find_medications
from drtranscribe.extraction.rules.negation import find_scopes
from drtranscribe.extraction.rules.text import normalise, tokens

pytestmark = pytest.mark.unit


def meds(text: str) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    norm = normalise(text)
    found, _ = find_medications(norm, tokens(norm), find_scopes(norm))
    return [(m.name, m.dose, m.route, m.frequency, m.status) for m in found if not m.negated]


def detail(text: str) -> MedDetail | None:
    norm = normalise(text)
    return find_medications(norm, tokens(norm), find_scopes(norm))[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Metformin 500 mg TID", ("metformin", "500 mg", None, "three times a day", None)),
        (
            "metformin five hundred milligrams once daily",
            ("metformin", "500 mg", None, "once a day", None),
        ),
        ("lisinopril 10 mg OD", ("lisinopril", "10 mg", None, "once a day", None)),
        ("amoxicillin 500 mg bid", ("amoxicillin", "500 mg", None, "twice a day", None)),
        (
            "ibuprofen 400 mg every six hours as needed",
            ("ibuprofen", "400 mg", None, "every 6 hours as needed", None),
        ),
        (
            "levothyroxine 50 mcg in the morning",
            ("levothyroxine", "50 mcg", None, "in the morning", None),
        ),
        (
            "two puffs of Ventolin four times a day",
            ("salbutamol", "2 puffs", "inhaled", "four times a day", None),
        ),
        (
            "one tablet of Lipitor at night by mouth",
            ("atorvastatin", "1 tablet", "oral", "at night", None),
        ),
        (
            "we will increase your metformin to 1000 mg twice daily",
            ("metformin", "1000 mg", None, "twice a day", "changed"),
        ),
        (
            "let's start you on amoxicillin 500 mg three times a day",
            ("amoxicillin", "500 mg", None, "three times a day", "started"),
        ),
        ("I'll prescribe some Keflex", ("cephalexin", None, None, None, "started")),
        ("I stopped taking lisinopril", ("lisinopril", None, None, None, "stopped")),
        ("I don't take lisinopril anymore", ("lisinopril", None, None, None, "stopped")),
        ("keep taking the levothyroxine", ("levothyroxine", None, None, None, "current")),
        ("don't stop your metformin", ("metformin", None, None, None, "current")),
    ],
)
def test_drug_details(text: str, expected: tuple[str, ...]) -> None:
    assert meds(text) == [expected]


def test_two_drugs_get_their_own_doses() -> None:
    assert meds("I take metformin 500 mg and lisinopril 20 mg daily") == [
        ("metformin", "500 mg", None, None, None),
        ("lisinopril", "20 mg", None, "once a day", None),
    ]


def test_corrected_dose_in_one_sentence_keeps_the_last() -> None:
    assert meds("metformin 500 mg, sorry, 1000 mg") == [("metformin", "1000 mg", None, None, None)]


def test_negated_drug() -> None:
    norm = normalise("I'm not on any warfarin")
    found, _ = find_medications(norm, tokens(norm), find_scopes(norm))
    assert [(m.name, m.negated) for m in found] == [("warfarin", True)]


def test_dose_without_drug_is_a_detail() -> None:
    d = detail("actually it's a thousand milligrams")
    assert d is not None
    assert (d.dose, d.correction) == ("1000 mg", True)
    assert detail("twice a day") == MedDetail(None, None, "twice a day", False)
    assert detail("I feel fine") is None


def test_class_word_next_to_a_drug_is_dropped() -> None:
    assert [m[0] for m in meds("my Ventolin inhaler")] == ["salbutamol"]
    assert [m[0] for m in meds("I use an inhaler")] == ["inhaler"]


@pytest.mark.parametrize(
    ("brand", "generic"),
    [
        ("tylenol", "acetaminophen"),
        ("paracetamol", "acetaminophen"),
        ("advil", "ibuprofen"),
        ("motrin", "ibuprofen"),
        ("ventolin", "salbutamol"),
        ("albuterol", "salbutamol"),
        ("lipitor", "atorvastatin"),
        ("glucophage", "metformin"),
        ("zithromax", "azithromycin"),
        ("co-amoxiclav", "amoxicillin clavulanate"),
    ],
)
def test_lexicon_brand_to_generic(brand: str, generic: str) -> None:
    norm = normalise(brand)
    assert [h[2] for h in medications().find(tokens(norm))] == [generic]


def test_lexicon_is_a_few_hundred_drugs() -> None:
    assert len(set(medications().terms.values())) >= 300


# --- a lab value is not a drug taken -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Your testosterone levels came back low.",
        "I don't see high testosterone on the results.",
        "We should check your iron levels.",
        "She has a vitamin d deficiency.",
        "Diarrhoea makes you lose minerals and vitamins.",
    ],
)
def test_lab_values_are_not_medications(text: str) -> None:
    assert meds(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I use testosterone gel every morning.", "testosterone"),
        ("I take a low dose aspirin.", "aspirin"),  # "low" before "dose", not before the drug
        ("He takes iron tablets.", "iron supplement"),
        ("I also take a few vitamins.", "vitamin supplement"),
    ],
)
def test_the_same_words_as_medications(text: str, name: str) -> None:
    assert [m[0] for m in meds(text)] == [name]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("they numbed it with lidocaine", "lidocaine"),
        ("she's on taxol every three weeks", "paclitaxel"),
        ("I take CoQ10 and some vitamins", "coenzyme q10"),
        ("I get vitamin B12 shots", "vitamin b12"),  # letters and digits split alike
        ("I'm on a long acting beta agonist", "long acting bronchodilator"),
        ("she gets allergy shots in the fall", "allergy immunotherapy"),
        ("I use moisturizing creams", "emollient"),
        ("I've got the implanon", "contraceptive implant"),
    ],
)
def test_lexicon_additions(text: str, name: str) -> None:
    assert name in [m[0] for m in meds(text)]
