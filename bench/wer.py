"""Word error rate with one text normaliser, shared by the benchmarks.

The Fareez OSCE reference transcripts are verbatim (fillers, false starts, "OK",
digits now and then); Whisper writes "Okay", spells out most numbers and drops most
fillers. Both sides go through :func:`normalize` so that WER counts words, not
orthography. The rules, applied in this order:

1. Unicode NFKC; curly apostrophes and quotes become ``'``; lower-case.
2. ``%`` becomes `` percent``; ``&`` becomes `` and ``.
3. Contractions are expanded: ``won't`` → ``will not``, ``can't`` → ``can not``,
   ``n't`` → `` not``, ``'re`` → `` are``, ``'ve`` → `` have``, ``'m`` → `` am``,
   ``'ll`` → `` will``. ``'s`` and ``'d`` are ambiguous (is/has/possessive, had/would) and
   are kept, only losing the apostrophe (``it's`` → ``its``) — the same on both sides.
4. Numbers become words: integers (``48`` → ``forty eight``, thousands separators
   allowed), decimals (``100.1`` → ``one hundred point one``) and ordinals (``2nd`` →
   ``second``).
5. Hyphens, slashes and colons separate words (``follow-up`` → ``follow up``,
   ``COVID-19`` → ``covid nineteen``); every other non-alphanumeric character is dropped.
6. Spelling variants: ``ok`` → ``okay``, ``alright`` → ``all right``, ``mhmm``/``mmhmm``
   → dropped with the fillers.
7. Fillers are dropped: um, umm, uhm, uh, uhh, er, erm, ah, ahh, hm, hmm, hmmm, mm, mmm,
   mhm, mhmm, mmhmm (``mm-hmm`` becomes ``mm hmm`` at step 5 and both go).
   Discourse words that carry meaning ("oh", "yeah", "like", "okay") stay.

No attempt is made at false starts or repetitions: a repeated word the reference keeps
and Whisper drops is a real deletion. WER is (S + D + I) / N over the normalised
reference words, computed by ``jiwer`` (dev dependency).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

FILLERS = frozenset(
    [
        "um",
        "umm",
        "uhm",
        "uh",
        "uhh",
        "er",
        "erm",
        "ah",
        "ahh",
        "hm",
        "hmm",
        "hmmm",
        "mm",
        "mmm",
        "mhm",
        "mhmm",
        "mmhm",
        "mmhmm",
    ]
)
SPELLING = {"ok": "okay", "alright": "all right"}

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_LAST = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def number_words(n: int) -> str:
    """Cardinal in words, e.g. 148 → 'one hundred forty eight' (no 'and')."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    for size, name in (
        (10**9, "billion"),
        (10**6, "million"),
        (1000, "thousand"),
        (100, "hundred"),
    ):
        if n >= size:
            head, rest = divmod(n, size)
            return number_words(head) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)  # pragma: no cover


def ordinal_words(n: int) -> str:
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL_LAST:
        words[-1] = _ORDINAL_LAST[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


_CONTRACTIONS = [
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ll\b"), " will"),
]
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_INTEGER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")


def _decimal(m: re.Match[str]) -> str:
    return f" {number_words(int(m.group(1)))} point {' '.join(_ONES[int(d)] for d in m.group(2))} "


def normalize(text: str) -> str:
    """The normalised word sequence of ``text``, space-separated (see module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").lower()
    text = text.replace("%", " percent ").replace("&", " and ")
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    text = _ORDINAL.sub(lambda m: f" {ordinal_words(int(m.group(1)))} ", text)
    text = _DECIMAL.sub(_decimal, text)
    text = _INTEGER.sub(lambda m: f" {number_words(int(m.group(0).replace(',', '')))} ", text)
    text = re.sub(r"[-/:\u2013\u2014]", " ", text)
    text = re.sub(r"[^a-z0-9\s]", "", text)
    words = []
    for word in text.split():
        word = SPELLING.get(word, word)
        if word in FILLERS:
            continue
        words.extend(word.split())
    return " ".join(words)


@dataclass(frozen=True)
class WerResult:
    wer: float  # fraction, e.g. 0.153
    ref_words: int
    hyp_words: int
    substitutions: int
    deletions: int
    insertions: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wer(reference: str, hypothesis: str, *, normalized: bool = False) -> WerResult:
    """WER of ``hypothesis`` against ``reference``, both normalised unless ``normalized``."""
    import jiwer

    ref = reference if normalized else normalize(reference)
    hyp = hypothesis if normalized else normalize(hypothesis)
    if not ref:
        raise ValueError("empty reference after normalisation")
    out = jiwer.process_words(ref, hyp or "")
    return WerResult(
        wer=out.wer,
        ref_words=len(ref.split()),
        hyp_words=len(hyp.split()),
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
    )


if __name__ == "__main__":
    import sys

    for line in sys.argv[1:] or sys.stdin:
        print(normalize(line))
