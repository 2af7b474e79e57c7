"""Assessment: diagnoses the clinician states, suspects or rules out.

Only clinician (or unknown-speaker) statements count, and only with a diagnostic
cue around the condition: "I think this is a viral infection" (suspected), "you have
pneumonia" (confirmed), "I don't think it's strep" (ruled out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from drtranscribe.extraction.rules.history import ConditionMention

Certainty = Literal["confirmed", "suspected", "ruled_out"]

_CONFIRMED = re.compile(
    r"\b(?:diagnosis is|diagnos(?:e|ed|ing) (?:you |him |her |this as )?(?:with |as )?|"
    r"you have(?: got)?|you(?: have)? got|you are suffering from|this is|it is|that is|"
    r"confirm(?:s|ed)?|positive for|shows|showed|consistent with|in keeping with|"
    r"(?:your|the|his|her) \w+ (?:is|are|has been|seems|looks) (?:well )?(?:controlled|stable|"
    r"managed|under control|uncontrolled|improving|worse|better|flaring))\b"
)
_SUSPECTED = re.compile(
    r"\b(?:i think|i suspect|suspect(?:ed)?|likely|probably|possibly|possible|might (?:be|have)|"
    r"may (?:be|have)|could (?:be|have)|sounds like|looks like|seems like|suggestive of|"
    r"concern(?:ed)? (?:for|about|that)|worried about|my impression|impression is|differential|"
    r"rule out|query|suspicious (?:for|of)|i am thinking|thinking (?:it is|this is)|"
    r"i believe|i feel (?:like|that)|picture of|kind of like|i would say|most consistent)\b"
)
_RULED_OUT = re.compile(
    r"\b(?:ruled out|rules out|unlikely|not likely|do not think (?:it is|this is|you have|that)|"
    r"not (?:a |an )?(?:sign|case) of|no evidence of|negative for|does not (?:look|sound|"
    r"seem) like|"
    r"not consistent with)\b"
)
# The clinician going through the assessment problem by problem.
_PROBLEM = re.compile(
    r"(?:\b(?:problem|issue|diagnosis|diagnoses)\b[^.?!]{0,25}|"
    r"\b(?:for|regarding|in terms of|as for|with regards? to|moving on to|next is) "
    r"(?:your|the|his|her)(?: \w+)?\s*)$"
)
_WORKUP = re.compile(
    r"\b(?:rules? out|to see if|test(?:ing)? for|check(?:ing)? for|screen(?:ing)? for)\b"
)
_STATUS = re.compile(
    r"^ ?(?:is|are|has been|seems|looks|appears) (?:well |pretty |very |quite )?(?:controlled|"
    r"stable|"
    r"managed|under control|uncontrolled|improving|worse|better|flaring)"
)


@dataclass(frozen=True, slots=True)
class DiagnosisMention:
    name: str
    certainty: Certainty


def find_diagnoses(
    norm: str, conds: list[ConditionMention], exclude: tuple[tuple[int, int], ...]
) -> list[DiagnosisMention]:
    out: dict[str, DiagnosisMention] = {}
    for c in conds:
        if any(s <= c.start < e for s, e in exclude):
            continue
        before = norm[max(0, c.start - 60) : c.start]
        around = before + norm[c.start : c.end + 30]
        certainty: Certainty | None = None
        if _WORKUP.search(before[-40:]) and not re.search(r"\bruled out\b", before):
            certainty = "suspected"
        elif _RULED_OUT.search(before) or (
            c.negated and (_SUSPECTED.search(before) or _CONFIRMED.search(before))
        ):
            certainty = "ruled_out"
        elif c.negated:
            continue
        elif re.search(r"\bhistory of\b|\bhx of\b", before):
            continue  # past medical history, not today's assessment
        elif (
            _SUSPECTED.search(around) and not re.search(r"\brule out\b", before[-25:])
        ) or re.search(r"\brule out\b|\bto see if\b|\bcheck (?:for|if)\b|\btest for\b", before):
            certainty = "suspected"
        elif (
            _CONFIRMED.search(before[-35:])
            or _STATUS.match(norm[c.end : c.end + 40])
            or _PROBLEM.search(before)
        ):
            certainty = "confirmed"
        if certainty is None:
            continue
        out[c.name] = DiagnosisMention(c.name, certainty)
    return list(out.values())
