"""Allergies: "allergic to penicillin, it gives me a rash", "no known drug allergies".

A stated absence (NKA / NKDA, "not allergic to anything") is an item of its own:
substance "no known drug allergies", ``no_known_allergies=True``. A substance is a
drug from the medication lexicon (shown by its canonical name), a common non-drug
allergen, or failing both the words right after "allergic to".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.extraction.rules.lexicon import medications
from drtranscribe.extraction.rules.negation import Scopes
from drtranscribe.extraction.rules.text import Token

NKDA = "no known drug allergies"

_NKA = re.compile(
    r"\b(?:no (?:known |other )?(?:drug |medication |medicine |food |med )?allerg(?:ies|y)|nkda|"
    r"nka|"
    r"not allergic to (?:any(?:thing)?|any (?:medications?|medicines?|drugs?|meds))|"
    r"(?:do|does|did) not have (?:any )?(?:known )?(?:drug |medication )?allergies|"
    r"allergies ?: ?(?:none|nil|no)|nil known allergies|none known|"
    r"no allergies (?:that|to) (?:i|she|he) (?:know|knows|am aware) of)\b"
)

_ALLERGENS: dict[str, str] = {
    "sulfa": "sulfa drugs", "sulfa drugs": "sulfa drugs", "sulpha": "sulfa drugs",
    "sulfonamides": "sulfa drugs", "penicillins": "penicillin", "latex": "latex",
    "peanut": "peanuts", "peanuts": "peanuts", "nuts": "tree nuts", "tree nuts": "tree nuts",
    "almonds": "tree nuts", "cashews": "tree nuts", "walnuts": "tree nuts",
    "shellfish": "shellfish", "shrimp": "shellfish", "prawns": "shellfish",
    "lobster": "shellfish", "crab": "shellfish", "seafood": "seafood", "fish": "fish",
    "eggs": "eggs", "egg": "eggs", "milk": "milk", "dairy": "dairy", "lactose": "lactose",
    "wheat": "wheat", "gluten": "gluten", "soy": "soy", "sesame": "sesame",
    "strawberries": "strawberries", "bee stings": "bee stings", "bees": "bee stings",
    "bee sting": "bee stings", "wasps": "wasp stings", "wasp stings": "wasp stings",
    "pollen": "pollen", "grass": "grass", "dust": "dust", "dust mites": "dust mites",
    "mould": "mould", "mold": "mould", "cats": "cats", "cat": "cats", "dogs": "dogs",
    "dog": "dogs", "animals": "animal dander", "dander": "animal dander",
    "iodine": "iodine", "contrast": "contrast dye", "contrast dye": "contrast dye",
    "dye": "contrast dye", "adhesive": "adhesive tape", "tape": "adhesive tape",
    "plasters": "adhesive tape", "nickel": "nickel", "morphine": "morphine",
    "opioids": "opioids", "opiates": "opioids", "anesthesia": "anaesthetic",
    "anaesthetic": "anaesthetic", "local anesthetic": "local anaesthetic",
    "cephalosporins": "cephalosporins", "nsaids": "nsaid", "mushrooms": "mushrooms",
}  # fmt: skip
# Allergens that are not drugs: a "no drug allergies" stands next to them.
NON_DRUG_ALLERGENS = frozenset(
    {
        "peanuts", "tree nuts", "shellfish", "seafood", "fish", "eggs", "milk", "dairy",
        "lactose", "wheat", "gluten", "soy", "sesame", "strawberries", "bee stings",
        "wasp stings", "pollen", "grass", "dust", "dust mites", "mould", "cats", "dogs",
        "animal dander", "adhesive tape", "nickel", "latex", "mushrooms", "seasonal allergies",
    }
)  # fmt: skip


def is_drug_allergen(substance: str) -> bool:
    """A drug (or an unknown substance, to be safe), not a food or environmental allergen."""
    return substance not in NON_DRUG_ALLERGENS


_ALLERGEN_RE = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _ALLERGENS), key=len, reverse=True)) + r")\b"
)

_TRIGGER = re.compile(
    r"\b(?:allergic (?:reaction )?(?:to|from)|allerg(?:y|ies) (?:to|with|from)|"
    r"(?:bad |severe |an? )?reactions? (?:to|from|with)|intoleran(?:t|ce) (?:to|of)|"
    # "sensitive to bright lights" is photophobia, not an allergy
    r"sensitiv(?:e|ity) to(?! (?:the )?(?:bright |loud )?(?:lights?|sun|sunlight|noises?|sounds?|"
    r"cold|heat|touch|smells?))|can not (?:take|have|tolerate)|react(?:ed|s)? (?:badly |poorly |"
    r"bad )?to|adverse (?:reactions?|effects?) (?:to|from|with))\b"
)
# "penicillin allergy" / "i am allergic"
_POST = re.compile(r"\b(?:allergy|allergies|allergic)\b")
# "i take allegra for my allergies": the drug treats the allergy, it is not the allergen
_FOR_ALLERGY = re.compile(
    r"\b(?:for|treat|treating|with|help(?:s|ing)?(?: with)?) (?:(?:the|your|my|his|her|these|"
    r"those|bad|seasonal|environmental) )*$"
)
_LIST_AFTER = re.compile(
    r"\s*(?::|,|-|\bis\b|\bare\b|\binclude\b|\bincludes\b)\s*(?:to\s+)?(?:[a-z0-9]+\s+){0,2}"
    r"[a-z0-9]+\s*(?:[.,;]|$)"
)
SEASONAL = "seasonal allergies"
_SEASONAL = re.compile(
    r"\b(?:(?:seasonal|environmental|spring|fall|autumn|summer|outdoor) allerg(?:y|ies)|"
    r"hay ?fever)\b"
)

_REACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\banaphyla(?:xis|ctic)\b|\bepi ?pen\b", "anaphylaxis"),
        (
            r"\b(?:throat|tongue|lips?|face|mouth) (?:swell|swells|swelled|swelling|closes|"
            r"closing|closed)\b|"
            r"\bswell(?:s|ed|ing)? (?:up )?(?:my|the) (?:throat|tongue|lips?|face)\b|"
            r"\b(?:throat|tongue|lip|face|facial) swelling\b",
            "swelling of the face or throat",
        ),
        (r"\bhives\b|\burticaria\b|\bwelts\b", "hives"),
        (
            r"\brash(?:es)?\b|\bbreak(?:s)? out\b|\bbroke out\b|\bspots\b|\bred (?:and )?blotch",
            "rash",
        ),
        (r"\bitch(?:y|ing|iness)?\b", "itching"),
        (r"\bswell(?:ing|s|ed)?\b|\bswollen\b", "swelling"),
        (
            r"\b(?:can not breathe|short(?:ness)? of breath|difficulty breathing|"
            r"trouble breathing|wheez\w*)\b",
            "difficulty breathing",
        ),
        (
            r"\bnause(?:a|ous)\b|\bvomit\w*\b|\bthrow(?:s|ing)? up\b|\bsick to my stomach\b",
            "nausea or vomiting",
        ),
        (
            r"\bupset stomach\b|\bstomach upset\b|\bstomach (?:pain|ache|cramps)\b|\bdiarrh\w*\b",
            "gastrointestinal upset",
        ),
        (r"\bdizz\w*\b|\blight ?headed\b", "dizziness"),
        (r"\bblisters?\b", "blistering"),
    )
)
_REACTION_CUE = re.compile(
    r"\b(?:give|gives|gave|giving|get|gets|got|break|breaks|broke|caus(?:e|es|ed)|made|makes|"
    r"make|react(?:ion|ed)?|come out in|came out in|develop(?:ed)?|end up with|ended up with|"
    r"swell|swells|swelled|anaphyla\w*)\b"
)

_STOP = re.compile(r"\b(?:and|or|but|it|which|that|so|because|i|when|if|since|as)\b|[,.;:?!]")


_FILLER_WORDS = {
    "the", "a", "an", "any", "some", "my", "all", "like", "of", "certain", "quite", "few",
    "lot", "several", "many", "couple", "different", "various", "most", "these", "those",
}  # fmt: skip
_GENERIC = {
    "medications", "medication", "meds", "medicine", "medicines", "drugs", "drug", "anything",
    "something", "food", "foods", "else", "things", "stuff", "that", "this", "them", "what",
    "other", "everything", "lot", "environmental", "seasonal",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AllergyMention:
    substance: str
    reaction: str | None
    no_known_allergies: bool


def find_reaction(norm: str) -> str | None:
    """The reaction said in a sentence, when it is said as a reaction ('gives me a rash')."""
    if not _REACTION_CUE.search(norm):
        return None
    for pattern, reaction in _REACTIONS:
        if pattern.search(norm):
            return reaction
    return None


def _substances(norm: str, toks: list[Token], start: int, end: int) -> list[tuple[int, str]]:
    """Substances named between start and end of the normalised sentence."""
    found: list[tuple[int, str]] = []
    lexicon = medications()
    drugs = lexicon.find([t for t in toks if start <= t.start < end])
    # "an antibiotic, clindamycin": the class adds nothing to the drug
    specific = [d for d in drugs if d[2] not in lexicon.classes]
    found.extend((s, name) for s, _, name in (specific or drugs))
    for m in _ALLERGEN_RE.finditer(norm, start, end):
        if not any(s <= m.start() < e for s, e, _ in drugs):
            found.append((m.start(), _ALLERGENS[m.group()]))
    found.sort()
    return found


def find_allergies(
    norm: str, toks: list[Token], scopes: Scopes
) -> tuple[list[AllergyMention], tuple[tuple[int, int], ...]]:
    """Allergy mentions, and the spans they cover (no drug or symptom is read there)."""
    spans: list[tuple[int, int]] = []
    out: list[AllergyMention] = []
    m = _NKA.search(norm)
    if m:
        spans.append((m.start(), m.end()))
        out.append(AllergyMention(NKDA, None, True))
    reaction = find_reaction(norm)
    for s in _SEASONAL.finditer(norm):
        if not scopes.is_negated(s.start(), s.end()) and not scopes.is_hypothetical(s.start()):
            out.append(AllergyMention(SEASONAL, None, False))
            spans.append((s.start(), s.end()))
    for t in _TRIGGER.finditer(norm):
        if scopes.is_negated(t.start(), t.end()):
            continue
        if m and m.start() <= t.start() < m.end():
            continue
        stop = _STOP.search(norm, t.end())
        clause_end = len(norm)
        term = re.compile(r"[.;?!]| but ").search(norm, t.end())
        if term:
            clause_end = term.start()
        subs = _substances(norm, toks, t.end(), clause_end)
        if not subs:
            # an unknown word is an allergen only after "allergic to" / "allergy to":
            # "a reaction to the needle" names no allergen
            if not t.group().startswith("allerg"):
                continue
            end = stop.start() if stop else clause_end
            words = norm[t.end() : end].split()
            words = [w for w in words if w not in _FILLER_WORDS]
            if not words or len(words) > 3 or all(w in _GENERIC for w in words):
                continue
            subs = [(t.end(), " ".join(words))]
        for _, name in subs:
            out.append(AllergyMention(name, reaction, False))
        spans.append((t.start(), len(norm)))
    # "penicillin allergy", "allergies: penicillin", "i am allergic, penicillin"
    if not any(not a.no_known_allergies and a.substance != SEASONAL for a in out):
        for p in _POST.finditer(norm):
            if scopes.is_negated(p.start(), p.end()) or (m and m.start() <= p.start() < m.end()):
                continue
            if _FOR_ALLERGY.search(norm, 0, p.start()) or any(s <= p.start() < e for s, e in spans):
                continue
            before = norm[max(0, p.start() - 40) : p.start()]
            lo = p.start() - len(before)
            subs = _substances(norm, toks, lo, p.start())
            if not subs and _LIST_AFTER.match(norm, p.end()):
                # "allergies: penicillin", "allergic, penicillin" - not "allergies, maybe try x"
                after_end = p.end() + 40
                subs = _substances(norm, toks, p.end(), min(len(norm), after_end))
            for _, name in subs[-1:]:
                out.append(AllergyMention(name, reaction, False))
                spans.append((0, len(norm)))
    return out, tuple(spans)


def find_allergens(norm: str, toks: list[Token]) -> list[str]:
    """Every drug or allergen named in a sentence (read when it answers 'any allergies?')."""
    return [name for _, name in _substances(norm, toks, 0, len(norm))]
