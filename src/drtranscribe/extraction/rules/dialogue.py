"""Turn-taking: questions, yes/no answers, and what a question is about.

A clinician asks "any fever or chills?" and the patient says "no": the symptoms of
the question get the answer's polarity. This module only classifies one sentence;
pairing question and answer across segments is the merge's job.
"""

from __future__ import annotations

import re
from typing import Literal

Polarity = Literal["yes", "no"]

_QUESTION_START = re.compile(
    r"^(?:(?:and|so|okay|ok|now|alright|right|also|but)\s*,?\s*)*"
    r"(?:any|do you|did you|does it|does that|did it|have you|has it|has that|have there|"
    r"had you|are you|were you|is it|is that|is there|are there|was it|was there|"
    r"how (?:about|long|often|bad|many|much|severe)|what about|when did|when was|"
    r"can you|could you|would you say|do they|does he|does she|is he|is she|has he|has she|"
    r"anything|anyone)\b"
)
_WH = re.compile(
    r"^(?:(?:and|so|okay|ok|now|alright|right|also|but)\s*,?\s*)*(?:how|when|what|where|which|"
    r"why|who)\b|\bhow (?:long|bad|often|many|much|severe)\b|\bwhen did\b|\bscale of\b|"
    r"\bout of 10\b"
)
_OPENING = re.compile(
    r"\b(?:what (?:brings|brought|is bringing) you (?:in|here|to|back|today|along)|"
    r"how can i help|how may i help|what can i (?:do|help you with)|what can we do for you|"
    r"what seems to be (?:the )?(?:problem|trouble|matter|issue)|"
    r"what is (?:going on|the problem|wrong|bothering you|the matter|been going on|up)|"
    r"what are you here (?:for|about)|reason for (?:your|the|today s) visit|"
    r"tell me (?:what is|about what is|what has been) (?:going on|happening|bringing you)|"
    r"what (?:would|did) you (?:like|want) to (?:discuss|talk about|see me about)|"
    r"what has been (?:going on|happening)|what are we seeing you for|"
    r"what (?:are|is) (?:your|the) (?:main )?(?:concerns?|complaints?|problem|issue)|"
    r"tell me (?:a bit |a little )?(?:more )?about (?:what|why))\b"
)
_NO = re.compile(
    r"^(?:(?:well|so|oh|okay|ok|um|uh|hmm|hm|actually|honestly)\s*,?\s*)*"
    r"(?:no|nope|nah|never|none|nothing|negative|not really|not at all|not that i\b|"
    r"not that i (?:have )?noticed|not that i am aware of|i do not think so|do not think so|"
    r"i do not|i have not|i did not|i am not|i have never|not recently|not lately|"
    r"not as far as i know|no no|not too much|not so much|not particularly|not in a while|"
    r"not for a while|not in (?:a long time|ages|years|months)|not for (?:a long time|years|"
    r"months))\b"
)
_YES = re.compile(
    r"^(?:(?:well|so|oh|okay|ok|um|uh|hmm|hm|actually|honestly)\s*,?\s*)*"
    r"(?:yes|yeah|yep|yup|yea|sure|correct|right|definitely|absolutely|i do|i have|i did|i am|"
    r"i think so|a little|a bit|a little bit|sometimes|occasionally|kind of|sort of|"
    r"that is right|that is correct|exactly|indeed|for sure|mostly|quite a bit|a lot|"
    r"it does|it is|it has|it did|they do|he does|she does|he has|she has|uh huh|unfortunately)\b"
)


# "..., okay?" after a statement asks for agreement, not for information.
_TAG = re.compile(
    r"(?:,|\band) (?:okay|ok|all right|alright|right|yes|you know|sound good|does that sound "
    r"(?:good|okay|ok|all right|alright|reasonable|fair)|is that (?:okay|ok|all right|alright)|"
    r"how does that sound|does that make sense|if that is okay|okay with you)\s*\?\s*$"
)


# Speech recognition drops the "?": "okay now tell me have you noticed any other symptoms
# how about fever". A question opener after a lead-in still makes a question.
_EMBEDDED_QUESTION = re.compile(
    r"\b(?:okay|ok|now|so|and|tell me|alright|all right)\s+(?:have you|do you|did you|"
    r"are you|how about|what about)\b"
)


def is_question(norm: str, original: str) -> bool:
    if _QUESTION_START.match(norm) is not None or _EMBEDDED_QUESTION.search(norm) is not None:
        return True
    if original.rstrip().endswith("?"):
        m = _TAG.search(norm)
        return m is None or len(norm[: m.start()].split()) < 6
    return False


def is_wh_question(norm: str) -> bool:
    return _WH.search(norm) is not None


def is_opening_question(norm: str) -> bool:
    return _OPENING.search(norm) is not None


def answer_polarity(norm: str) -> Polarity | None:
    if _NO.match(norm):
        return "no"
    if _YES.match(norm):
        return "yes"
    return None


_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "allergy",
        re.compile(
            r"\ballerg(?!\w* (?:medications?|medicines?|meds|pills|tablets))\w*|"
            r"\breact(?:ed|ions?)? (?:badly |poorly |bad )?to (?:any )?"
            r"(?:medications?|medicines?|drugs?|meds)\b"
        ),
    ),
    (
        "meds",
        re.compile(
            r"\b(?:medications?|medicines?|meds|pills|tablets|taking anything|prescriptions?|"
            r"over the counter)\b"
        ),
    ),
    (
        "family",
        re.compile(
            r"\b(?:family|mother|mom|mum|father|dad|parents|brothers?|sisters?|siblings|"
            r"relatives|runs in)\b"
        ),
    ),
    (
        "pmh",
        re.compile(
            r"\b(?:medical (?:conditions?|problems?|history|issues?)|health (?:problems?|"
            r"conditions?|issues?)|diagnosed|ever had|history of|chronic)\b"
        ),
    ),
    ("scale", re.compile(r"\b(?:scale|out of 10|rate (?:it|the pain|your pain))\b")),
)


# "what are you taking for your allergies?" asks about drugs, not about allergies
_FOR_ALLERGIES = re.compile(
    r"\b(?:for|treat|with) (?:the |your |my |his |her |seasonal )?allergies\b"
)


def topics(norm: str) -> frozenset[str]:
    found = {name for name, p in _TOPICS if p.search(norm)}
    if "allergy" in found and _FOR_ALLERGIES.search(norm) and "allergic" not in norm:
        found.discard("allergy")
        found.add("meds")
    return frozenset(found)


_SCALE_ANSWER = re.compile(
    r"^(?:\D*?\b)?(?:about |around |maybe |probably |like |an? )?(\d{1,2}(?:\.5)?)\b"
)


def scale_answer(norm: str) -> str | None:
    m = _SCALE_ANSWER.match(norm)
    if m and float(m.group(1)) <= 10:
        return f"{m.group(1)}/10"
    return None
