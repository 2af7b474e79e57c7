"""Social history: smoking, alcohol, recreational drugs, occupation, living situation.

Each topic is one item (``soc-smoking``, ...), so a later statement replaces the
earlier one. :func:`describe_answer` reads a bare answer ("no", "about a pack a day")
to a clinician's question on a topic ("do you smoke?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from drtranscribe.extraction.rules.negation import Scopes

Topic = Literal["smoking", "alcohol", "drugs", "occupation", "living"]

_SMOKING = re.compile(
    r"\b(?:smok(?:e|es|ed|ing|er|ers)|cigarettes?|cigs|tobacco|vap(?:e|es|ing)|"
    r"packs? (?:a|per) day|pack years?|cigars?|chew(?:ing)? tobacco)\b"
)
_ALCOHOL = re.compile(
    r"\b(?:alcohol|beers?|wine|liquor|spirits|vodka|whiske?y|rum|gin|drinker|"
    r"drink(?:s|ing)? (?:alcohol|socially|occasionally|on (?:the )?weekends?|every (?:day|night)|"
    r"a lot|heavily|much)|social drinker|units (?:a|per) week|glass(?:es)? of wine|etoh)\b"
)
_DRUGS = re.compile(
    r"\b(?P<d>marijuana|cannabis|weed|pot|cocaine|crack|heroin|meth|methamphetamine|"
    r"recreational drugs?|street drugs?|illicit drugs?|ecstasy|mdma|lsd|mushrooms|opioids|"
    r"ketamine|recreational drug use|drug use|any drugs)\b"
)
_OCCUPATION = re.compile(
    r"\b(?:i work (?:as|at|in|for) (?P<w>[a-z ]{3,40}?)(?=[,.;?!]|$| and | but | so )|"
    r"i am (?P<r>retired|unemployed|a student|on disability|self employed|a stay at home \w+)|"
    r"i am an? (?P<j>teacher|nurse|doctor|accountant|engineer|lawyer|cashier|driver|"
    r"truck driver|mechanic|electrician|plumber|carpenter|chef|cook|waiter|waitress|"
    r"construction worker|farmer|student|secretary|receptionist|manager|programmer|"
    r"software engineer|police officer|firefighter|paramedic|pharmacist|cleaner|"
    r"hairdresser|builder|painter|salesman|saleswoman|banker|consultant|writer|artist|"
    r"musician|personal trainer|dentist|social worker|caregiver|carer|bus driver|pilot))\b"
)
_LIVING = re.compile(
    r"\bi live (?P<l>alone|by myself|on my own|with (?!who\b|that\b|"
    r"which\b)(?:my )?[a-z ]{2,30}?)(?=[,.;?!]|$| and |"
    r" but | in | who )"
)
_QUIT = re.compile(
    r"\b(?:quit|stopped|gave up|give up|used to|ex smoker|former smoker|not anymore|"
    r"not any more|no longer|former|formerly)\b"
)
_AMOUNT = re.compile(
    r"\b(?:(?:about|around|maybe|like|probably) )?(?:\d+(?:\.\d+)?(?: to \d+| or \d+)?|half|a|"
    r"one|a couple(?: of)?|a few)"
    r" (?:packs?|cigarettes?|cigs|drinks?|beers?|glass(?:es)?(?: of wine)?|bottles?(?: of wine)?|"
    r"units?|shots?|joints?) (?:a|per|every|each) (?:day|week|night|month|weekend)\b|"
    r"\b\d+ pack years?\b"
)
_SOCIAL = re.compile(
    r"\b(?:socially|occasionally|on (?:the )?weekends?|rarely|special occasions)\b"
)
_AGO = re.compile(r"\b(?:\d+|a few|a couple of|several) (?:years?|months?|weeks?) ago\b")


@dataclass(frozen=True, slots=True)
class SocialMention:
    topic: Topic
    text: str


def _smoking(norm: str, negated: bool) -> str:
    if negated or re.search(r"\bnever smoked\b|\bnon ?smoker\b", norm):
        return "Does not smoke"
    if _QUIT.search(norm):
        ago = _AGO.search(norm)
        return "Former smoker" + (f", quit {ago.group()}" if ago else "")
    amount = _AMOUNT.search(norm)
    return "Smokes" + (f", {amount.group()}" if amount else "")


def _alcohol(norm: str, negated: bool) -> str:
    if negated or re.search(r"\bdo not drink\b|\bnon drinker\b|\bteetotal\b", norm):
        return "Does not drink alcohol"
    if _QUIT.search(norm):
        return "Former drinker"
    amount = _AMOUNT.search(norm)
    if amount:
        return f"Drinks alcohol, {amount.group()}"
    social = _SOCIAL.search(norm)
    return "Drinks alcohol" + (f" {social.group()}" if social else "")


def _drugs(norm: str, negated: bool, drug: str | None) -> str:
    if negated:
        return "No recreational drug use"
    if _QUIT.search(norm):
        return "Former recreational drug use" + (f" ({drug})" if drug else "")
    return "Recreational drug use" + (f": {drug}" if drug else "")


_GENERIC_DRUG = {
    "recreational drugs",
    "recreational drug",
    "street drugs",
    "street drug",
    "illicit drugs",
    "illicit drug",
    "recreational drug use",
    "drug use",
    "any drugs",
}


def find_social(norm: str, scopes: Scopes) -> list[SocialMention]:
    out: list[SocialMention] = []
    m = _SMOKING.search(norm)
    if m and _DRUGS.search(norm) and not re.search(r"\b(?:cigarettes?|tobacco)\b", norm):
        m = None  # smoking marijuana is drug use
    if m and not re.search(r"\bsmoke (?:detector|alarm)|second ?hand smoke|around smoke", norm):
        neg = scopes.is_negated(m.start(), m.end())
        out.append(SocialMention("smoking", _smoking(norm, neg)))
    m = _ALCOHOL.search(norm)
    if m and not re.search(r"\balcohol (?:swab|wipe|gel|rub)", norm):
        neg = scopes.is_negated(m.start(), m.end())
        out.append(SocialMention("alcohol", _alcohol(norm, neg)))
    m = _DRUGS.search(norm)
    if m:
        neg = scopes.is_negated(m.start(), m.end())
        drug = m.group("d")
        out.append(
            SocialMention("drugs", _drugs(norm, neg, None if drug in _GENERIC_DRUG else drug))
        )
    m = _OCCUPATION.search(norm)
    if m:
        if m.group("w"):
            out.append(SocialMention("occupation", f"Works {m.group(0).split(' ', 2)[2]}"))
        elif m.group("r"):
            out.append(SocialMention("occupation", m.group("r").capitalize()))
        elif m.group("j"):
            out.append(SocialMention("occupation", f"Works as a {m.group('j')}"))
    m = _LIVING.search(norm)
    if m:
        where = m.group("l").strip()
        out.append(
            SocialMention(
                "living",
                "Lives alone" if where in ("alone", "by myself", "on my own") else f"Lives {where}",
            )
        )
    return out


_QUESTION_TOPIC: tuple[tuple[Topic, re.Pattern[str]], ...] = (
    (
        "smoking",
        re.compile(
            r"\b(?:smok\w*(?! (?:it|them|that|weed|pot|marijuana))|cigarettes?|tobacco|vap\w*)\b"
        ),
    ),
    (
        "alcohol",
        re.compile(r"\b(?:alcohol|drink(?:s|ing)?(?! (?:water|fluids?|plenty))|beer|wine|etoh)\b"),
    ),
    (
        "drugs",
        re.compile(
            r"\b(?:recreational|street|illicit|marijuana|cannabis|weed|cocaine|drugs)\b(?! allerg)"
        ),
    ),
)


def question_topics(norm: str) -> list[Topic]:
    """Social topics a question is about ("do you smoke?" -> smoking)."""
    found = [t for t, p in _QUESTION_TOPIC if p.search(norm)]
    if (
        "drugs" in found
        and "smoking" in found
        and not re.search(r"\b(?:cigarettes?|tobacco)\b", norm)
    ):
        found.remove("smoking")  # "do you smoke it?" about marijuana
    return found


@lru_cache(maxsize=1024)
def describe_answer(topic: Topic, norm: str, polarity: str | None) -> str | None:
    """The item text for an answer to a question on ``topic``."""
    negated = polarity == "no"
    if topic == "smoking":
        if not negated and polarity is None and not (_QUIT.search(norm) or _AMOUNT.search(norm)):
            return None
        return _smoking(norm, negated)
    if topic == "alcohol":
        if not negated and polarity is None and not (_AMOUNT.search(norm) or _SOCIAL.search(norm)):
            return None
        return _alcohol(norm, negated)
    if topic == "drugs":
        if polarity is None:
            return None
        m = _DRUGS.search(norm)
        drug = m.group("d") if m else None
        return _drugs(norm, negated, None if drug in _GENERIC_DRUG else drug)
    return None
