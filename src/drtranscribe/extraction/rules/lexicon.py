"""Term lexicons (medications, conditions) and a longest-match lookup over tokens.

The data files under ``data/`` are hand-written; their headers state provenance.
Surfaces are normalised with the same function as the transcript, so "type two
diabetes" in speech meets "type 2 diabetes" in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

from drtranscribe.extraction.rules.text import Token, normalise, tokens

ConditionKind = Literal["acute", "chronic"]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Surface (normalised, space-joined tokens) -> canonical name."""

    terms: Mapping[str, str]
    max_words: int
    classes: frozenset[str] = frozenset()  # canonical names that are classes, not drugs
    # first word of a surface -> its most words, so most tokens cost one dict lookup
    first: Mapping[str, int] = field(default_factory=dict)

    def find(self, toks: list[Token]) -> list[tuple[int, int, str]]:
        """Longest matches, left to right: (start char, end char, canonical)."""
        found: list[tuple[int, int, str]] = []
        i = 0
        n = len(toks)
        while i < n:
            longest = self.first.get(toks[i].text)
            if longest is None:
                i += 1
                continue
            hit: tuple[int, str] | None = None
            for size in range(min(longest, n - i), 0, -1):
                key = " ".join(t.text for t in toks[i : i + size])
                canonical = self.terms.get(key)
                if canonical is not None:
                    hit = (size, canonical)
                    break
            if hit is None:
                i += 1
                continue
            size, canonical = hit
            found.append((toks[i].start, toks[i + size - 1].end, canonical))
            i += size
        return found


def _read(name: str) -> list[list[str]]:
    text = (
        resources.files("drtranscribe.extraction.rules")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    rows: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append([part.strip() for part in line.split("|")])
    return rows


def _surface(text: str) -> str:
    """The key a surface is looked up by: its tokens as the transcript's are cut
    ("vitamin b12" -> "vitamin b 12", the way the tokenizer splits letters and digits)."""
    return " ".join(t.text for t in tokens(normalise(text).replace(".", " ")))


def _build(rows: list[list[str]]) -> Lexicon:
    terms: dict[str, str] = {}
    classes: set[str] = set()
    for row in rows:
        if len(row) > 2 and row[2] == "class":
            classes.add(row[0])
        canonical = row[0]
        synonyms = [s for s in row[1].split(",")] if len(row) > 1 else []
        for surface in [canonical, *synonyms]:
            key = _surface(surface)
            if key and key not in terms:
                terms[key] = canonical
    first: dict[str, int] = {}
    for key in terms:
        words = key.split()
        first[words[0]] = max(first.get(words[0], 0), len(words))
    return Lexicon(terms, max(first.values()), frozenset(classes), first)


@cache
def medications() -> Lexicon:
    return _build(_read("medications.txt"))


@cache
def conditions() -> Lexicon:
    return _build(_read("conditions.txt"))


@cache
def condition_kinds() -> Mapping[str, ConditionKind]:
    kinds: dict[str, ConditionKind] = {}
    for row in _read("conditions.txt"):
        kinds[row[0]] = "acute" if len(row) > 2 and row[2] == "acute" else "chronic"
    return kinds
