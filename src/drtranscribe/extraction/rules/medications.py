"""Medications: lexicon lookup plus dose, route, frequency and status.

"let us start you on amoxicillin 500 mg three times a day" -> amoxicillin, 500 mg,
three times a day, started. Dose, route and frequency go to the nearest drug in the
sentence. A dose said without a drug ("actually it is 1000 mg") is a
:class:`MedDetail`; the merge gives it to the drug mentioned just before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.domain.note import MedicationStatus
from drtranscribe.extraction.rules.lexicon import medications
from drtranscribe.extraction.rules.negation import Scopes
from drtranscribe.extraction.rules.text import Token

_DOSE = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?)(?: ?(?:to|or|-) ?(?P<n2>\d+(?:\.\d+)?))? ?"
    r"(?P<u>mg|mcg|g|ml|units?|puffs?|tablets?|tabs?|pills?|capsules?|caps|drops?|sprays?|"
    r"teaspoons?|tablespoons?|patch(?:es)?|injections?|%)(?![a-z])"
)
_UNIT_CANON = {
    "unit": "units", "puff": "puffs", "tablet": "tablets", "tab": "tablets", "tabs": "tablets",
    "pill": "tablets", "pills": "tablets", "capsule": "capsules", "caps": "capsules",
    "drop": "drops", "spray": "sprays", "teaspoon": "teaspoons", "tablespoon": "tablespoons",
    "patch": "patches", "injection": "injections",
}  # fmt: skip
_COUNT_UNITS = {
    "puffs",
    "tablets",
    "capsules",
    "drops",
    "sprays",
    "teaspoons",
    "tablespoons",
    "patches",
    "injections",
}

_WORD_TIMES = {"1": "once", "2": "twice", "3": "three times", "4": "four times"}

_FREQUENCY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), f)
    for p, f in (
        (
            r"\bonce (?:a|per|every|each) day\b|\bonce daily\b|\b1 times? (?:a|per) day\b|"
            r"\b(?:q\.?d|o\.?d)\b\.?|\bevery day\b|\bdaily\b|\bonce a day\b|\b1 a day\b|"
            r"\bone a day\b|\bper day\b",
            "once a day",
        ),
        (
            r"\btwice (?:a|per|every|each) day\b|\btwice daily\b|\b2 times? (?:a|per) day\b|"
            r"\bb\.?i\.?d\b\.?|\bbd\b|\b2 a day\b",
            "twice a day",
        ),
        (
            r"\b(?:three|3) times (?:a|per|every|each) day\b|\b3 times daily\b|\bthrice daily\b|"
            r"\bt\.?i\.?d\b\.?|\btds\b|\b3 a day\b",
            "three times a day",
        ),
        (
            r"\b(?:four|4) times (?:a|per|every|each) day\b|\b4 times daily\b|\bq\.?i\.?d\b\.?|"
            r"\bqds\b|\b4 a day\b",
            "four times a day",
        ),
        (r"\b(?P<n>[5-9]|1\d) times (?:a|per|every|each) day\b", "{n} times a day"),
        (
            r"\bevery (?P<n>\d+) (?:to \d+ )?hours?\b|\bq ?(?P<m>\d+) ?h(?:rs?|ours?)?\b",
            "every {n} hours",
        ),
        (r"\bevery other day\b|\bon alternate days\b", "every other day"),
        (
            r"\bonce (?:a|per|every) week\b|\bweekly\b|\bevery week\b|\b1 times? a week\b",
            "once a week",
        ),
        (r"\btwice (?:a|per) week\b|\b2 times (?:a|per) week\b", "twice a week"),
        (r"\bonce (?:a|per) month\b|\bmonthly\b|\bevery month\b", "once a month"),
        (
            r"\b(?:at|before) (?:bed ?time|bed|night)\b|\bnightly\b|\bevery night\b|"
            r"\bq\.?h\.?s\b|\bin the evenings?\b|\bat night\b",
            "at night",
        ),
        (r"\bin the morning\b|\bevery morning\b|\bq\.?a\.?m\b", "in the morning"),
        (
            r"\bas needed\b|\bwhen needed\b|\bif needed\b|\bas required\b|\bwhen required\b|"
            r"\bp\.?r\.?n\b\.?|\bwhen (?:i|you) need (?:it|them)\b|\bas necessary\b",
            "as needed",
        ),
    )
)

_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (
            r"\bby mouth\b|\borally\b|\boral\b|\bp\.?o\b\.?|\btablets?\b|\bpills?\b|"
            r"\bcapsules?\b|\bswallow\b",
            "oral",
        ),
        (
            r"\binhal(?:e|ed|er|ers|ation)\b|\bpuffs?\b|\bpuffers?\b|\bnebuli[sz]er\b|\bnebs?\b",
            "inhaled",
        ),
        (r"\bnasal spray\b|\bin (?:the|your|my) nose\b|\bnasal\b|\bintranasal\b", "nasal"),
        (r"\beye drops?\b|\bin (?:the|your|my) eyes?\b|\bophthalmic\b", "ophthalmic"),
        (r"\bear drops?\b|\bin (?:the|your|my) ears?\b", "otic"),
        (
            r"\bcream\b|\bointment\b|\bgel\b|\blotion\b|\btopical(?:ly)?\b|\bapply\b|"
            r"\bon the skin\b",
            "topical",
        ),
        (r"\bintravenous(?:ly)?\b|\bi\.?v\b\.?|\bdrip\b", "intravenous"),
        (r"\bintramuscular(?:ly)?\b|\bi\.?m\b\.?(?= injection)|\bshot\b", "intramuscular"),
        (
            r"\bsubcutaneous(?:ly)?\b|\bsub ?q\b|\binject(?:ion|ions|ed|s)?\b|\bpen\b",
            "subcutaneous",
        ),
        (r"\bunder (?:the|your|my) tongue\b|\bsublingual(?:ly)?\b", "sublingual"),
        (r"\bpatch(?:es)?\b|\btransdermal\b", "transdermal"),
        (r"\bsuppositor(?:y|ies)\b|\brectal(?:ly)?\b", "rectal"),
    )
)

_STOPPED_BEFORE = re.compile(
    r"\b(?:stop(?:ped|ping|s)?|quit|came off|come off|coming off|went off|go off|"
    r"discontinu(?:e|ed|ing)|no longer (?:taking|on|using)|hold(?:ing)?(?: off)?(?: on)?|"
    r"d/c|taken? (?:you |him |her )?off|get (?:you |him |her )?off|gave up|"
    r"not (?:taking|on|using) (?:the |my |his |her |any )?.{0,20}(?:anymore|any more)|"
    r"ran out of|switch(?:ed|ing)? (?:you |him |her )?(?:off|from))\b"
)
_STOPPED_AFTER = re.compile(
    r"^.{0,40}?\b(?:anymore|any more|no longer|stopped|discontinued|was stopped)\b"
)
_STARTED = re.compile(
    r"\b(?:start(?:ed|ing)?|put (?:you|him|her|them) on|putting (?:you|him|her|them) on|"
    r"prescrib(?:e|ed|ing)|give (?:you|him|her)|giving (?:you|him|her)|begin|try (?:you on|"
    r"taking|some|a)?|"
    r"trial of|going to have you (?:on|take)|new prescription|add(?:ing)?|recommend(?:ed)?|"
    r"(?:i|we) will (?:send|call in|get you)|switch(?:ed|ing)? (?:you |him |her )?(?:over )?to|"
    r"change (?:you |him |her )?to|a course of|a script for|a prescription for|"
    r"order(?:ing)? (?:you |him |her )?(?:some |a )?(?!(?:a )?refill)|send in|sending in)\b"
)
# "we started you on it a couple of months ago": started then, taken now
_PAST_START = re.compile(
    r"\b(?:ago|last (?:week|month|year|time|visit)|previously|before|in the past|a while back|"
    r"since|years?|months?)\b"
)
_CHANGED = re.compile(
    r"\b(?:increas(?:e|ed|ing)|decreas(?:e|ed|ing)|reduc(?:e|ed|ing)|doubl(?:e|ed|ing)|"
    r"halv(?:e|ed|ing)|bump(?:ed|ing)? (?:up|it up|that up)?|go up|went up|up (?:the|your|his|"
    r"her) dose|"
    r"lower(?:ed|ing)? (?:the|your|his|her) dose|taper(?:ed|ing)?|adjust(?:ed|ing)?|"
    r"chang(?:e|ed|ing) (?:the |your |his |her )?(?:dose|dosage)|higher dose|lower dose|"
    r"cut (?:back|down))\b"
)
_CONTINUE = re.compile(
    r"\b(?:continue|carry on(?: with)?|keep (?:taking|using|on)|stay on|not stop|remain on|"
    r"still (?:taking|on|"
    r"using)|refills?|refilled|renew(?:ed)?)\b"
)
_CORRECTION = re.compile(
    r"\b(?:actually|sorry|i mean|correction|rather|no wait|wait|not \d+|scratch that|"
    r"make (?:it|that))\b"
)


@dataclass(frozen=True, slots=True)
class MedMention:
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    status: MedicationStatus | None  # None: nothing said about it
    negated: bool
    start: int = 0


@dataclass(frozen=True, slots=True)
class MedDetail:
    """Dose / route / frequency said without a drug name."""

    dose: str | None
    route: str | None
    frequency: str | None
    correction: bool


def _format_dose(m: re.Match[str]) -> str:
    unit = _UNIT_CANON.get(m.group("u"), m.group("u"))
    n = m.group("n")
    if m.group("n2"):
        n = f"{n}-{m.group('n2')}"
    if unit in _COUNT_UNITS and n == "1":
        unit = unit[:-1] if not unit.endswith("ches") else unit[:-2]
    return f"{n}{unit}" if unit == "%" else f"{n} {unit}"


def find_doses(norm: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), _format_dose(m)) for m in _DOSE.finditer(norm)]


def find_frequencies(norm: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for pattern, fmt in _FREQUENCY:
        for m in pattern.finditer(norm):
            groups = {k: v for k, v in m.groupdict().items() if v}
            n = groups.get("n") or groups.get("m") or ""
            found.append((m.start(), m.end(), fmt.format(n=n)))
    # longest first: "twice daily" beats the "daily" inside it
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    out: list[tuple[int, int, str]] = []
    for start, end, value in found:
        if not any(start < e and s < end for s, e, _ in out):
            out.append((start, end, value))
    out.sort()
    return out


def find_routes(norm: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for pattern, route in _ROUTES:
        out.extend((m.start(), m.end(), route) for m in pattern.finditer(norm))
    out.sort()
    return out


def _join_frequencies(freqs: list[str]) -> str | None:
    uniq: list[str] = []
    for f in freqs:
        if f not in uniq:
            uniq.append(f)
    if not uniq:
        return None
    # "every 6 hours" + "as needed" -> "every 6 hours as needed"; a daily count wins
    # over a bare "once a day" picked up from "per day".
    return " ".join(uniq)


def _nearest(
    items: list[tuple[int, int, str]], mentions: list[tuple[int, int, str]]
) -> dict[int, list[str]]:
    """Give each detail to the nearest drug mention (index into mentions)."""
    out: dict[int, list[str]] = {}
    for start, end, value in items:
        best: tuple[int, int] | None = None
        for idx, (m_start, m_end, _) in enumerate(mentions):
            if start >= m_end:
                dist = start - m_end
            elif end <= m_start:
                dist = m_start - end + 5  # a drug named after its dose is less usual
            else:
                dist = 0
            if best is None or dist < best[0]:
                best = (dist, idx)
        if best is not None and best[0] <= 60:
            out.setdefault(best[1], []).append(value)
    return out


def _status(norm: str, start: int, end: int, clause_start: int) -> MedicationStatus | None:
    before = norm[clause_start:start]
    after = norm[end:]
    window = before[-60:]
    if _CONTINUE.search(window):
        return "current"
    if _STOPPED_BEFORE.search(window) or _STOPPED_AFTER.search(after):
        return "stopped"
    if _CHANGED.search(window) or re.match(
        r"^.{0,30}?\b(?:increas|decreas|doubl|go(?:ing)? up|went up)", after
    ):
        return "changed"
    m = _STARTED.search(window)
    if m:
        past = m.group().startswith(("started", "began", "prescribed", "put ", "recommended"))
        if past and _PAST_START.search(norm[clause_start:]):
            return "current"
        return "started"
    return None


_CLAUSE = re.compile(r"[.;?!]| but | however ")
_LAB_BEFORE = re.compile(r"\b(?:high|low|elevated|raised|normal|abnormal|check|checking) $")
_LAB_AFTER = re.compile(r" (?:levels?|deficiency|deficient|count|panel)\b")
_NEEDS_TAKING = frozenset({"vitamin supplement", "supplement"})
_TAKING = re.compile(
    r"\b(?:take|takes|taking|took|on|using|use|uses|start|try|trying|prescrib\w*)\b"
)


def find_medications(
    norm: str, toks: list[Token], scopes: Scopes, *, exclude: tuple[tuple[int, int], ...] = ()
) -> tuple[list[MedMention], MedDetail | None]:
    """Drug mentions of one sentence, and the details said without a drug."""
    lexicon = medications()
    hits = [h for h in lexicon.find(toks) if not any(s <= h[0] < e for s, e in exclude)]
    # "my ventolin inhaler", "amoxicillin antibiotic": the class word adds no drug
    hits = [
        h
        for h in hits
        if h[2] not in lexicon.classes
        or not any(
            o[2] not in lexicon.classes and (0 <= h[0] - o[1] <= 12 or 0 <= o[0] - h[1] <= 12)
            for o in hits
        )
    ]
    # "high testosterone", "your iron levels": a lab value, not a drug taken;
    # "you are losing minerals and vitamins": nutrients, not a supplement taken
    hits = [
        h
        for h in hits
        if not _LAB_BEFORE.search(norm, 0, h[0])
        and not _LAB_AFTER.match(norm, h[1])
        and (h[2] not in _NEEDS_TAKING or _TAKING.search(norm) is not None)
    ]
    doses = find_doses(norm)
    freqs = find_frequencies(norm)
    routes = find_routes(norm)
    if not hits:
        if not doses and not freqs:
            return [], None
        dose = doses[-1][2] if doses else None
        frequency = _join_frequencies([f[2] for f in freqs])
        route = routes[-1][2] if routes and (dose or frequency) else None
        if dose is None and frequency is None:
            return [], None
        return [], MedDetail(dose, route, frequency, bool(_CORRECTION.search(norm)))
    # a dose inside a drug name ("tylenol 3") is not a dose
    doses = [d for d in doses if not any(h[0] <= d[0] < h[1] for h in hits)]
    dose_for = _nearest(doses, hits)
    freq_for = _nearest(freqs, hits)
    route_for = _nearest(routes, hits)
    out: dict[str, MedMention] = {}
    for idx, (start, end, name) in enumerate(hits):
        clause_start = 0
        for m in _CLAUSE.finditer(norm, 0, start):
            clause_start = m.end()
        status = _status(norm, start, end, clause_start)
        negated = scopes.is_negated(start, end) and status not in ("stopped", "current")
        doses_here = dose_for.get(idx, [])
        mention = MedMention(
            name=name,
            dose=doses_here[-1] if doses_here else None,  # the last said wins ("500, no, 1000")
            route=route_for[idx][-1] if route_for.get(idx) else None,
            frequency=_join_frequencies(freq_for.get(idx, [])),
            status=status,
            negated=negated,
            start=start,
        )
        prev = out.get(name)
        if prev is not None:
            mention = MedMention(
                name=name,
                dose=mention.dose or prev.dose,
                route=mention.route or prev.route,
                frequency=mention.frequency or prev.frequency,
                status=mention.status or prev.status,
                negated=mention.negated and prev.negated,
                start=prev.start,
            )
        out[name] = mention
    return list(out.values()), None
