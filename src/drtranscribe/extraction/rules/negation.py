"""NegEx-style scopes over a normalised sentence.

A *trigger* ("no", "not", "denies", "without", "negative for", ...) opens a scope
that runs to the right until a *terminator* ("but", "however", "although", "except",
a new clause such as "and i", or ". ; : ? !") or a window of words, whichever comes
first. "no fever or chills" negates both; "denies chest pain but has a cough"
leaves the cough alone. Pseudo-triggers ("not sure", "no change", "not getting
better") open nothing. A post-trigger ("... is gone", "... has resolved") negates
the mention just before it.

The same machinery gives *hypothetical* scopes ("if you develop a fever",
"watch out for chest pain"), in which a symptom is not a finding at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WINDOW = 12  # words

_PRE_TRIGGERS = re.compile(
    r"\b(?:no|not|never|nil|denies|denied|deny|denying|without|nor|none|negative(?: for)?|free of|"
    r"absence of|absent|lack of|ruled out|rules out|rule out|nothing like)\b"
)
# "no," / "no." is an answer, not a negation of what follows.
_ANSWER_NO = re.compile(r"\bno\s*[,.!?]|\bno$|\bnot (?:really|at all|that i know of)\s*[,.!?]")
_PSEUDO = re.compile(
    r"\bnot (?:\w+ ){0,2}(?:too|that|so|very) (?:many|much|often)\b|"
    r"\b(?:not only|not just|no change|no increase|no better|not sure|not certain|"
    r"do not know|does not know|did not know|not remember|do not think so|"
    r"not necessarily|no doubt|not too bad|not that bad|not so bad|not as bad|"
    r"not getting (?:any )?better|not improving|not improved|not go(?:ing|ne)? away|"
    r"not went away|not helping|not help|not helped|not work(?:ing|ed)?|"
    r"not stop(?:ped|ping)?|not really sure|not worse|nothing helps|"
    r"not get rid|not shake|not settle|not settling|not resolve|not resolved|"
    r"not that i know of|no matter)\b"
)
_TERMINATORS = re.compile(
    r"[.;:?!]|\b(?:but|however|although|though|except|apart from|aside from|other than|"
    r"yet|still|which|who|whereas|because|besides|instead)\b|"
    r"(?:\band|,)\s+(?:i|he|she|it|there|my|the patient|we)\b|"
    r"\bi (?:have|do have|get|got|had|did have|noticed|feel|am)\b"
)
_POST_TRIGGERS = re.compile(
    r"^\s*(?:has |have |is |are |was |had )?(?:gone|resolved|went away|gone away|"
    r"cleared(?: up)?|disappeared|settled(?: down)?|stopped)\b"
)

_HYPOTHETICAL = re.compile(
    r"\b(?:if|in case|unless|whether|should you|watch (?:out )?for|look out for|"
    r"keep an eye (?:out )?(?:on|for)|can cause|could cause|may cause|might cause|"
    r"can give|side effects?|risk of|to prevent|can present|make sure you do not get|"
    r"could (?:just )?be|might (?:just )?be|may (?:just )?be)\b"
)
_HYPO_TERMINATORS = re.compile(r"[.;:?!,]|\b(?:but|then|so)\b")


@dataclass(frozen=True, slots=True)
class Scopes:
    """Character ranges of one normalised sentence."""

    negated: tuple[tuple[int, int, int, int], ...]  # (trigger start, trigger end, start, end)
    hypothetical: tuple[tuple[int, int], ...]

    def is_negated(self, start: int, end: int) -> bool:
        for t_start, t_end, s_start, s_end in self.negated:
            if t_start < end and start < t_end:  # the trigger is part of the mention
                continue
            if s_start <= start < s_end:
                return True
        return False

    def is_hypothetical(self, start: int) -> bool:
        return any(s <= start < e for s, e in self.hypothetical)


def _scope_end(norm: str, start: int, terminators: re.Pattern[str], window: int = _WINDOW) -> int:
    term = terminators.search(norm, start)
    end = term.start() if term else len(norm)
    # window of words
    for count, m in enumerate(re.finditer(r"\S+", norm[start:end]), start=1):
        if count > window:
            return start + m.start()
    return end


def find_scopes(norm: str) -> Scopes:
    pseudo = [(m.start(), m.end()) for m in _PSEUDO.finditer(norm)]
    answers = [m.start() for m in _ANSWER_NO.finditer(norm)]
    negated: list[tuple[int, int, int, int]] = []
    for m in _PRE_TRIGGERS.finditer(norm):
        if any(s <= m.start() < e for s, e in pseudo) or m.start() in answers:
            continue
        negated.append((m.start(), m.end(), m.end(), _scope_end(norm, m.end(), _TERMINATORS)))
    hypothetical = [
        (m.end(), _scope_end(norm, m.end(), _HYPO_TERMINATORS, 2 * _WINDOW))
        for m in _HYPOTHETICAL.finditer(norm)
    ]
    return Scopes(tuple(negated), tuple(hypothetical))


def post_negated(norm: str, end: int) -> bool:
    """True when a post-trigger ("is gone") follows a mention that ends at ``end``."""
    return _POST_TRIGGERS.match(norm[end : end + 40]) is not None
