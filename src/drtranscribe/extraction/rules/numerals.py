"""Numbers spoken as words -> digits.

"five hundred" -> "500", "a thousand" -> "1000", "thirty eight point five" -> "38.5",
"one forty over ninety" -> "140 over 90" (the colloquial hundreds of blood pressures
and doses: a digit followed by a tens word), "two and a half" -> "2.5".
A lone "one" is kept as a word unless a unit or a time word follows ("one tablet",
"one week"), so "no one" and "the one I take" stay as they are.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORDS = _UNITS.keys() | _TEENS.keys() | _TENS.keys() | _SCALES.keys()
_JOINERS = {"and", "a", "oh", "point", "half"}

# After a lone "one", these make it a number.
_ONE_CONTEXT = {
    "mg", "mcg", "milligram", "milligrams", "tablet", "tablets", "pill", "pills", "puff",
    "puffs", "capsule", "capsules", "drop", "drops", "spray", "sprays", "unit", "units",
    "day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours",
    "minute", "minutes", "time", "times", "out", "per", "a", "pack", "packs", "drink",
    "drinks", "glass", "glasses", "beer", "beers", "cigarette", "cigarettes", "kg",
    "percent", "degree", "degrees", "over", "to", "or", "and", "point", "night", "nights",
    "dose", "doses", "teaspoon", "teaspoons", "ml", "gram", "grams", "episode", "episodes",
}  # fmt: skip

_PIECES = re.compile(r"[a-z]+|\d+(?:\.\d+)?|\s+|[^a-z\d\s]")


def _kind(word: str) -> str | None:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word in _SCALES:
        return "scale"
    return None


def _format(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _parse_decimal(words: list[str], i: int) -> tuple[str, int]:
    """Digits after 'point': 'point five' -> '5', 'point two five' -> '25'."""
    digits = ""
    while i < len(words) and words[i] in _UNITS:
        digits += str(_UNITS[words[i]])
        i += 1
    return digits, i


def _parse_one(words: list[str], i: int) -> tuple[str | None, int]:
    """Parse one number starting at words[i]; return (digits, next index)."""
    colloquial = _parse_colloquial_hundreds(words, i)
    if colloquial is not None:
        return colloquial
    value, j = _parse_cardinal(words, i)
    n = len(words)
    if value is None:
        if words[i] == "point" and i + 1 < n and words[i + 1] in _UNITS:
            digits, j = _parse_decimal(words, i + 1)
            return "0." + digits, j
        return None, i + 1
    if j + 1 < n and words[j] == "point" and words[j + 1] in _UNITS:
        digits, j = _parse_decimal(words, j + 1)
        return _format(value) + "." + digits, j
    if j + 2 < n and words[j] == "and" and words[j + 1] == "a" and words[j + 2] == "half":
        return _format(value + 0.5), j + 3
    return _format(value), j


def _parse_colloquial_hundreds(words: list[str], i: int) -> tuple[str, int] | None:
    """ "one forty" -> 140, "one twenty five" -> 125, "one oh five" -> 105 (with an
    optional decimal part); None if words[i] does not start one."""
    n = len(words)
    if not (
        words[i] in _UNITS
        and _UNITS[words[i]] > 0
        and i + 1 < n
        and (words[i + 1] in _TENS or words[i + 1] in _TEENS or words[i + 1] == "oh")
        and not (i + 2 < n and words[i + 2] in _SCALES)
    ):
        return None
    hundreds = _UNITS[words[i]] * 100
    j = i + 1
    rest: int | None = None
    if words[j] == "oh":
        if j + 1 < n and words[j + 1] in _UNITS:
            rest = _UNITS[words[j + 1]]
            j += 2
    elif words[j] in _TEENS:
        rest = _TEENS[words[j]]
        j += 1
    else:
        rest = _TENS[words[j]]
        j += 1
        if j < n and words[j] in _UNITS and _UNITS[words[j]] > 0:
            rest += _UNITS[words[j]]
            j += 1
    if rest is None:
        return None
    text = str(hundreds + rest)
    if j + 1 < n and words[j] == "point" and words[j + 1] in _UNITS:
        digits, j = _parse_decimal(words, j + 1)
        text += "." + digits
    return text, j


def _parse_cardinal(words: list[str], i: int) -> tuple[float | None, int]:
    """ "two hundred and five", "a thousand", "forty": the value (None if words[i] does
    not start a number) and the index after it."""
    n = len(words)
    total = 0
    current = 0
    last: str | None = None
    seen = False
    while i < n:
        w = words[i]
        kind = _kind(w)
        if w == "a" and i + 1 < n and words[i + 1] in _SCALES and last is None:
            current = 1
            last = "unit"
            seen = True
            i += 1
            continue
        if kind == "unit":
            if last not in (None, "tens", "scale", "and"):
                break
            current += _UNITS[w]
        elif kind in ("teen", "tens"):
            if last not in (None, "scale", "and"):
                break
            current += _TEENS.get(w, 0) + _TENS.get(w, 0)
        elif kind == "scale":
            if last not in ("unit", "teen", "tens"):
                break
            if w == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * 1000
                current = 0
        elif w == "and" and last == "scale" and i + 1 < n and _kind(words[i + 1]) in _NUMBER_KINDS:
            last = "and"
            i += 1
            continue
        else:
            break
        seen = True
        last = kind
        i += 1
    return (float(total + current) if seen else None), i


_NUMBER_KINDS = ("unit", "teen", "tens")


def _convert_run(words: list[str]) -> list[str]:
    """A run of number-ish words -> output pieces (digits or untouched words)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        text, j = _parse_one(words, i)
        if text is None:
            out.append(words[i])
            i += 1
        else:
            out.append(text)
            i = j
    return out


def words_to_digits(s: str) -> str:
    """Replace spoken numbers in lower-cased text by digits."""
    pieces = _PIECES.findall(s)
    out: list[str] = []
    i = 0
    n = len(pieces)
    while i < n:
        p = pieces[i]
        starts = p in _NUMBER_WORDS or (
            p in ("a", "point") and _next_word(pieces, i) in (_SCALES.keys() | _UNITS.keys())
        )
        if p == "a" and _next_word(pieces, i) not in _SCALES:
            starts = False
        if not starts:
            out.append(p)
            i += 1
            continue
        words = [p]
        j = i + 1
        while j < n:
            q = pieces[j]
            if q.isspace():
                j += 1
                continue
            if q in _NUMBER_WORDS or q in _JOINERS:
                words.append(q)
                j += 1
                continue
            break
        # Trailing joiners ("and", "a", "oh", "point") that no number follows stay words.
        while words and words[-1] in _JOINERS and words[-1] != "half":
            words.pop()
        if (
            words
            and words[-1] == "half"
            and not (len(words) >= 3 and words[-2] == "a" and words[-3] == "and")
        ):
            words.pop()
            while words and words[-1] in _JOINERS:
                words.pop()
        consumed = _consumed_pieces(pieces, i, len(words))
        if len(words) == 1 and words[0] == "one":
            nxt = _next_word(pieces, i)
            if nxt not in _ONE_CONTEXT:
                out.append(p)
                i += 1
                continue
        converted = _convert_run(words)
        out.append(" ".join(converted))
        i = consumed
    return "".join(out)


def _next_word(pieces: list[str], i: int) -> str | None:
    j = i + 1
    while j < len(pieces):
        if not pieces[j].isspace():
            return pieces[j]
        j += 1
    return None


def _consumed_pieces(pieces: list[str], i: int, n_words: int) -> int:
    """Index just after the n_words-th word piece starting at pieces[i]."""
    count = 0
    j = i
    while j < len(pieces):
        if not pieces[j].isspace():
            count += 1
            if count == n_words:
                return j + 1
        j += 1
    return j
