"""Plan items and the follow-up.

A plan item has an id built from what it is about: ``plan-test-chest-x-ray``,
``plan-refer-cardiology``, ``plan-fluids``; a plan sentence that fits no category gets
``plan-<first content words>``. Medication starts and stops are added by the merge
(``plan-start-amoxicillin``). The follow-up is one item, the latest said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.domain.identity import slug

_TESTS: tuple[tuple[str, str], ...] = (
    ("chest x-ray", r"chest x ?rays?|cxr|x ?rays? of (?:your|the|his|her) chest|chest film"),
    ("x-ray", r"x ?rays?|radiographs?"),
    ("CT scan", r"ct(?: scan)?|cat scan|ct angiogram|ctpa"),
    ("MRI", r"mri(?: scan)?|mr scan"),
    ("ultrasound", r"ultrasound|sonogram|scan of (?:your|the) (?:belly|abdomen|tummy)"),
    ("ECG", r"ecg|ekg|electrocardiogram|heart tracing"),
    ("echocardiogram", r"echocardiogram|echo(?! of)|heart ultrasound"),
    ("stress test", r"(?:cardiac )?stress test|treadmill test"),
    ("Holter monitor", r"holter(?: monitor)?|heart monitor"),
    (
        "spirometry",
        r"spirometry|pulmonary function tests?|lung function tests?|pfts?|breathing tests?",
    ),
    ("peak flow", r"peak flow"),
    (
        "urinalysis",
        r"urinalysis|urine (?:tests?|sample|dip|dipstick|analysis)|dip (?:your|the) urine|"
        r"pee in a cup",
    ),
    ("urine culture", r"urine culture"),
    ("stool test", r"stool (?:samples?|tests?|cultures?)|poo sample"),
    (
        "COVID test",
        r"covid (?:tests?|swabs?|pcr)|pcr tests?|rapid (?:antigen )?tests?|lateral flow",
    ),
    ("throat swab", r"throat swabs?|strep (?:tests?|swabs?)|rapid strep"),
    ("swab", r"swabs?|nasal swabs?|nasopharyngeal swabs?"),
    ("complete blood count", r"cbc|complete blood count|full blood count|fbc|blood count"),
    ("HbA1c", r"(?:hemoglobin |haemoglobin )?a1c|hba1c|sugar test"),
    ("lipid panel", r"lipid (?:panel|profile)|cholesterol (?:tests?|levels?|panel|check)"),
    (
        "thyroid function",
        r"tsh|thyroid (?:function |blood )?tests?|thyroid levels?|thyroid function",
    ),
    (
        "kidney function",
        r"kidney function|renal function|electrolytes|metabolic panel|bmp|cmp|u and es?",
    ),
    ("liver function", r"liver (?:function )?tests?|lfts?|liver enzymes"),
    ("inflammatory markers", r"crp|esr|inflammatory markers|c reactive protein|sed rate"),
    ("D-dimer", r"d ?dimer"),
    ("troponin", r"troponins?"),
    ("INR", r"inr"),
    ("blood culture", r"blood cultures?"),
    (
        "blood tests",
        r"blood ?work|blood tests?|bloods|labs|lab work|lab tests?|blood draw|blood samples?",
    ),
    ("sputum culture", r"sputum (?:culture|sample|test)"),
    ("culture", r"cultures?"),
    ("biopsy", r"biops(?:y|ies)"),
    ("colonoscopy", r"colonoscopy"),
    ("endoscopy", r"endoscopy|gastroscopy|scope"),
    ("mammogram", r"mammograms?"),
    ("Pap smear", r"pap (?:smears?|tests?)|smear test|cervical screening"),
    ("pregnancy test", r"pregnancy test"),
    ("allergy testing", r"allergy (?:tests?|testing)|skin prick"),
    ("sleep study", r"sleep study|polysomnography"),
    ("bone density scan", r"bone density|dexa(?: scan)?"),
    ("nerve conduction study", r"nerve conduction|emg"),
)
_TEST_RE = tuple((name, re.compile(rf"\b(?:{p})\b")) for name, p in _TESTS)

_SPECIALTIES: tuple[tuple[str, str], ...] = (
    ("cardiology", r"cardiolog\w*|heart specialist"),
    ("dermatology", r"dermatolog\w*|skin specialist"),
    ("ENT", r"ent|ear nose and throat|otolaryngolog\w*"),
    ("neurology", r"neurolog\w*"),
    ("orthopaedics", r"orthop(?:a)?edic\w*|ortho|bone specialist"),
    ("gastroenterology", r"gastroenterolog\w*|gi specialist|gi"),
    ("physiotherapy", r"physio\w*|physical therap\w*|pt"),
    ("psychiatry", r"psychiatr\w*"),
    ("psychology / counselling", r"psycholog\w*|counsel\w*|therapist|therapy|mental health team"),
    ("endocrinology", r"endocrinolog\w*|diabetes (?:clinic|educator|specialist)"),
    ("rheumatology", r"rheumatolog\w*"),
    ("urology", r"urolog\w*"),
    ("gynaecology", r"gyn(?:a)?ecolog\w*|obgyn|ob gyn"),
    ("oncology", r"oncolog\w*|cancer specialist"),
    ("respirology", r"respirolog\w*|pulmonolog\w*|lung specialist|chest clinic|pulmonary"),
    ("nephrology", r"nephrolog\w*|kidney specialist"),
    ("allergy clinic", r"allergist|allergy clinic|immunolog\w*"),
    ("dietitian", r"dietitian|dietician|nutritionist"),
    ("podiatry", r"podiatr\w*|foot specialist"),
    ("ophthalmology", r"ophthalmolog\w*|eye doctor|eye specialist|optometrist|optician"),
    ("surgery", r"surgeon|surgical team|surgery"),
    ("emergency department", r"emergency|er|a and e|hospital"),
    ("sleep clinic", r"sleep clinic"),
    ("specialist", r"specialist"),
)
_SPECIALTY_RE = tuple((name, re.compile(rf"\b(?:{p})\b")) for name, p in _SPECIALTIES)
_REFERRAL = re.compile(
    r"\b(?:refer(?:ral|ring|red)?|send you (?:to|over to)|see (?:a|an|the)|get you (?:in )?to see|"
    r"get you an appointment with|appointment with (?:a|an|the)|consult(?:ation)? with)\b"
)

_ADVICE: tuple[tuple[str, str, str], ...] = (
    (
        "fluids",
        "Fluids, stay hydrated",
        r"(?:drink|push|plenty of|lots of|more) (?:fluids|water|liquids)|"
        r"stay(?:ing)? (?:well )?hydrated|hydrat\w+",
    ),
    ("rest", "Rest", r"(?<!the )\brest\b(?! of)|take it easy|get (?:some|plenty of) sleep"),
    (
        "self-isolate",
        "Self-isolate",
        r"self isolat\w*|isolat(?:e|ing)|quarantin\w*|stay (?:at )?home (?:from|until)|stay home",
    ),
    (
        "smoking-cessation",
        "Smoking cessation",
        r"(?:quit|stop|cut (?:down|back)(?: on)?|give up) (?:the )?smoking|smoking cessation",
    ),
    (
        "diet",
        "Diet advice",
        r"\bdiet\b|low (?:salt|sodium|fat|carb\w*)|avoid (?:salty|fatty|spicy|sugary)|"
        r"cut (?:down|back) on (?:salt|sugar|carbs|fat|caffeine)|eat(?:ing)? (?:healthier|more|"
        r"less)",
    ),
    (
        "exercise",
        "Exercise",
        r"exercis\w*|physical activity|walk(?:ing)? (?:more|every day|daily)|stay active",
    ),
    ("weight-loss", "Weight loss", r"lose (?:some )?weight|weight loss"),
    (
        "alcohol",
        "Reduce alcohol",
        r"(?:cut (?:down|back)|reduce|avoid|stop) (?:on )?(?:the )?(?:alcohol|drinking)",
    ),
    (
        "ice-heat",
        "Ice / heat",
        r"\bice\b|heat(?:ing)? (?:pack|pad)|warm compress\w*|hot water bottle",
    ),
    ("elevate", "Elevate", r"elevat(?:e|ing) (?:your|the|it)"),
    ("gargle", "Salt-water gargles", r"gargl\w*"),
    ("humidifier", "Humidifier / steam", r"humidifier|steam"),
    ("vaccination", "Vaccination", r"vaccin\w*|flu shot|booster"),
    (
        "monitor-bp",
        "Monitor blood pressure at home",
        r"(?:monitor|check|keep track of|log|record) (?:your )?blood pressure|"
        r"blood pressure (?:log|diary|cuff|monitor)",
    ),
    (
        "monitor-glucose",
        "Monitor blood glucose",
        r"(?:monitor|check|keep track of|log) (?:your )?(?:blood )?(?:sugars?|glucose)",
    ),
    (
        "safety-net",
        "Seek care if worse",
        r"(?:go|come|head) (?:straight )?to (?:the )?(?:emergency|er|a and e|hospital|"
        r"urgent care)|call (?:911|999|an ambulance)|(?:come back|return|let (?:me|us) know|"
        r"call (?:us|me|the office)|get in touch|seek (?:medical )?(?:help|attention|"
        r"care)) (?:\w+ )?if|if (?:it|things|the symptoms|your symptoms|anything|that|this|"
        r"they) (?:get|gets|getting|got|becomes?) worse|worsen\w*",
    ),
)
_ADVICE_RE = tuple((key, text, re.compile(rf"(?:{p})")) for key, text, p in _ADVICE)

_PLAN_CUE = re.compile(
    r"\b(?:i will|i am going to|i would like to|i want to|we will|we are going to|we can|"
    r"we should|let us|let me (?:get|order|send|give|prescribe|refer)|i recommend|"
    r"i would recommend|recommend|i suggest|you should|you need to|you will need|"
    r"i want you to|i would like you to|make sure|try to|try and|the plan|plan is|"
    r"going to (?:order|send|get|refer|start|prescribe|check|do|have|give|book|arrange|schedule)|"
    r"i am (?:ordering|sending|referring|prescribing|giving)|we need to|please|"
    r"continue|keep (?:taking|using|doing)|avoid|stay|advise|encourage|should|need to|"
    r"order|schedule|arrange|book)\b"
)
# A sentence that fits no category is a plan item only with one of these.
_STRONG_PLAN = re.compile(
    r"\b(?:the plan (?:is|will be)|i (?:would )?recommend|i (?:would )?suggest|i want you to|"
    r"i would like you to|i would like to (?:start|prescribe|order|send|refer|give|get|do|check)|"
    r"i am going to (?:start|prescribe|order|send|refer|give|get|do|check|book|arrange)|"
    r"i will (?:start|prescribe|order|send|refer|give|get|do|check|book|arrange)|"
    r"we (?:will|are going to) (?:start|prescribe|order|send|refer|give|get|do|check|book|arrange|"
    r"try|monitor|repeat)|you should|you need to|make sure (?:that )?you|"
    r"let us (?:start|get|do|try|check|book|arrange|order|send|monitor|repeat))\b"
)
_PLAN_VERB = re.compile(
    r"\b(?:order|prescrib\w*|send|refer\w*|book|schedul\w*|arrang\w*|start\w*|stop\w*|"
    r"continu\w*|increas\w*|decreas\w*|recommend\w*|monitor\w*|repeat\w*|avoid\w*|take|"
    r"use|apply|try|test\w*|give|switch\w*|follow\w*|check (?:your|the|his|her) (?:blood|levels?|"
    r"sugar|cholesterol|kidney|liver|thyroid))\b"
)
_NOT_PLAN = re.compile(
    r"\b(?:listen|look at|take a look|examine|feel your|ask you|ask a few|go over|talk about|"
    r"start with|start off|begin with|press on|have a look|check your (?:pulse|temperature|"
    r"blood pressure|ears|throat|chest|lungs|heart|reflexes))\b"
)
# History told by the clinician ("i know you were making some diet changes") is no plan.
_PAST_NARRATIVE = re.compile(
    r"\b(?:you were|you have been|you had|you did|i know (?:that )?you|you said|you mentioned|"
    r"you told me|last time|previously|you tried|you have tried)\b"
)
_PAST_RESULT = re.compile(
    r"\b(?:showed|shows|came back|results? (?:showed|were|was|are back|came back)|"
    r"was (?:normal|fine|clear|negative|positive)|looking at (?:your|the)|show me|"
    r"were (?:normal|fine|clear)|last (?:time|year|month|week)|you had|we did|did (?:a|an|the))\b"
)

_QTY = r"(?:\d+(?:\.\d+)?(?: (?:to|or) \d+)?|a|an|a few|a couple(?: of)?|several|one)"
_FOLLOW_UP = re.compile(
    r"\b(?:follow(?:ing)? ?up|come back|see (?:you|him|her)(?: back| again)?|check in|"
    r"return|touch base|recheck|review|come in|back|reassess|appointment|visit)\b"
    r"(?:[a-z ]{0,25}?)\b(?:in|after|within) (?:about |another |roughly )?"
    rf"(?P<q>{_QTY}) (?P<u>days?|weeks?|months?|years?)\b"
)
_FOLLOW_UP_WHEN = re.compile(
    r"\b(?:follow(?:ing)? ?up|come back|see (?:you|him|her)(?: back| again)?|check in|return|"
    r"touch base|recheck|come in)\b[a-z ]{0,20}?\b(?P<w>next (?:week|month|year|visit|time)|"
    r"tomorrow|on (?:monday|tuesday|wednesday|thursday|friday)|after (?:the|your) (?:results?|"
    r"tests?|"
    r"x ray|scan|blood work))\b"
)
_FOLLOW_UP_BARE = re.compile(
    r"\b(?:follow up (?:appointment|visit|with (?:me|us|your (?:doctor|gp|family doctor)))|"
    r"book (?:a|an|another) (?:follow up|appointment)|schedule (?:a|an) (?:follow up|"
    r"appointment))\b"
)
_QTY_WORDS = {"a": "1", "an": "1", "one": "1"}


@dataclass(frozen=True, slots=True)
class PlanMention:
    key: str  # id suffix
    text: str


def find_plan(
    norm: str, display_text: str, *, clinician: bool, generic: bool = True
) -> list[PlanMention]:
    """Plan items of one (non-question, non-patient) sentence.

    ``generic=False`` turns off the catch-all item (the sentence is already a
    medication change, which the merge turns into its own plan item).
    """
    out: list[PlanMention] = []
    cue = _PLAN_CUE.search(norm) is not None
    if not cue and not clinician:
        return out
    if _NOT_PLAN.search(norm) and not _PLAN_VERB.search(norm):
        return out
    if not _PAST_RESULT.search(norm) and (
        cue or re.search(r"\b(?:get|do|check|send|take|run)\b", norm)
    ):
        for name in find_tests(norm):
            item = PlanMention(f"test-{slug(name)}", name[:1].upper() + name[1:])
            if item not in out:
                out.append(item)
    if _REFERRAL.search(norm):
        for name, pattern in _SPECIALTY_RE:
            if pattern.search(norm):
                verb = "Refer to" if name != "emergency department" else "Send to"
                out.append(PlanMention(f"refer-{slug(name)}", f"{verb} {name}"))
                break
    if _PAST_NARRATIVE.search(norm) and not _STRONG_PLAN.search(norm):
        return out
    for key, text, pattern in _ADVICE_RE:
        if pattern.search(norm) and (key == "safety-net" or cue or clinician):
            out.append(PlanMention(key, text))
    if (
        generic
        and not out
        and _STRONG_PLAN.search(norm)
        and _PLAN_VERB.search(norm)
        and not _NOT_PLAN.search(norm)
        and len(norm.split()) <= 35
    ):
        words = [w for w in re.findall(r"[a-z]+", norm) if w not in _STOP_WORDS][:5]
        if len(words) >= 2:
            out.append(PlanMention(slug(" ".join(words)), display_text))
    return out


def find_tests(norm: str) -> list[str]:
    """Investigations named in a sentence, most specific first ("chest x-ray", not "x-ray")."""
    out: list[str] = []
    taken: list[tuple[int, int]] = []
    for name, pattern in _TEST_RE:
        for m in pattern.finditer(norm):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found = "COVID test" if name == "swab" and "covid" in norm else name
            if found not in out:
                out.append(found)
    return out


def find_follow_up(norm: str) -> str | None:
    m = _FOLLOW_UP.search(norm)
    if m:
        q = _QTY_WORDS.get(m.group("q"), m.group("q"))
        u = m.group("u")
        if q == "1" and u.endswith("s"):
            u = u[:-1]
        elif q != "1" and not u.endswith("s"):
            u += "s"
        return f"Follow up in {q} {u}"
    m = _FOLLOW_UP_WHEN.search(norm)
    if m:
        return f"Follow up {m.group('w')}"
    if _FOLLOW_UP_BARE.search(norm):
        return "Follow up"
    return None


_STOP_WORDS = {
    "i", "we", "you", "will", "am", "are", "is", "be", "to", "the", "a", "an", "and", "or",
    "going", "would", "like", "want", "let", "us", "so", "that", "this", "it", "of", "for",
    "on", "in", "your", "my", "some", "just", "also", "then", "okay", "ok", "um", "uh",
    "can", "should", "need", "make", "sure", "think", "have", "get", "do", "there", "what",
    "me", "with", "at", "if", "as", "up", "about", "all", "any", "right", "well", "really",
    "please", "plan", "recommend", "suggest", "try", "go", "ahead",
}  # fmt: skip
