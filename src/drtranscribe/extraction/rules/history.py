"""Past medical history and family history.

"my mother has diabetes" is the mother's, not the patient's: it becomes a family
history item ("Mother: diabetes") and the span it covers is closed to the other
rules, so it never reaches the assessment, the history or the symptoms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.extraction.rules.lexicon import condition_kinds, conditions
from drtranscribe.extraction.rules.negation import Scopes
from drtranscribe.extraction.rules.text import Token

_RELATIVES: dict[str, str] = {
    "mother": "mother", "mom": "mother", "mum": "mother", "mommy": "mother", "mam": "mother",
    "father": "father", "dad": "father", "daddy": "father", "brother": "brother",
    "brothers": "brothers", "sister": "sister", "sisters": "sisters", "parents": "parents",
    "grandmother": "grandmother", "grandma": "grandmother", "granny": "grandmother",
    "nan": "grandmother", "nana": "grandmother", "grandfather": "grandfather",
    "grandpa": "grandfather", "granddad": "grandfather", "grandparents": "grandparents",
    "aunt": "aunt", "auntie": "aunt", "aunty": "aunt", "uncle": "uncle", "cousin": "cousin",
    "cousins": "cousins", "son": "son", "daughter": "daughter", "sons": "sons",
    "daughters": "daughters", "siblings": "siblings", "sibling": "sibling",
    "family": "family", "twin": "twin", "half brother": "half-brother",
    "half sister": "half-sister", "children": "children", "kids": "children",
}  # fmt: skip
# People whose illness is theirs, not the patient's, but not family history either.
_OTHERS = (
    r"wife|husband|partner|girlfriend|boyfriend|roommate|room mate|flatmate|friend|friends|"
    r"coworker|co worker|colleague|colleagues|boss|neighbou?r|nephew|niece|baby|spouse|"
    r"classmates?|teacher"
)
_RELATIVE_RE = re.compile(
    r"\b(?:(?:both )?(?P<poss>my|his|her|your|their|the patient s|patient s) )"
    r"(?:(?:late|older|younger|big|little|maternal|paternal|biological|step|twin) )?"
    rf"(?P<rel>{'|'.join(sorted(map(re.escape, _RELATIVES), key=len, reverse=True))}|{_OTHERS})\b"
    r"|\b(?P<fam>family history of|family history|runs in (?:my|the|his|her|your) family|"
    r"runs in the family|in (?:my|the|his|her|your) family|family member|family members)\b"
)
_CLAUSE_END = re.compile(
    r"[.;?!]|\b(?:but|however|whereas|although)\b|\b(?:and|,) (?:i|me|myself)\b|\bi (?:have|had|"
    r"am|was)\b"
)

_PMH_CUE = re.compile(
    r"\b(?:history of|hx of|diagnosed with|diagnosis of|i have|i have got|i had|i have had|"
    r"i suffer from|i suffered from|suffers from|i am|she has|he has|she had|he had|"
    r"has a history of|past medical history|medical history|known|treated for|being treated for|"
    r"i did have|i do have|i also have|i have also had|i have (?:some|a little|a bit of)|"
    r"i was told i have|they said i have|i got|on treatment for|for (?:my|his|her)|"
    r"with (?:my|his|her)|managing (?:my|his|her)|(?:my|his|her))\b"
)
_PAST_TIME = re.compile(
    r"\b(?:years? ago|months? ago|as a (?:child|kid|baby|teenager)|when i was|back in|"
    r"in the past|before|previously|history of|last year|in (?:19|20)\d\d|childhood)\b"
)
_SURGERY = re.compile(
    r"\b(?:(?:had|have had|got) (?:my|an?|the) (?P<organ>appendix|gallbladder|tonsils|uterus|"
    r"thyroid|spleen|prostate|hip|knee|hip replaced|knee replaced) (?:out|removed|taken out|"
    r"replaced)|"
    r"(?P<op>appendectomy|appendicectomy|cholecystectomy|tonsillectomy|hysterectomy|"
    r"c section|caesarean|cesarean|hip replacement|knee replacement|bypass surgery|"
    r"stents?|pacemaker|mastectomy|thyroidectomy|colonoscopy)|"
    r"(?:surgery|operation) on (?:my|his|her) (?P<part>\w+))\b"
)
_ORGANS = {
    "appendix": "appendectomy", "gallbladder": "cholecystectomy", "tonsils": "tonsillectomy",
    "uterus": "hysterectomy", "thyroid": "thyroidectomy", "spleen": "splenectomy",
    "prostate": "prostatectomy", "hip": "hip replacement", "knee": "knee replacement",
    "hip replaced": "hip replacement", "knee replaced": "knee replacement",
}  # fmt: skip


# Passing illnesses that are nobody's medical history.
_NOT_HISTORY = {
    "common cold",
    "viral infection",
    "influenza",
    "upper respiratory tract infection",
    "gastroenteritis",
    "dehydration",
}


@dataclass(frozen=True, slots=True)
class FamilyMention:
    relative: str  # canonical relative, or "family"
    condition: str
    negated: bool
    # "my" (the speaker's family) or "your" (the listener's); None when not said
    person: str | None = None


@dataclass(frozen=True, slots=True)
class ConditionMention:
    name: str
    start: int
    end: int
    negated: bool


def find_conditions(norm: str, toks: list[Token], scopes: Scopes) -> list[ConditionMention]:
    return [
        ConditionMention(name, s, e, scopes.is_negated(s, e))
        for s, e, name in conditions().find(toks)
    ]


def _cancer(norm: str, start: int, end: int) -> list[tuple[int, str]]:
    return [
        (m.start(), f"{m.group(1)} cancer")
        for m in re.finditer(
            r"\b(breast|lung|colon|bowel|prostate|skin|ovarian|pancreatic|stomach|liver|brain|"
            r"cervical|uterine|thyroid|kidney|bladder|blood) cancer\b",
            norm[:end],
        )
        if m.start() >= start
    ]


def find_family(
    norm: str, conds: list[ConditionMention], scopes: Scopes
) -> tuple[list[FamilyMention], tuple[tuple[int, int], ...], str | None]:
    """Family history mentions, the spans that belong to other people, and the relative named."""
    out: list[FamilyMention] = []
    spans: list[tuple[int, int]] = []
    relative: str | None = None
    for m in _RELATIVE_RE.finditer(norm):
        rel_word = m.group("rel")
        is_family = rel_word is None or rel_word in _RELATIVES
        rel = _RELATIVES.get(rel_word, rel_word) if rel_word else "family"
        # the clause around the relative: back to the previous clause break, on to the next
        end_m = _CLAUSE_END.search(norm, m.end())
        end = end_m.start() if end_m else len(norm)
        start = m.start()
        if rel == "family":
            # "diabetes runs in my family": the condition comes first
            prev = max(
                (x.end() for x in re.finditer(r"[.;?!,]|\bbut\b", norm[: m.start()])), default=0
            )
            start = prev
        spans.append((start, end))
        if not is_family:
            continue
        if relative is None:
            relative = rel
        cancers = _cancer(norm, start, end)
        names = [
            (c.start, c.name, c.negated)
            for c in conds
            if start <= c.start < end
            and not (
                c.name == "cancer"
                and any(c.start <= s < c.end + 1 or s <= c.start < s + len(n) for s, n in cancers)
            )
        ]
        names += [(s, n, scopes.is_negated(s, s + 1)) for s, n in cancers]
        poss = m.group("poss")
        person = "my" if poss == "my" else ("your" if poss == "your" else None)
        for _, name, negated in sorted(names):
            out.append(
                FamilyMention(rel, name, negated or scopes.is_negated(m.start(), m.end()), person)
            )
    # "my grandparents had asthma, it runs in the family": the relative says more
    specific = {f.condition for f in out if f.relative != "family"}
    out = [f for f in out if f.relative != "family" or f.condition not in specific]
    return out, tuple(spans), relative


def find_history(
    norm: str, conds: list[ConditionMention], exclude: tuple[tuple[int, int], ...]
) -> list[str]:
    """Past medical history: conditions said as the patient's, not negated."""
    out: list[str] = []
    kinds = condition_kinds()
    for c in conds:
        if c.negated or c.name in _NOT_HISTORY or any(s <= c.start < e for s, e in exclude):
            continue
        # the cue may head a list: "history significant for a, b, and c"
        clause = max(
            (m.end() for m in re.finditer(r"[.;?!]| who | but | which ", norm[: c.start])),
            default=0,
        )
        before = norm[max(clause, c.start - 120) : c.start]
        if not _PMH_CUE.search(before) and not re.search(
            r"\b(?:diabetic|asthmatic)\b", norm[c.start : c.end]
        ):
            continue
        if kinds.get(c.name) == "acute" and not _PAST_TIME.search(norm):
            continue
        if c.name not in out:
            out.append(c.name)
    for m in _SURGERY.finditer(norm):
        if any(s <= m.start() < e for s, e in exclude):
            continue
        if m.group("organ"):
            name = _ORGANS[m.group("organ")]
        elif m.group("op"):
            name = m.group("op")
        else:
            name = f"{m.group('part')} surgery"
        if name not in out:
            out.append(name)
    return out
