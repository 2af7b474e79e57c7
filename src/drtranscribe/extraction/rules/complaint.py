"""Chief complaint cues.

The strongest sources are the patient's answer to an opening question ("what brings
you in today?"), paired up by the merge, and the clinician's own summary ("... who
presents today with complaints of joint pain", "it says here you've had a sore
throat"). Failing those, early patient statements such as "I'm here because ..."
(strong) or "I've been having ..." (weak) are used. :func:`complaint_cue` also
returns the words after the cue, which name the complaint when no known symptom does
("here for her annual exam" -> "annual exam").
"""

from __future__ import annotations

import re
from typing import Literal

Strength = Literal["clinician", "strong", "weak"]

_CLINICIAN = re.compile(
    r"\b(?:it says (?:here )?(?:that )?you(?: have| are| have been| were| had)?|"
    r"i (?:understand|hear|see|heard|read|was told|gather) (?:that )?you(?: have| are| have been|"
    r" were| had)?|"
    r"(?:you are|you have come|you came|coming|came|comes) (?:in |here )?(?:today )?(?:for|"
    r"because of|because|with)|"
    r"(?:presents|presenting|presented|who presents|is presenting)(?: today|"
    r" to (?:the )?clinic(?: today)?)? "
    r"(?:with|for)(?: (?:complaints?|evaluation|a chief complaint) of)?|"
    r"complain(?:s|ing)? of|chief complaint (?:is|of)|"
    r"(?:is|are) (?:here|in) (?:today )?(?:for|because of|because|with|to (?:discuss|follow up|"
    r"get|see))"
    r"(?: (?:evaluation|complaints?|further evaluation) of)?|"
    r"here (?:today )?for (?:(?:further )?evaluation of|a follow up (?:of|on|for)|"
    r"follow up (?:of|on|for))?)"
)
_STRONG = re.compile(
    r"\b(?:i am (?:just )?here (?:today )?(?:because of|because|for|about|with|to)|"
    r"i came in (?:today )?(?:because of|because|for|with|about|to)|"
    r"i have come (?:in )?(?:today )?(?:because of|because|for|about|with|to)|"
    r"the reason (?:i am here|i came(?: in)?|for (?:my|the) visit(?: is)?|i have come)(?: is|"
    r" today is)?|"
    r"i wanted to (?:see you|come in|get (?:this|it|something) checked)(?: out)? (?:about|"
    r"because|for)|"
    r"i am (?:just )?(?:in|here) (?:for|about) (?:my|a|an|the))"
)
_WEAK = re.compile(
    r"\b(?:i have been (?:having|feeling|getting|experiencing|suffering|struggling)(?: with|"
    r" from)?|"
    r"i have had (?:a|an|some|this|these|the|really|bad|terrible|severe|pain)|"
    r"i have got (?:a|an|some|this|the)|i (?:started|began) (?:having|getting|feeling)|"
    r"i am (?:having|feeling|getting)|i keep (?:getting|having))"
)
_PHRASE_END = re.compile(
    r"[,.;:?!]| (?:and|but|so|because|which|who|that|since|when|as|um|uh) |"
    r" (?:for (?:the )?(?:past|last)|over the) "
)
_LEADING = re.compile(
    r"^(?:(?:a|an|the|my|her|his|their|your|some|just|like|really|a lot of|kind of|sort of|"
    r"little|bit of|of|to|get|see|discuss|about) )+"
)


_EMPTY = {
    "it", "this", "that", "these", "those", "them", "something", "things", "stuff", "some",
    "a", "bit", "lot", "problems", "issues", "trouble", "you", "me", "here", "today", "in",
    "really", "very", "well", "good", "okay", "fine", "better", "worse", "like", "i", "not",
}  # fmt: skip


def _phrase(norm: str, start: int) -> str | None:
    rest = norm[start:].strip()
    end = _PHRASE_END.search(" " + rest + " ")
    text = (" " + rest + " ")[: end.start()].strip() if end else rest
    text = _LEADING.sub("", text + " ").strip()
    words = text.split()
    if not words or len(words) > 9 or all(w in _EMPTY for w in words):
        return None
    return " ".join(words)


_CUES: tuple[tuple[Strength, re.Pattern[str]], ...] = (
    ("clinician", _CLINICIAN),
    ("strong", _STRONG),
    ("weak", _WEAK),
)


def complaint_cue(norm: str) -> tuple[Strength, str | None] | None:
    """The cue's strength and the words after it, when a sentence states a complaint."""
    for strength, pattern in _CUES:
        m = pattern.search(norm)
        if m:
            return strength, _phrase(norm, m.end())
    return None
