"""Symptoms: a curated list with synonyms, pain by body part, onset and severity.

Each canonical symptom has a few regular-expression synonyms over the normalised
text ("short of breath" / "shortness of breath" / "breathless" -> "shortness of
breath"). Pain is also read generically by body part ("pain in my left knee",
"my back hurts", "sore shoulder" -> "knee pain", "back pain", "shoulder pain").
Negation and hypothetical scopes come from :mod:`negation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.extraction.rules.negation import Scopes, post_negated

# canonical name -> synonyms (regex fragments over normalised text)
SYMPTOMS: dict[str, tuple[str, ...]] = {
    "fever": (
        r"fevers?",
        r"feverish",
        r"febrile",
        r"high temperature",
        r"running a temperature",
        r"(?:had|have|got|get|getting|with) (?:a )?temperature",
        r"temperatures",
        r"pyrexia",
        r"(?:felt|feel|feels|feeling) (?:really |very |a bit |a little |kind of |so )*(?:hot|warm)",
        r"hot and cold",
        r"burning up",
    ),
    "chills": (r"chills?", r"chilly", r"shivers", r"shivering", r"rigors?", r"chilled"),
    "night sweats": (
        r"night sweats?",
        r"sweat(?:s|ing|y)? (?:at|in the) night",
        r"sweating at night",
        r"waking up (?:all )?sweaty",
    ),
    "sweating": (r"sweating", r"sweaty", r"sweats", r"diaphoresis", r"diaphoretic"),
    "cough": (r"cough(?:s|ing|ed)?", r"coughs up", r"coughing (?:fits?|spells?)"),
    "sputum": (
        r"phlegm",
        r"sputum",
        r"mucus",
        r"productive cough",
        r"bringing (?:anything |stuff )?up",
        r"coughing (?:anything |stuff |something )?up(?! blood)",
    ),
    "coughing up blood": (
        r"coughing up blood",
        r"cough(?:ed|s)? up blood",
        r"blood in (?:my|the|your|his|her) (?:phlegm|sputum|spit)",
        r"hemoptysis",
        r"haemoptysis",
    ),
    "shortness of breath": (
        r"short(?:ness)? of breath",
        r"sob",
        r"breathless(?:ness)?",
        r"out of breath",
        r"dyspn(?:o)?ea",
        r"(?:difficulty|trouble|problems?|hard time|struggling) (?:with )?breathing",
        r"hard to breathe",
        r"can not (?:catch my )?breathe?",
        r"can not catch (?:my|his|her) breath",
        r"winded",
        r"breathing (?:is )?(?:difficult|hard|laboured|labored|heavy)",
        r"catch(?:ing)? (?:my|his|her) breath",
        r"struggl(?:e|ing) to breathe",
        r"puffed out",
        r"breathing problems?",
    ),
    "wheezing": (r"wheez(?:e|es|ing|y)", r"whistling (?:sound|noise)"),
    "chest tightness": (
        r"chest tightness",
        r"tight(?:ness)? (?:in|of) (?:my |the |his |her )?chest",
        r"chest (?:feels|is|felt) tight",
        r"tight chest",
    ),
    "chest pain": (r"chest pains?", r"chest discomfort", r"chest pressure"),
    "palpitations": (
        r"palpitations?",
        r"heart (?:is |was )?(?:racing|pounding|fluttering|skipping)",
        r"racing heart",
        r"heart racing",
        r"skipped beats?",
        r"fluttering in (?:my|the) chest",
        r"irregular heartbeat",
    ),
    "headache": (
        r"headaches?",
        r"head aches?",
        r"head (?:is )?(?:hurting|hurts|pounding|sore)",
        r"pain in (?:my|the|his|her) head",
    ),
    "dizziness": (
        r"dizz(?:y|iness)",
        r"light ?headed(?:ness)?",
        r"vertigo",
        r"room (?:is )?spinning",
        r"unsteady",
        r"woozy",
    ),
    "fainting": (
        r"faint(?:ed|ing)?",
        r"passed out",
        r"pass(?:ing)? out",
        r"black(?:ed)? out",
        r"blackouts?",
        r"syncope",
        r"lost consciousness",
    ),
    "fatigue": (
        r"fatigue[d]?",
        r"tired(?:ness)?",
        r"exhaust(?:ed|ion)",
        r"lethargi?c?y?",
        r"letharg(?:y|ic)",
        r"no energy",
        r"low energy",
        r"lack of energy",
        r"worn out",
        r"run down",
        r"wiped out",
        r"drained",
        r"sluggish",
    ),
    "weakness": (r"weak(?:ness)?", r"feeling weak"),
    "nausea": (
        r"nause(?:a|ous|ated|ating)",
        r"queasy",
        r"sick to (?:my|the|his|her) stomach",
        r"feel(?:ing)? sick",
        r"felt sick",
    ),
    "vomiting": (
        r"vomit(?:s|ing|ed)?",
        r"throw(?:ing|n)? up",
        r"threw up",
        r"puk(?:e|ed|ing)",
        r"emesis",
    ),
    "vomiting blood": (
        r"(?:throw(?:ing|n)?|threw|vomit(?:s|ing|ed)?) up (?:any |some )?blood",
        r"vomit(?:s|ing|ed)? (?:any |some )?blood",
        r"blood in (?:(?:my|the|his|her|your) )?(?:vomit|sick)",
        r"h(?:a)?ematemesis",
    ),
    "malaise": (
        r"malaise",
        r"(?:feel|feels|feeling|felt) (?:kind of |really |pretty |just |generally |a bit |"
        r"a little |"
        r"so |very |quite )*(?:crappy|crummy|icky|yucky|unwell|awful|terrible|rough|lousy|"
        r"rubbish|off|"
        r"under the weather|not (?:very )?well|not right|not myself|not good|poorly|sick|ill)",
        r"under the weather",
    ),
    "diarrhea": (
        r"diarrh(?:o)?ea",
        r"loose stools?",
        r"loose (?:bowel movements|bowels)",
        r"watery stools?",
        r"runny stools?",
        r"the runs",
    ),
    "constipation": (
        r"constipat(?:ed|ion)",
        r"hard stools?",
        r"can not (?:go|poop)",
        r"not been able to go",
    ),
    "blood in stool": (
        r"blood in (?:(?:my|the|his|her|your) )?(?:stools?|poo|poop|bowel movements?)",
        r"bloody stools?",
        r"rectal bleeding",
        r"black (?:tarry )?stools?",
        r"melena",
        r"malaena",
    ),
    "abdominal pain": (
        r"abdominal pain",
        r"stomach ?aches?",
        r"tummy ?aches?",
        r"belly ?aches?",
        r"stomach (?:pain|cramps?)",
        r"abdominal cramps?",
        r"cramp(?:s|ing) in (?:my|the) (?:stomach|tummy|belly|abdomen)",
        r"abdominal discomfort",
    ),
    "bloating": (r"bloat(?:ed|ing)", r"distended"),
    "heartburn": (
        r"heart ?burn",
        r"acid (?:reflux|indigestion)",
        r"indigestion",
        r"burning in (?:my|the) (?:chest|throat)",
    ),
    "loss of appetite": (
        r"(?:loss of|lost (?:my|his|her)|poor|decreased|reduced|no|lack of) appetite",
        r"not (?:been )?eating (?:much|well)",
        # "he does not seem to have a big appetite": the "not" is part of the mention
        r"not (?:seem to |really )?(?:have|having|got) (?:a |an |much (?:of an? )?)?"
        r"(?:big |good |great |much (?:of an? )?)?appetite",
        r"off (?:my|his|her) food",
        r"not hungry",
    ),
    "weight loss": (
        r"weight loss",
        r"los(?:t|ing|e) (?:some |a lot of |any )?weight",
        r"dropped (?:some )?weight",
    ),
    "weight gain": (
        r"weight gain",
        r"gain(?:ed|ing)? (?:some |a lot of |any )?weight",
        r"put on (?:some )?weight",
    ),
    "sore throat": (
        r"sore throats?",
        r"throat (?:is |has been |feels |was |felt )?(?:really |very |so |kind of |a bit |"
        r"a little |quite )*"
        r"(?:sore|scratchy|painful|hurting|hurts|raw|itchy|irritated)",
        r"pharyngitis",
        r"scratchy throat",
        r"painful throat",
        r"throat pain",
    ),
    "difficulty swallowing": (
        r"(?:difficulty|trouble|pain|painful|hard to|problems?|issues?|hurts to) (?:with )?"
        r"swallow(?:ing)?",
        r"dysphagia",
        r"odynophagia",
    ),
    "hoarse voice": (
        r"hoarse(?:ness)?",
        r"lost (?:my|his|her) voice",
        r"losing (?:my|his|her) voice",
    ),
    "runny nose": (
        r"runny nose",
        r"running nose",
        r"nose (?:is |has been )?(?:running|runny|dripping)",
        r"rhinorrh(?:o)?ea",
        r"drippy nose",
        r"post ?nasal drip",
    ),
    "nasal congestion": (
        r"stuffy nose",
        r"stuff(?:y|iness)",
        r"blocked nose",
        r"nose (?:is |feels )?(?:blocked|stuffed|congested)",
        r"(?:nasal |sinus )?congest(?:ion|ed)",
        r"stuffed up",
        r"bunged up",
        r"plugged(?: up)?",
        r"blocked up",
    ),
    "sneezing": (r"sneez(?:e|es|ing)",),
    "loss of smell": (
        r"(?:loss of|lost (?:my|his|her)|no|can not) (?:sense of )?smell",
        r"los(?:ing|t|e) (?:(?:my|his|her|your|the|some of (?:my|his|her|the)) )?(?:sense of )?"
        r"smell",
        r"anosmia",
        r"can not smell",
    ),
    "loss of taste": (
        r"(?:loss of|lost (?:my|his|her)|no|can not) (?:sense of )?taste",
        r"los(?:ing|t|e) (?:(?:my|his|her|your|the|some of (?:my|his|her|the)) )?(?:sense of )?"
        r"taste",
        r"ageusia",
        r"can not taste",
    ),
    "ear pain": (
        r"ear ?aches?",
        r"ear pain",
        r"otalgia",
        r"ears? (?:is |are )?(?:hurting|hurts|sore)",
        r"pain in (?:my|the|his|her) ears?",
    ),
    "hearing loss": (
        r"hearing loss",
        r"(?:can not|trouble|difficulty) hear(?:ing)?",
        r"lost (?:my|his|her|some) hearing",
    ),
    "eye pain": (r"eye pain", r"eyes? (?:is |are )?(?:hurting|hurts|sore)"),
    "red eyes": (r"red eyes?", r"eyes? (?:is |are )?red", r"pink eye", r"bloodshot"),
    "blurred vision": (
        r"blurr(?:y|ed) vision",
        r"vision (?:is |has been )?(?:blurry|blurred)",
        r"double vision",
        r"trouble seeing",
        r"vision changes?",
    ),
    "rash": (
        r"rash(?:es)?",
        r"hives",
        r"spots",
        r"blotches",
        r"welts",
        r"breaking out",
        r"broke out",
        r"urticaria",
    ),
    "itching": (r"itch(?:y|ing|iness|es)?", r"pruritus"),
    "swelling": (r"swell(?:ing|ings)?", r"swollen", r"puff(?:y|iness)", r"edema", r"oedema"),
    "leg swelling": (
        r"(?:leg|ankle|feet|foot) swelling",
        r"swelling (?:in|of) (?:my|the|his|her|your|both) (?:legs?|ankles?|feet|foot)",
        r"swollen (?:legs?|ankles?|feet)",
        r"(?:legs?|ankles?|feet) (?:are |is |have been |has been )?swollen",
    ),
    "joint pain": (
        r"joint (?:pain|aches?)",
        r"(?:aching|achy|sore|painful) joints",
        r"joints (?:hurt|ache|are sore)",
        r"arthralgias?",
    ),
    "muscle aches": (
        r"muscle (?:aches?|pains?)",
        r"(?:aching|achy|sore) muscles",
        r"body aches?",
        r"aches and pains",
        r"myalgias?",
        r"achy",
        r"aching all over",
        r"muscles? (?:all )?(?:ache|hurt|are sore|are aching|are all sore)",
    ),
    "stiffness": (r"stiff(?:ness)?",),
    "numbness": (r"numb(?:ness)?",),
    "tingling": (r"tingl(?:e|ing|y)", r"pins and needles", r"paresthesias?"),
    "confusion": (r"confus(?:ed|ion)", r"disoriented", r"disorientation"),
    "memory problems": (r"memory (?:loss|problems?|issues?)", r"forgetful(?:ness)?"),
    "seizure": (r"seizures?", r"convulsions?"),
    "tremor": (r"tremors?", r"shak(?:y|iness|ing hands)"),
    "insomnia": (
        r"insomnia",
        r"(?:trouble|difficulty|problems?) (?:with )?sleeping",
        r"can not sleep",
        r"not sleeping (?:well|much)",
        r"(?:trouble|difficulty) (?:falling|staying) asleep",
        r"poor sleep",
    ),
    "low mood": (r"low mood", r"feeling (?:down|low|depressed|sad|hopeless)", r"depressed mood"),
    "anxiety": (r"anxious", r"nervous", r"panic attacks?", r"on edge"),
    "painful urination": (
        r"pain(?:ful)? (?:when|with|on) (?:i )?(?:pee|peeing|urinat(?:e|ing)|passing urine)",
        r"painful urination",
        r"dysuria",
        r"burn(?:s|ing)? when (?:i )?(?:pee|urinate)",
        r"burning (?:urination|sensation when (?:i )?(?:pee|urinate))",
        r"stings? when (?:i )?(?:pee|urinate)",
        r"it (?:hurts|burns) (?:to|when i) (?:pee|urinate)",
    ),
    "urinary frequency": (
        r"(?:frequent|increased) urination",
        r"urinary frequency",
        r"peeing (?:a lot|more|often|all the time)",
        r"going to the (?:toilet|bathroom|washroom) (?:a lot|more|often|all the time)",
        r"urinat(?:e|ing) (?:a lot|more|often)",
    ),
    "blood in urine": (
        r"blood in (?:(?:my|the|his|her|your) )?(?:urine|pee|wee)",
        r"h(?:a)?ematuria",
        r"(?:bloody|pink|red) urine",
    ),
    "vaginal discharge": (
        r"vaginal discharge",
        r"discharge (?:from (?:my|the|her) vagina|down there)",
    ),
    "discharge": (
        r"(?:penile|nipple|ear|eye|nasal|yellow|green|white|bloody|smelly|foul smelling|"
        r"pus) discharge",
        r"discharge (?:from (?:my|the|his|her) (?:ear|eye|nose|penis|nipple|wound))",
    ),
    "thirst": (r"(?:increased |excessive )?thirst(?:y)?", r"polydipsia"),
    "cold intolerance": (r"cold intolerance", r"always (?:feeling )?cold"),
    "bruising": (r"bruis(?:e|es|ing)",),
    "bleeding": (r"bleed(?:s|ing)?",),
}

# Body parts for generic pain. canonical part -> synonyms
_PARTS: dict[str, tuple[str, ...]] = {
    "head": ("head",),
    "chest": ("chest",),
    "abdominal": ("stomach", "tummy", "belly", "abdomen", "abdominal", "gut"),
    "back": ("lower back", "upper back", "back"),
    "neck": ("neck",),
    "shoulder": ("shoulders?",),
    "arm": ("arms?",),
    "elbow": ("elbows?",),
    "wrist": ("wrists?",),
    "hand": ("hands?", "fingers?"),
    "hip": ("hips?",),
    "leg": ("legs?", "thighs?", "calf", "calves"),
    "knee": ("knees?",),
    "ankle": ("ankles?",),
    "foot": ("foot", "feet", "toes?", "heels?"),
    "ear": ("ears?",),
    "eye": ("eyes?",),
    "jaw": ("jaw",),
    "tooth": ("tooth", "teeth"),
    "throat": ("throat",),
    "flank": ("flank", "side"),
    "pelvic": ("pelvis", "pelvic", "groin"),
    "joint": ("joints?",),
    "muscle": ("muscles?",),
    "rib": ("ribs?",),
}
_PART_NAMES = {
    "head": "headache",
    "throat": "sore throat",
    "abdominal": "abdominal pain",
    "joint": "joint pain",
    "muscle": "muscle aches",
}
_SIDE = r"(?:(?:left|right|lower|upper|both|bottom|top) )?"
_POSS = r"(?:(?:my|the|his|her|your|their|both) )?"


def _part_group(part: str) -> str:
    return "(?:" + "|".join(_PARTS[part]) + ")"


def _pain_patterns() -> dict[str, str]:
    """canonical -> pattern for generic pain by body part."""
    pain = r"(?:pains?|aches?|aching|hurting|soreness|discomfort|tenderness)"
    hurt = (
        r"(?:hurts?|hurting|aches|aching|sore|painful|killing (?:me|him|her)|(?:is |are )?tender)"
    )
    out: dict[str, str] = {}
    for part in _PARTS:
        p = _part_group(part)
        name = _PART_NAMES.get(part, f"{part} pain")
        pats = [
            rf"{pain} (?:in|on|at|around|over) {_POSS}{_SIDE}{p}\b",
            rf"{_SIDE}{p} {pain}",
            rf"{_POSS}{_SIDE}{p} (?:is |are |has been |have been |was |were |feels |has |"
            rf"keeps )?(?:really |very |so |quite |a bit |a little |kind of |sort of )?{hurt}",
            rf"(?:sore|painful|aching|achy) {_SIDE}{p}",
            rf"hurt(?:s|ing)? (?:in )?{_POSS}{_SIDE}{p}\b",
        ]
        out[name] = "|".join(f"(?:{x})" for x in pats)
    return out


def _build() -> tuple[tuple[str, re.Pattern[str]], ...]:
    entries: dict[str, list[str]] = {name: list(syns) for name, syns in SYMPTOMS.items()}
    for name, pattern in _pain_patterns().items():
        entries.setdefault(name, []).append(pattern)
    return tuple(
        (name, re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in pats) + r")\b"))
        for name, pats in entries.items()
    )


_PATTERNS = _build()
# Cheap prefilter: a sentence without any of these stems has no symptom.
_STEMS = re.compile(
    r"fever|febr|temperat|pyrex|chill|shiver|rigor|sweat|diaphor|cough|phlegm|sputum|mucus|"
    r"bring|hemopt|haemopt|breath|sob|dyspn|winded|puffed|wheez|whistl|tight|chest|angina|"
    r"palpit|heart|beat|flutter|head|migrain|dizz|vertigo|spinning|unsteady|woozy|faint|"
    r"pass|black|syncop|conscious|fatig|tired|exhaust|letharg|energy|worn|run down|wiped|"
    r"drained|sluggish|weak|nause|queasy|sick|vomit|throw|threw|puk|emesis|diarr|stool|"
    r"bowel|runs|constip|poo|go\b|able to go|blood|bleed|melena|malaena|abdom|stomach|tummy|"
    r"belly|cramp|bloat|distend|burn|reflux|indigest|appetite|eating|food|hungry|weight|"
    r"throat|swallow|dysphag|odynoph|hoarse|voice|nose|rhinor|drip|stuff|congest|bunged|"
    r"sneez|smell|anosm|taste|ageus|ear|otalg|hear|eye|bloodshot|vision|seeing|rash|hive|"
    r"spots|blotch|welt|break|broke|urtic|itch|prurit|swell|swollen|puff|edema|oedema|"
    r"joint|arthral|ach|muscle|myalg|body|stiff|numb|tingl|pins|parest|confus|disorient|"
    r"memory|forget|seizure|fits|convuls|tremor|shak|insomn|sleep|mood|down|low|depress|"
    r"sad|hopeless|anxi|nervous|panic|edge|pain|hurt|sore|dysur|pee|urin|sting|toilet|"
    r"bathroom|washroom|hematur|haematur|discharge|thirst|polydip|cold|bruis|tender|"
    r"killing|discomfort|feel|felt|hot|weather|malaise|los[ei]"
)


# --- onset / duration -------------------------------------------------------------

_QTY = (
    r"(?:\d+(?:\.\d+)?(?: or \d+)?|a|an|one|a few|few|a couple(?: of)?|couple of|several|"
    r"many|a number of|\d+ to \d+)"
)
_UNIT = r"(?:minutes?|hours?|days?|nights?|weeks?|months?|years?|mins?|hrs?)"
_ABOUT = (
    r"(?:(?:about|around|roughly|approximately|almost|nearly|over|more than|less than|maybe|"
    r"probably|like|just|only|at least|the|past|last|a good|good) )*"
)
_WHEN = (
    r"(?:yesterday|today|last (?:night|week|month|year|weekend|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)|this (?:morning|afternoon|evening|week|past week)|"
    r"(?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"the (?:weekend|day before yesterday|other day)|christmas|new year|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december))"
)
_ONSET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bfor {_ABOUT}(?P<q>{_QTY}) (?P<u>{_UNIT})(?: now)?\b"), "duration"),
    (
        re.compile(rf"\b(?:for|over|in|during) the (?:past|last) (?P<q>{_QTY} )?(?P<u>{_UNIT})\b"),
        "duration",
    ),
    (re.compile(rf"\b(?P<q>{_QTY}) (?P<u>{_UNIT}) ago\b"), "ago"),
    (
        re.compile(
            rf"\bsince (?P<w>{_WHEN}|(?:\d+|a few|a couple of) {_UNIT} ago|last \w+|this \w+)\b"
        ),
        "since",
    ),
    (
        re.compile(
            rf"\b(?:started|began|start|begin|came on|come on|happened|noticed (?:it)?|"
            rf"first noticed|woke up with it)\s+(?:(?:it|about|around|maybe|like|just|probably|"
            rf"on)\s+)*(?P<w>{_WHEN})\b"
        ),
        "when",
    ),
    (re.compile(rf"\b(?P<q>{_QTY}) (?P<u>{_UNIT}) (?:now|so far|in a row)\b"), "duration"),
    # short answers: "a week now.", "about 3 days.", "yesterday."
    (
        re.compile(
            rf"^\W*(?:(?:about|around|maybe|probably|like|roughly|almost|oh|just|over|for|"
            rf"it has been|it is been|been|since|only)\s+)*(?P<q>{_QTY}) (?P<u>{_UNIT})"
            r"(?: now| or so| ago)?\s*[.?!]?$"
        ),
        "bare",
    ),
    (
        re.compile(
            rf"^\W*(?:(?:about|around|maybe|probably|like|just|only|oh|it was|it started|"
            rf"started|since)\s+)*(?P<w>{_WHEN})\s*[.?!]?$"
        ),
        "when",
    ),
)


def _qty(q: str | None) -> str:
    if not q:
        return "1"
    q = q.strip()
    if q in ("a", "an", "one"):
        return "1"
    if q.startswith("couple") or q.startswith("a couple"):
        return "a couple of"
    return q


def _unit(q: str, u: str) -> str:
    u = {"min": "minute", "mins": "minutes", "hr": "hour", "hrs": "hours"}.get(u, u)
    if q == "1":
        return u[:-1] if u.endswith("s") else u
    if not u.endswith("s"):
        return u + "s"
    return u


def find_onset(norm: str) -> str | None:
    """Onset or duration as said: 'for three days' -> '3 days', 'since last week'."""
    for pattern, kind in _ONSET_PATTERNS:
        m = pattern.search(norm)
        if not m:
            continue
        if kind in ("duration", "bare"):
            q = _qty(m.groupdict().get("q"))
            return f"{q} {_unit(q, m.group('u'))}"
        if kind == "ago":
            q = _qty(m.group("q"))
            return f"{q} {_unit(q, m.group('u'))} ago"
        if kind == "since":
            return f"since {m.group('w')}"
        return m.group("w")
    return None


# --- severity ---------------------------------------------------------------------

_SCALE = re.compile(
    r"\b(?:(?:about|around|maybe|probably|like) )?(?:an? )?(?P<n>\d+(?:\.\d+)?)(?: or (?P<m>\d+))?"
    r" ?(?:out of|over|/) ?10\b"
)
_SEVERE = re.compile(
    r"\b(?:severe(?:ly)?|really bad|very bad|so bad|pretty bad|terrible|terribly|horrible|"
    r"awful|excruciating|unbearable|worst|intense|extreme(?:ly)?|agonizing|crippling|"
    r"debilitating|quite bad)\b"
)
_MODERATE = re.compile(r"\b(?:moderate(?:ly)?|fairly bad|quite a bit)\b")
_MILD = re.compile(
    r"\b(?:mild(?:ly)?|slight(?:ly)?|a little(?: bit)?|a bit|a tiny bit|minor|not too bad|"
    r"not that bad|not so bad|manageable|tolerable)\b"
)


def find_severity(norm: str) -> str | None:
    m = _SCALE.search(norm)
    if m:
        n = m.group("m") or m.group("n")
        if float(n) <= 10:
            return f"{n}/10"
    if _SEVERE.search(norm):
        return "severe"
    if _MODERATE.search(norm):
        return "moderate"
    if _MILD.search(norm):
        return "mild"
    return None


# --- mentions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SymptomMention:
    name: str
    negated: bool
    onset: str | None
    severity: str | None
    start: int = 0
    # "the cough", "along with your cough": already known, not what a question asks
    presupposed: bool = False
    end: int = 0


_DEFINITE = re.compile(r"\b(?:the|your|this|that|his|her|my|its|these|those)(?: \w+){0,2}\s*$")
_KNOWN = re.compile(
    r"\b(?:along with|other than|besides|apart from|aside from|in addition to|you said|"
    r"you mentioned|you told me|with (?:the|your))\b"
)
# "never had a cough like this": the cough is new, not absent
_NEW_NOT_ABSENT = re.compile(
    r"^\s*(?:\w+ )?(?:like (?:this|that|it)|this bad|so bad|before this)\b"
)


# Words that may stand around a bare list of symptoms ("okay, coughing, headache").
_LIST_FILLERS = frozenset(
    {
        "okay", "ok", "so", "and", "or", "any", "now", "alright", "right", "also", "like",
        "how", "about", "what", "then", "other", "more", "maybe", "else", "anything",
        ",", ".", ";", ":",
    }
)  # fmt: skip


def is_bare_list(norm: str, mentions: list[SymptomMention]) -> bool:
    """True when the sentence is only symptom names, none denied ("okay coughing headache").

    Speech recognition drops the question mark of a checklist question; the merge reads
    such a sentence from the clinician as a question."""
    if not mentions or any(m.negated for m in mentions):
        return False
    rest = norm
    for m in sorted(mentions, key=lambda m: -m.start):
        rest = rest[: m.start] + " " + rest[m.end :]
    return all(w in _LIST_FILLERS for w in rest.split())


def find_symptoms(
    norm: str, scopes: Scopes, *, exclude: tuple[tuple[int, int], ...] = ()
) -> list[SymptomMention]:
    """Symptom mentions of one sentence; hypothetical ones and excluded spans dropped."""
    found: dict[str, SymptomMention] = {}
    if not _STEMS.search(norm):
        return []
    spans: list[tuple[int, int, str]] = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(norm):
            if m.end() > m.start():
                spans.append((m.start(), m.end(), name))
    # longest match wins where mentions overlap ("coughing up blood" over "cough")
    spans.sort(key=lambda x: (-(x[1] - x[0]), x[0]))
    kept: list[tuple[int, int, str]] = []
    for start, end, name in spans:
        if any(start < e and s < end for s, e, _ in kept):
            continue
        kept.append((start, end, name))
    kept.sort()
    raw: list[tuple[str, int, int]] = []
    for start, end, name in kept:
        if any(s <= start < e for s, e in exclude):
            continue
        if scopes.is_hypothetical(start):
            continue
        raw.append((name, start, end))
    if not raw:
        return []
    onset = find_onset(norm)
    severity = find_severity(norm)
    for name, start, end in raw:
        negated = scopes.is_negated(start, end) or post_negated(norm, end)
        if negated and _NEW_NOT_ABSENT.match(norm[end : end + 20]):
            negated = False
        before = norm[max(0, start - 30) : start]
        presupposed = bool(_DEFINITE.search(before) or _KNOWN.search(norm[:start]))
        previous = found.get(name)
        if previous is not None and previous.negated == negated:
            continue
        found[name] = SymptomMention(
            name=name,
            negated=negated,
            onset=None if negated else onset,
            severity=None if negated else severity,
            start=start,
            presupposed=presupposed,
            end=end,
        )
    # "sputum"/"swelling"/"rash" etc. appear inside more specific names; keep both.
    return sorted(found.values(), key=lambda s: s.start)
