"""Who is speaking, read from the words: clinician or patient, when nothing else says.

A clinician asks (questions, "any fever?"), addresses the patient ("you", "your"), examines,
explains and plans ("let's", "I'll prescribe", "take it twice a day"); a patient answers
("yes", "no", "not really"), speaks of themselves ("I have", "my knee") and of what they
feel, and addresses the doctor. Each turn gets a score (positive: clinician-like), and a
conversation's roles are read as a whole: turns mostly alternate, so the most likely
sequence of roles (Viterbi over the scores, with a prior for taking turns) beats reading
every turn alone. With speaker names, each name's turns are summed and the most
clinician-like name is the clinician.

Used for one-channel audio (segments have no other source) and for captions whose
names the client did not label; the result is marked ``inferred``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

from drtranscribe.domain.note import Speaker
from drtranscribe.extraction.rules.text import normalise

#: How often the next turn is the other person's (consultations mostly alternate).
SWITCH_PROBABILITY = 0.85
#: The first turn is the clinician's this often (greeting, "what brings you in?").
CLINICIAN_FIRST = 0.7

_QUESTION_START = re.compile(
    r"^(?:(?:and|so|okay|ok|now|alright|right|also|but|well)\s*,?\s*)*"
    r"(?:any|do you|did you|does it|does that|did it|have you|has it|has that|had you|are you|"
    r"were you|is it|is that|is there|are there|was it|was there|can you|could you|would you|"
    r"how|when|what|where|which|why|who|tell me|describe)\b"
)
_CLINICIAN = re.compile(
    r"\b(?:let us|let me|i am going to|i will|i would like|i would recommend|i recommend|"
    r"i want you|i would like you|we will|we are going to|we can|we should|prescrib\w*|"
    r"examin\w*|exam|take a (?:look|listen)|listen to your|deep breaths?|on a scale|"
    r"any allergies|medical history|family history|follow up|come back|blood work|"
    r"x ray|referr\w*|refer you|test(?:s|ing)?|diagnos\w*|sounds like|it looks like|"
    r"most likely|nice to meet you|my name is|how can i help|what brings you)\b"
)
_PATIENT = re.compile(
    r"\b(?:it hurts|it started|it is been|it was|i have been|i feel|i felt|i get|i got|"
    r"i noticed|i think|i do not know|i am not sure|i was|i had|i take|i have had|"
    r"i cannot|i can not|my (?:husband|wife|mom|mother|dad|father|son|daughter|kids?)|"
    r"doctor|doc)\b"
)
_ANSWER_START = re.compile(
    r"^(?:yes|yeah|yep|yup|no|nope|nah|not really|not that i|i do not think|maybe|sometimes|"
    r"about|around|probably|mm hmm|uh huh)\b"
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself)\b")
_FIRST_PERSON = re.compile(r"\b(?:i|my|me|mine|myself)\b")
_WE = re.compile(r"\b(?:we|us|our)\b")
#: A question about oneself is the patient's: "should i keep going to work?"
_OWN_QUESTION = re.compile(
    r"\b(?:should i|do i|can i|will i|am i|could i|would i|is it (?:bad|serious|normal)|"
    r"i should|do you think|what do i|when can i|how long will|is there anything i)\b"
)
_ADVICE = re.compile(
    r"\b(?:you (?:will|should|can|could|may|might|need|want) |you are going to|"
    r"options?|plan|recommend\w*|advis\w*|results?|scan|ultrasound|blood tests?|"
    r"medications? (?:for|to)|side effects?|risks?|nurse|appointment|make sure)\b"
)
_SENTENCES = re.compile(r"[.?!;]")


@lru_cache(maxsize=8192)
def clinician_score(text: str) -> float:
    """Positive when ``text`` reads like the clinician, negative like the patient."""
    s = normalise(text)
    if not s:
        return 0.0
    score = 0.0
    own_question = _OWN_QUESTION.search(s) is not None
    if "?" in s and not own_question:
        score += 1.2
    sentences = [x.strip(" ,") for x in _SENTENCES.split(s) if x.strip(" ,")]
    if any(_QUESTION_START.search(x) for x in sentences) and not own_question:
        score += 1.0
    if own_question:
        score -= 1.2
    score += 0.9 * min(3, len(_CLINICIAN.findall(s)))
    score += 0.5 * min(3, len(_ADVICE.findall(s)))
    score -= 0.8 * min(3, len(_PATIENT.findall(s)))
    if _ANSWER_START.search(s):
        score -= 1.2
    second = len(_SECOND_PERSON.findall(s))
    first = len(_FIRST_PERSON.findall(s))
    score += 0.35 * min(4, second) - 0.35 * min(4, first) + 0.3 * min(2, len(_WE.findall(s)))
    return score


def _log_odds(score: float) -> tuple[float, float]:
    """log P(text | clinician), log P(text | patient), up to a shared constant."""
    p = 1.0 / (1.0 + math.exp(-score))
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p), math.log(1 - p)


def infer_turn_roles(texts: Sequence[str]) -> list[Speaker]:
    """The most likely role of each turn of a two-person conversation, in order."""
    if not texts:
        return []
    stay, switch = math.log(1 - SWITCH_PROBABILITY), math.log(SWITCH_PROBABILITY)
    emissions = [_log_odds(clinician_score(t)) for t in texts]
    # best[k] = (log-probability of the best path ending in state k, back pointers)
    best = [
        math.log(CLINICIAN_FIRST) + emissions[0][0],
        math.log(1 - CLINICIAN_FIRST) + emissions[0][1],
    ]
    back: list[tuple[int, int]] = []
    for clinician, patient in emissions[1:]:
        from_c = (best[0] + stay, best[1] + switch)  # into clinician: from c (stay), p (switch)
        from_p = (best[0] + switch, best[1] + stay)
        pointers = (int(from_c[1] > from_c[0]), int(from_p[1] > from_p[0]))
        best = [max(from_c) + clinician, max(from_p) + patient]
        back.append(pointers)
    state = int(best[1] > best[0])
    path = [state]
    for pointers in reversed(back):
        state = pointers[state]
        path.append(state)
    path.reverse()
    return ["clinician" if s == 0 else "patient" for s in path]


def infer_name_roles(turns: Sequence[tuple[str, str]]) -> dict[str, Speaker]:
    """Roles of named speakers from their turns (name, text): the name that reads most
    like a clinician is the clinician, every other name the patient. One name alone is
    a clinician only if its turns read like one."""
    totals: dict[str, float] = {}
    for name, text in turns:
        totals[name] = totals.get(name, 0.0) + clinician_score(text)
    if not totals:
        return {}
    if len(totals) == 1:
        name, total = next(iter(totals.items()))
        return {name: "clinician" if total > 0 else "patient"}
    clinician = max(totals, key=lambda n: totals[n])
    return {n: "clinician" if n == clinician else "patient" for n in totals}


def infer_segment_role(text: str) -> Speaker | None:
    """The role of a stretch of speech that may hold both voices (a one-channel audio
    segment): a role only when every sentence in it reads clearly, and the same way; None
    for a mix (a question and its answer) or for a sentence that could be either's."""
    scores = [clinician_score(x) for x in re.split(r"(?<=[.?!])\s+", text) if x.strip()]
    if not scores or any(abs(x) < 0.5 for x in scores):
        return None
    if all(x > 0 for x in scores):
        return "clinician"
    if all(x < 0 for x in scores):
        return "patient"
    return None
