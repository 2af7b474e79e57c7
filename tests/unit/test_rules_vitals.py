"""Vital signs in one sentence."""

from __future__ import annotations

import pytest

from drtranscribe.extraction.rules.text import normalise
from drtranscribe.extraction.rules.vitals import find_vitals

pytestmark = pytest.mark.unit


def vitals(text: str) -> list[tuple[str, str, str]]:
    return [(v.kind, v.value, v.unit) for v in find_vitals(normalise(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blood pressure is one forty over ninety", ("blood_pressure", "140/90", "mmHg")),
        ("BP 120/80", ("blood_pressure", "120/80", "mmHg")),
        ("it was one thirty five over eighty five", ("blood_pressure", "135/85", "mmHg")),
        ("temp of thirty eight point five", ("temperature", "38.5", "°C")),
        ("temperature 37 degrees celsius", ("temperature", "37", "°C")),
        ("her temperature was ninety nine point one", ("temperature", "99.1", "°F")),
        ("sats ninety six percent", ("spo2", "96", "%")),
        ("oxygen saturation is 98% on room air", ("spo2", "98", "%")),
        ("heart rate 88", ("heart_rate", "88", "bpm")),
        ("pulse of a hundred and ten", ("heart_rate", "110", "bpm")),
        ("72 beats per minute", ("heart_rate", "72", "bpm")),
        ("respiratory rate of eighteen", ("respiratory_rate", "18", "/min")),
        ("she weighs 65 kg", ("weight", "65", "kg")),
        ("weight is one eighty pounds", ("weight", "180", "lb")),
    ],
)
def test_vital(text: str, expected: tuple[str, str, str]) -> None:
    assert vitals(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "I've had a fever for three days",
        "I take metformin 500 mg twice a day",
        "my pulse was racing for 20 minutes",
        "the pain is 8 out of 10",
    ],
)
def test_no_vital(text: str) -> None:
    assert vitals(text) == []


def test_several_vitals_in_one_sentence() -> None:
    got = vitals("Pulse is 72, BP 118 over 76, respiratory rate 16 and sats 99 percent.")
    assert got == [
        ("heart_rate", "72", "bpm"),
        ("blood_pressure", "118/76", "mmHg"),
        ("respiratory_rate", "16", "/min"),
        ("spo2", "99", "%"),
    ]
