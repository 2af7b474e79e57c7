"""Text plumbing shared by the rules: sentences, normalisation, display text.

Every rule reads the *normalised* form of a sentence: lower case, contractions
expanded ("hasn't" -> "has not"), fillers dropped ("um", "uh"), hyphens between
letters turned into spaces, numbers spoken as words turned into digits and units
shortened ("five hundred milligrams" -> "500 mg"). Items that quote the speaker
(plan, history) use the *display* form: the original sentence, fillers dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.extraction.rules.numerals import words_to_digits

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u201c": '"', "\u201d": '"'})

# Yes/no grunts first (before fillers are dropped and hyphens split).
_GRUNTS = (
    (re.compile(r"\b(?:mm+[- ]?hm+|uh[- ]?huh|mhm+|mm+ hmm+)\b"), "yes"),
    (re.compile(r"\buh[- ]uh\b"), "no"),
)
_LETTER_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z0-9])|(?<=[0-9])-(?=[a-z])")

_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        # tokenised transcripts write "do n't", "it 's"
        (r"(\w)\s+(n't|'s|'re|'ve|'ll|'m|'d)\b", r"\1\2"),
        (r"\bcan't\b|\bcannot\b", "can not"),
        (r"\bwon't\b", "will not"),
        (r"\bain't\b", "is not"),
        (r"\bshan't\b", "shall not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\bi'm\b", "i am"),
        (r"\b(\w+)'re\b", r"\1 are"),
        (r"\b(\w+)'ve\b", r"\1 have"),
        (r"\b(\w+)'ll\b", r"\1 will"),
        (r"\b(\w+)'d\b", r"\1 would"),
        (r"\blet's\b", "let us"),
        (
            r"\b(it|that|he|she|what|there|here|who|where|how|everything|nothing|"
            r"something|this|everyone|thing)'s\b",
            r"\1 is",
        ),
        (r"\by'all\b", "you all"),
        # "my head's pounding": 's before a verb or adjective is "is", not a possessive
        (
            r"\b(\w+)'s (?=\w+ing\b|really\b|very\b|so\b|been\b|kind of\b|pretty\b|a bit\b|"
            r"sore\b|swollen\b|red\b|better\b|worse\b|fine\b|okay\b|ok\b|gone\b)",
            r"\1 is ",
        ),
        (r"\bgonna\b", "going to"),
        (r"\bwanna\b", "want to"),
        (r"\bgotta\b", "got to"),
        (r"\bkinda\b", "kind of"),
        (r"\bsorta\b", "sort of"),
        (r"\bdunno\b", "do not know"),
        (r"\byeah\b|\byea\b|\byep\b|\byup\b|\byah\b", "yes"),
        (r"\bnope\b|\bnah\b", "no"),
        (r"\bo2\b", "oxygen"),
        (r"\btype (?:one|i)\b", "type 1"),
        (r"\btype (?:two|ii)\b", "type 2"),
    )
)

_LETTERS = re.compile(r"\b[a-z](?: [a-z]\b)+")


def _join_letters(m: re.Match[str]) -> str:
    """'g e r d' -> 'gerd' (spelled-out abbreviations); 'a' and 'i' alone stay words."""
    letters = m.group().split()
    if set(letters) <= {"a", "i"}:
        return m.group()
    return "".join(letters)


_FILLERS = re.compile(r"\b(?:um+|uh+m*|erm+|ah+|hmm+|mm+|eh|uhh+)\b[,.]?\s*")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:?!%])")
_REPEATED_WORD = re.compile(r"\b(\w+)(?:[\s,]+\1\b)+")

_UNITS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"(\d)\s*(?:milligrams?|milli grams?|mgs?)\b", r"\1 mg"),
        (r"(\d)\s*(?:micrograms?|mcgs?|ugs?)\b", r"\1 mcg"),
        (r"(\d)\s*(?:grams?|gm|gms)\b", r"\1 g"),
        (r"(\d)\s*(?:millilit(?:er|re)s?|mls?|cc)\b", r"\1 ml"),
        (r"(\d)\s*(?:kilograms?|kilos?|kgs?)\b", r"\1 kg"),
        (r"(\d)\s*(?:pounds?|lbs?)\b", r"\1 lb"),
        (r"(\d)\s*(?:percent|per cent|%)", r"\1 %"),
        (r"(\d)\s*(?:international units?|ius?)\b", r"\1 units"),
    )
)


_LEADING_PUNCT = re.compile(r"^[\s,;:.]+(?!\d)")


def normalise(text: str) -> str:
    """The form every rule reads (see the module docstring)."""
    s = text.lower().translate(_APOSTROPHES)
    for pattern, repl in _GRUNTS:
        s = pattern.sub(repl, s)
    s = _LETTER_HYPHEN.sub(" ", s)
    for pattern, repl in _CONTRACTIONS:
        s = pattern.sub(repl, s)
    s = _FILLERS.sub("", s)
    s = _LETTERS.sub(_join_letters, s)
    s = _REPEATED_WORD.sub(r"\1", s)
    s = words_to_digits(s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    for pattern, repl in _UNITS:
        s = pattern.sub(repl, s)
    s = _SPACE_BEFORE_PUNCT.sub(r" \1", s)
    s = re.sub(r"([,;:?!])", r" \1 ", s)
    s = re.sub(r"\.(?!\d)", " . ", s)
    # "uh, i have not": the comma a dropped filler leaves at the start goes too
    return _LEADING_PUNCT.sub("", _SPACES.sub(" ", s).strip())


_DISPLAY_FILLERS = re.compile(r"(?i)\b(?:um+|uh+m*|erm+|ah+|hmm+|mm+|uhh+)\b[,.]?\s*")
_LEADING_NOISE = re.compile(r"(?i)^(?:(?:so|well|and|okay|ok|oh|yeah|yes|right|alright)[,.]?\s+)+")


def display(text: str, *, limit: int = 200) -> str:
    """The original sentence made readable: fillers dropped, first letter capital."""
    s = _DISPLAY_FILLERS.sub("", text.translate(_APOSTROPHES))
    s = _REPEATED_WORD.sub(r"\1", s)
    s = _SPACES.sub(" ", s).strip(" ,")
    s = _LEADING_NOISE.sub("", s).strip(" ,")
    s = _SPACE_BEFORE_PUNCT.sub(r"\1", s)
    if len(s) > limit:
        cut = s[:limit].rsplit(" ", 1)[0]
        s = cut.rstrip(" ,;") + "..."
    return s[:1].upper() + s[1:]


def split_sentences(text: str) -> list[str]:
    """Sentences of one segment; a decimal point does not end a sentence."""
    return [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[^\sa-z\d]")


def tokens(norm: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(norm)]
