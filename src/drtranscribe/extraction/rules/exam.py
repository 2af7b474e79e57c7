"""Examination findings the clinician says aloud: "your lungs sound clear".

One item per body system (``exam-respiratory``, ...), text = the sentence, the
latest one said. An intention ("I'm going to listen to your chest") is no finding.
"""

from __future__ import annotations

import re

_SYSTEMS: tuple[tuple[str, str], ...] = (
    (
        "respiratory",
        r"lungs?|breath sounds|air entry|crackles|rales|rhonchi|wheez\w*|chest (?:is|"
        r"sounds) clear|air movement",
    ),
    (
        "cardiovascular",
        r"heart sounds?|murmurs?|regular rate and rhythm|heart (?:sounds|is) (?:normal|regular|"
        r"fine|good)|rhythm is regular|gallop|rub",
    ),
    (
        "abdomen",
        r"abdomen|belly|tummy|bowel sounds|stomach is (?:soft|tender)|liver|spleen|guarding|"
        r"rebound",
    ),
    ("throat", r"throat|tonsils?|pharynx|uvula"),
    ("ears", r"ears?|ear drums?|eardrums?|tympanic membranes?|ear canals?"),
    ("nose and sinuses", r"nose|nasal passages?|sinuses|turbinates"),
    ("skin", r"skin|rash|lesions?|wound"),
    ("neck and lymph nodes", r"neck|lymph nodes?|glands|lymphadenopathy|thyroid"),
    ("extremities", r"legs?|ankles?|calf|calves|edema|oedema|pitting|pulses in"),
    (
        "neurological",
        r"reflexes|strength|sensation|cranial nerves|neuro(?:logical)? exam|gait|coordination",
    ),
    ("eyes", r"eyes?|pupils|conjunctiva"),
    (
        "musculoskeletal",
        r"knee|shoulder|back|spine|hip|wrist|ankle|elbow|joint|range of motion|muscles?",
    ),
)
_SYSTEM_RE = tuple((name, re.compile(rf"\b(?:{p})\b")) for name, p in _SYSTEMS)

_FINDING = re.compile(
    r"\b(?:on (?:physical |my )?exam(?:ination)?|exam(?:ination)? (?:shows|showed|reveals|is)|"
    r"i (?:can |do |also )?(?:hear|see|feel|notice|appreciate|do not hear|do not see|do not feel|"
    r"do not appreciate)|on (?:your |the )?(?:heart|lung|abdominal|skin|neck|\w+) exam|"
    r"looking at (?:you|your \w+)|"
    r"sounds? (?:clear|normal|good|fine|okay|healthy|a bit|a little|wheezy|crackly)|"
    r"looks? (?:red|swollen|inflamed|normal|clear|fine|good|healthy|irritated|infected|enlarged|"
    r"a bit|a little|okay)|"
    r"(?:is|are|seems|appears?) (?:clear|soft|non tender|nontender|tender|normal|red|swollen|"
    r"inflamed|"
    r"enlarged|palpable|intact|equal|symmetric\w*|benign|unremarkable|bulging|dull|warm|"
    r"erythematous)|"
    r"no (?:murmurs?|crackles|wheez\w*|tenderness|swelling|edema|oedema|rash|lymphadenopathy|"
    r"guarding|"
    r"rebound|palpable|masses|organomegaly|pitting)|tender(?:ness)? (?:to|on) (?:palpation|touch)|"
    r"regular rate and rhythm|clear to auscultation|clear bilaterally|"
    r"(?:decreased|reduced|diminished) (?:breath sounds|air entry)|\+ ?pitting|\d ?\+ pitting|"
    r"full range of motion|limited range of motion)\b"
)
_INTENTION = re.compile(
    r"\b(?:going to|let me|let us|i will|i would like to|can i|may i|i want to|i need to|"
    r"if you could|could you|take a (?:deep )?breath|breathe in|say ah)\b"
)


_EXAM_START = re.compile(
    r"\b(?:physical exam(?:ination)?|(?:do|perform) (?:a |an |the |my )?(?:quick |focused |brief )?"
    r"exam(?:ination)?|examine you|on (?:physical |my )?exam(?:ination)?|let me (?:take a look|"
    r"have a look|"
    r"listen|feel|examine|check)|i am going to (?:listen|feel|press|examine|take a look|"
    r"have a look))\b"
)


def find_exam(norm: str) -> list[str]:
    """Body systems with a finding stated in this sentence ("general" when none is named)."""
    if not _FINDING.search(norm) or _INTENTION.search(norm):
        return []
    return [name for name, pattern in _SYSTEM_RE if pattern.search(norm)] or ["general"]


def starts_exam(norm: str) -> bool:
    """The clinician turns to the examination: what follows in the turn is findings."""
    return _EXAM_START.search(norm) is not None
