"""Precision / recall of the local rules extractor against references it did not write.

    .venv/bin/python bench/eval_extraction.py                      # all datasets, ~10 s
    .venv/bin/python bench/eval_extraction.py --datasets fareez_osce --show fareez_osce/symptoms
    .venv/bin/python bench/eval_extraction.py --json bench/results/extraction.json
    .venv/bin/python bench/eval_extraction.py --audit-refs aci_bench   # print reference items only

Each consultation's turns go through :func:`extract_note` as segments (doctor ->
clinician, patient -> patient) and the note is scored per category. Nothing read here
is written into the project; ``--show`` and ``--audit-refs`` print to the terminal only.

References (none of them uses the project's lexicons or rules)
================================================================

* ``fareez_osce`` (10 cases) -- **human gold**: the curated knowledge graph
  (``reference_kg``). SYMPTOM nodes (``absent X`` marks a denied symptom), TREATMENT
  nodes that are drugs (nodes naming isolation, hydration, gargles, oxygen or rest are
  non-drug treatments and left out), DIAGNOSIS nodes, MEDICAL_HISTORY nodes. The graph
  is not exhaustive (a case lists 3 symptoms when the patient reported more), so
  precision here is a lower bound; denied symptoms are curated in two cases only, so a
  predicted denied symptom is judged only in those (the others count as *unjudged*).
* ``aci_bench`` (train 67, valid 20) -- the clinic note, read with the generic reference
  rules below. Medications: list items of the MEDICATIONS / CURRENT MEDICATIONS
  sections, plus drug mentions (:func:`drug_mentions`) in the note's other sentences
  that carry a medication cue (take, prescribe, continue, start, initiate, increase,
  mg, ...). Allergies: the ALLERGIES section and "allergic to X" / "X allergy" / "no
  known allergies" statements anywhere in the note. Symptoms: the REVIEW OF SYSTEMS
  bullets ("Denies X, Y or Z." / "Endorses X."), present and denied. Visits with an
  ``alt_transcripts`` entry that differs from the main transcript are also run on that
  raw speech-recognition transcript (``virtscribe_asr``: one run-on text with sparse,
  sometimes swapped ``[doctor]`` / ``[patient]`` tags; ``aci_asrcorr``), scored against
  the same note, next to the same visits' human transcript.
* ``primock57`` (25) -- the GP's free-text note: drug-history lines (``DH:``, ``DHx:``,
  ``Meds:``) as lists, drug mentions in the other lines; allergies from ``NKDA`` /
  ``allergic to X`` / ``Allergies: X`` / ``X allergy``.
* ``mts_dialog`` (train / valid) -- the note section of each snippet is the reference:
  MEDICATIONS sections as lists (every list item is a reference mention), ALLERGY
  sections (``None.`` / "no known drug allergies" is NKDA, else every substance listed),
  CC sections (token overlap with the extracted chief complaint).

Reference rules (``drug_mentions``, ``list_items``, ``allergy_refs``)
--------------------------------------------------------------------

* *List zones* (medication sections, ``DH:`` lines, MTS MEDICATIONS): split into
  sentences, then on ``, ; / and`` and numbering ("1."). A sentence that states absence
  ("None.", "Denies ...", "He is on no medications") gives nothing, except what follows
  "other than" / "except". Lead-ins are stripped ("Patient reports taking", "She is on",
  "Include", "Listed as", "Recently finished"), and each item is cut at its first dose,
  schedule, route or purpose word ("20 mg", "q.d.", "PRN", "by mouth", "for pain").
  An item of 1-4 words is a mention; a longer one is read with the prose rules.
* *Prose* (``drug_mentions``), a word is a drug mention when it (a) ends with a
  generic-name stem (``_DRUG_STEMS``: -pril, -olol, -statin, -sartan, -mab, -cillin,
  -mycin, -oxacin, -cycline, -azole, -tidine, -dipine, -formin, -gliptin, -gliflozin,
  -triptan, -azepam, -zolam, -oxetine, -triptyline, -sone, -olone, -lukast, -terol,
  -tropium, -parin, -xaban, -profen, -fenac, -coxib, -setron, -vir, -semide, -thiazide,
  -codone, -amol, cef-/ceph-/sulfa- ... and a stop list of English words that end the
  same way: cholesterol, April, ...); or (b) is one of ``_COMMON_DRUGS``, 32 generic
  names too common to miss and without a stem (aspirin, insulin, warfarin, ...); or (c) is
  one of the class words ``_DRUG_CLASSES`` (antibiotics, steroids, NSAIDs, inhaler,
  birth control, ...); or (d) is a word run (1-2 words) right before a dose ("Lasix 20
  mg", "Vitamin D 2000 IU"); or (e) is a capitalised word, not first in its sentence,
  not an all-capital abbreviation, not a name of the patient or doctor and not in
  ``_CAPITAL_STOP``, in a sentence with a medication cue ("reports taking Norvasc").

Matching (both sides go through the same functions)
---------------------------------------------------

* Normalisation (:func:`norm_tokens`): lower case; ``-``, ``/``, ``_`` and punctuation
  to spaces; plural stripped (``-ies`` -> ``-y``, final ``-s`` of words over 3 letters
  except ``-ss/-us/-is/-ous``); stop words dropped (articles, possessives, "of",
  "occasional", "regular", "low dose", ...); for drugs, formulation words dropped
  (inhaler, cream, tablet, nasal, spray, SR, XL, ...); for symptoms, qualifiers dropped
  (dry, productive, yellow, subjective, pleuritic, mild, left, ...) and a trailing "with
  ..." / "on exertion" / "at rest" clause.
* Synonyms (``DRUG_SYNONYMS``, ``SYMPTOM_SYNONYMS``, ``CONDITION_SYNONYMS``, written
  for this script): a phrase is replaced by its canonical phrase on both sides, longest
  phrase first ("Tylenol" -> acetaminophen, "Lasix" -> furosemide, "dyspnea" ->
  shortness of breath, "hemoptysis" -> coughing up blood, "COVID-19" -> covid). A
  predicted drug is also represented by every surface the extractor's lexicon lists
  for it (the names under which it recognised it): predicted "furosemide" matches a
  reference "Lasix" even when ``DRUG_SYNONYMS`` lacks the brand.
* Credit: 1 when the normalised token tuples are equal, else partial credit
  ``|A & B| / max(|A|, |B|)`` over token sets ("Tylenol #3" vs "acetaminophen": 0.5;
  "vitamin D" vs "vitamins": 0.5). A reference with alternatives ("viral infection /
  common cold") takes the best alternative. Recall = sum over references of the best
  credit any prediction gives it / references; precision = sum over predictions of the
  best credit any reference gives it / predictions (micro-averaged over documents).
* Lenient precision where the reference rules can miss a true mention: for ACI-Bench
  and PriMock57 medications, a predicted drug whose name or any lexicon surface occurs
  in the note's non-allergy text counts as correct (credit 1); for allergies, a
  prediction in a document whose note says nothing about allergies is *unjudged*
  (counted in its own column, left out of precision).
* Chief complaint: content tokens after the symptom synonyms; recall credit
  ``|R & P| / |R|``, precision credit ``|R & P| / |P|``; numbers and time units dropped.

Limitations of the references: the rules miss brand names written in prose without a
dose, a capital or a cue (rare in ACI-Bench, common in PriMock57's abbreviated notes:
"Abx", "COCP"), and take some non-drugs for drugs (a capitalised place in a
medication sentence). ``--audit-refs`` prints the reference items for hand checking;
docs/benchmarks-extraction.md reports a hand check. A note summarises the visit: a drug
named in the conversation and left out of the note lowers precision, a drug the note
adds from the chart lowers recall.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.local import extract_note
from drtranscribe.extraction.rules.lexicon import medications

SPEAKERS: dict[str, Speaker] = {
    "doctor": "clinician",
    "patient": "patient",
    "guest_clinician": "clinician",
    "guest_family": "other",
}

Toks = tuple[str, ...]


def wordset(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


# =====================================================================================
# normalisation and synonyms (owned by this script, applied to both sides)
# =====================================================================================

_STOP = wordset(
    "the a an of and or with in on to for my her his their your its some any this that "
    "occasional occasionally regular regularly recent recently low dose dosage daily otc "
    "over counter prn as needed current currently other also"
)
_FORM_WORDS = wordset(
    "inhaler inhalers puffer cream ointment gel lotion tablet tablets tab tabs capsule "
    "capsules pill spray sprays nasal eye ear drop drops patch injection injections shot "
    "oral topical sr xr er xl la cr dr hcl iv po medication medicine syrup solution "
    "suspension enteric coated"
)
_SYMPTOM_QUALIFIERS = wordset(
    "dry productive yellow green clear white bloody subjective pleuritic mild moderate "
    "severe intermittent constant chronic acute new worsening persistent slight some "
    "bilateral left right lower upper occasional generalized generalised general "
    "increased decreased reduced"
)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def _singular(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")):
        return w[:-1]
    return w


def norm_tokens(text: str) -> Toks:
    """Lower case, punctuation to spaces, plurals stripped, stop words dropped."""
    s = text.lower().replace("&", " and ")
    s = re.sub(r"[-/_'’#(),.;:+]", " ", s)
    return tuple(_singular(w) for w in _WORD.findall(s) if w not in _STOP)


def _phrase_table(table: dict[str, Sequence[str]]) -> dict[Toks, Toks]:
    out: dict[Toks, Toks] = {}
    for canonical, phrases in table.items():
        target = norm_tokens(canonical)
        for p in (canonical, *phrases):
            key = norm_tokens(p)
            if key:
                out.setdefault(key, target)
    return out


def _apply(toks: Toks, table: dict[Toks, Toks], longest: int) -> Toks:
    """Replace phrases by their canonical phrase, longest first, left to right."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        for size in range(min(longest, len(toks) - i), 0, -1):
            hit = table.get(toks[i : i + size])
            if hit is not None:
                out.extend(hit)
                i += size
                break
        else:
            out.append(toks[i])
            i += 1
    # "lisinopril lisinopril" after a brand and its generic are both said
    dedup: list[str] = []
    for w in out:
        if w not in dedup:
            dedup.append(w)
    return tuple(dedup)


# Brand and spelling variants -> one generic name; drug classes -> one class word.
DRUG_SYNONYMS: dict[str, Sequence[str]] = {
    "acetaminophen": ("tylenol", "paracetamol", "panadol", "apap", "calpol"),
    "ibuprofen": ("advil", "motrin", "nurofen"),
    "naproxen": ("aleve", "naprosyn"),
    "aspirin": ("asa", "baby aspirin", "acetylsalicylic acid"),
    "furosemide": ("lasix", "frusemide"),
    "bumetanide": ("bumex",),
    "torsemide": ("demadex",),
    "atorvastatin": ("lipitor",),
    "simvastatin": ("zocor",),
    "rosuvastatin": ("crestor",),
    "pravastatin": ("pravachol",),
    "lovastatin": ("mevacor",),
    "amlodipine": ("norvasc",),
    "metoprolol": ("toprol", "toprol xl", "lopressor"),
    "losartan": ("cozaar",),
    "valsartan": ("diovan",),
    "olmesartan": ("benicar",),
    "lisinopril": ("zestril", "prinivil"),
    "albuterol": ("ventolin", "proventil", "salbutamol", "proair"),
    "fluticasone": ("flonase", "flovent"),
    "fluticasone salmeterol": ("advair",),
    "tiotropium": ("spiriva",),
    "montelukast": ("singulair",),
    "loratadine": ("claritin",),
    "cetirizine": ("zyrtec",),
    "fexofenadine": ("allegra",),
    "levothyroxine": ("synthroid", "levoxyl", "unithroid", "eltroxin"),
    "omeprazole": ("prilosec", "losec"),
    "esomeprazole": ("nexium",),
    "rabeprazole": ("aciphex",),
    "metformin": ("glucophage",),
    "glipizide": ("glucotrol",),
    "glyburide": ("micronase", "diabeta"),
    "dapagliflozin": ("farxiga",),
    "warfarin": ("coumadin",),
    "clopidogrel": ("plavix",),
    "ticagrelor": ("brilinta",),
    "apixaban": ("eliquis",),
    "rivaroxaban": ("xarelto",),
    "sertraline": ("zoloft",),
    "fluoxetine": ("prozac",),
    "escitalopram": ("lexapro",),
    "bupropion": ("wellbutrin",),
    "buspirone": ("buspar",),
    "aripiprazole": ("abilify",),
    "amoxicillin clavulanate": ("augmentin", "co amoxiclav"),
    "cephalexin": ("keflex", "cefalexin"),
    "ciprofloxacin": ("cipro",),
    "levofloxacin": ("levaquin",),
    "metronidazole": ("flagyl",),
    "sulfamethoxazole trimethoprim": ("bactrim", "septra", "co trimoxazole"),
    "azithromycin": ("zithromax", "z pack", "zpack"),
    "nitrofurantoin": ("macrobid",),
    "minocycline": ("minocin",),
    "penicillin": ("pcn", "penicillin v", "pen vk"),
    "contrast dye": ("contrast medium", "contrast media", "iv contrast", "contrast", "dye"),
    "sulfa": ("sulfa drug", "sulpha", "sulfonamide"),
    "polyethylene glycol": ("miralax",),
    "isotretinoin": ("accutane",),
    "oxycodone": ("oxycontin",),
    "oxycodone acetaminophen": ("percocet",),
    "hydrocodone acetaminophen": ("vicodin", "norco", "lortab"),
    "metoclopramide": ("reglan",),
    "tamsulosin": ("flomax",),
    "tadalafil": ("cialis",),
    "sildenafil": ("viagra",),
    "phenytoin": ("dilantin",),
    "gabapentin": ("neurontin",),
    "prednisone": ("deltasone",),
    "cyclobenzaprine": ("flexeril",),
    "betamethasone": ("betnovate",),
    "mupirocin": ("bactroban",),
    "oxaprozin": ("daypro",),
    # classes
    "antibiotic": ("abx", "antibiotic therapy"),
    "nsaid": ("anti inflammatory", "anti inflammatories", "antiinflammatory", "nsaids"),
    "analgesic": ("painkiller", "pain killer", "pain medication", "pain reliever", "analgesia"),
    "steroid": ("corticosteroid", "oral steroid"),
    "antihistamine": ("allergy pill", "allergy medication"),
    "diuretic": ("water pill",),
    "contraceptive": (
        "oral contraceptive",
        "birth control",
        "birth control pill",
        "contraceptive pill",
        "cocp",
        "ocp",
        "pop",
        "the pill",
    ),
    "multivitamin": ("multi vitamin", "multivitamins"),
    "inhaler": ("puffer", "rescue inhaler"),
}

SYMPTOM_SYNONYMS: dict[str, Sequence[str]] = {
    "shortness of breath": (
        "sob",
        "dyspnea",
        "dyspnoea",
        "breathlessness",
        "short of breath",
        "difficulty breathing",
        "trouble breathing",
        "dyspnea on exertion",
        "doe",
        "shortness breath",
    ),
    "coughing up blood": ("hemoptysis", "haemoptysis", "blood in sputum"),
    "sputum": ("phlegm", "mucus", "sputum production"),
    "nasal congestion": ("stuffy nose", "blocked nose", "congestion", "stuffiness"),
    "runny nose": ("rhinorrhea", "rhinorrhoea", "running nose"),
    "loss of taste": ("reduced sense of taste", "taste loss", "ageusia", "sense of taste"),
    "loss of smell": ("reduced sense of smell", "anosmia", "sense of smell", "smell loss"),
    "loss of appetite": ("decreased appetite", "reduced appetite", "poor appetite", "anorexia"),
    "muscle aches": ("myalgia", "muscle ache", "muscle pain", "body aches", "body ache"),
    "joint pain": ("arthralgia", "joint ache"),
    "fatigue": ("tiredness", "tired", "lethargy", "lethargic", "exhaustion", "lack of energy"),
    "fever": ("pyrexia", "febrile", "fevers", "temperature", "high temperature"),
    "sore throat": ("scratchy throat", "throat pain", "pharyngitis", "odynophagia"),
    "insomnia": ("sleep disturbance", "trouble sleeping", "difficulty sleeping"),
    "malaise": ("feeling unwell", "generally unwell", "unwell"),
    "chest pain": ("chest discomfort", "chest pressure"),
    "difficulty swallowing": ("dysphagia", "painful swallowing", "trouble swallowing"),
    "abdominal pain": ("stomach pain", "belly pain", "abdominal cramp", "abdo pain", "tummy pain"),
    "nausea": ("nauseous", "nauseated"),
    "vomiting": ("emesis", "throwing up"),
    "diarrhea": ("diarrhoea", "loose stool"),
    "dizziness": ("lightheadedness", "light headedness", "vertigo", "dizzy"),
    "fainting": ("syncope", "passing out", "loss of consciousness"),
    "palpitations": ("heart racing", "racing heart"),
    "swelling": ("edema", "oedema"),
    "leg swelling": (
        "lower extremity edema",
        "lower extremity swelling",
        "ankle swelling",
        "leg edema",
        "pedal edema",
        "swollen legs",
    ),
    "headache": ("head ache", "cephalgia"),
    "weight loss": ("losing weight",),
    "night sweats": ("nocturnal sweating",),
    "painful urination": ("dysuria", "burning urination"),
    "blood in urine": ("hematuria", "haematuria"),
    "blood in stool": ("hematochezia", "melena", "rectal bleeding"),
    "low mood": ("depressed mood", "depression"),
    "wheezing": ("wheeze",),
    "numbness": ("numb",),
    "tingling": ("paresthesia", "pins and needles"),
    "rash": ("skin rash", "hives", "urticaria"),
    "itching": ("pruritus", "itchy"),
}

CONDITION_SYNONYMS: dict[str, Sequence[str]] = {
    "covid": ("covid 19", "coronavirus", "sars cov 2", "covid infection"),
    "viral infection": ("viral illness", "virus", "viral syndrome"),
    "respiratory infection": (
        "upper respiratory infection",
        "upper respiratory tract infection",
        "uri",
        "urti",
        "respiratory tract infection",
        "chest infection",
    ),
    "common cold": ("cold",),
    "copd": ("chronic obstructive pulmonary disease", "emphysema"),
    "hyperlipidemia": (
        "high cholesterol",
        "hypercholesterolemia",
        "hypercholesterolaemia",
        "dyslipidemia",
    ),
    "hypertension": ("high blood pressure", "htn"),
    "type 1 diabetes": ("t1dm",),
    "type 2 diabetes": ("t2dm",),
    "mononucleosis": ("mono", "glandular fever", "infectious mononucleosis"),
    "eczema": ("atopic dermatitis",),
    "seasonal allergy": (
        "hay fever",
        "hayfever",
        "allergic rhinitis",
        "environmental allergy",
        "fall allergy",
        "spring allergy",
        "pollen",
        "pollen allergy",
        "grass pollen",
    ),
    "mould": ("mold",),
    "smoker": ("smoking", "smoke", "smokes", "tobacco", "smoking history"),
    "non smoker": ("never smoked", "not smoke", "no smoking", "nonsmoker", "never smoker"),
    "alcohol": ("etoh", "drink", "drinks", "drinking", "alcohol use"),
    "cannabis": ("marijuana", "weed", "pot", "thc", "recreational drug"),
    "family": ("family history", "family hx", "fh"),
    "history": ("hx",),
    "nkda": ("no known allergy", "no known drug allergy", "no allergy", "no drug allergy"),
    "asthma": ("asthmatic",),
    "myocardial infarction": ("heart attack", "mi"),
}


@cache
def _tables() -> dict[str, tuple[dict[Toks, Toks], int]]:
    out: dict[str, tuple[dict[Toks, Toks], int]] = {}
    for name, table in (
        ("drug", DRUG_SYNONYMS),
        ("symptom", SYMPTOM_SYNONYMS),
        ("condition", {**SYMPTOM_SYNONYMS, **CONDITION_SYNONYMS}),
    ):
        phrases = _phrase_table(table)
        out[name] = (phrases, max(len(k) for k in phrases))
    return out


def drug_key(text: str) -> Toks:
    """Formulation words dropped ("albuterol inhaler" = "albuterol") unless that is all
    there is ("inhaler")."""
    toks = tuple(t for t in norm_tokens(text) if t not in _FORM_WORDS) or norm_tokens(text)
    table, longest = _tables()["drug"]
    return _apply(toks, table, longest)


_SYMPTOM_TAIL = re.compile(
    r"\b(?:with|when|on exertion|at rest|at night(?! sweat)|after|during|from)\b.*$"
)


def symptom_key(text: str) -> Toks:
    """Synonyms first (they may carry a qualifier: "lower extremity edema"), then the
    qualifiers dropped, then the synonyms again ("dry cough" -> "cough")."""
    s = _SYMPTOM_TAIL.sub("", text.lower()).strip() or text.lower()
    table, longest = _tables()["symptom"]
    toks = _apply(norm_tokens(s), table, longest)
    bare = tuple(t for t in toks if t not in _SYMPTOM_QUALIFIERS)
    return _apply(bare or toks, table, longest)


def condition_key(text: str) -> Toks:
    toks = tuple(t for t in norm_tokens(text) if t not in _SYMPTOM_QUALIFIERS)
    table, longest = _tables()["condition"]
    return _apply(toks, table, longest)


_HEAD_NOUNS = wordset(
    "pain pains ache aches swelling numbness tingling weakness discomfort stiffness tenderness"
)


def split_alternatives(text: str) -> list[str]:
    """'chills/night sweats' -> both; 'back or muscle pain' -> 'back pain', 'muscle pain';
    'loss of taste/smell' -> 'loss of taste', 'loss of smell'."""
    parts = [p.strip() for p in re.split(r"\s*/\s*|\s+or\s+|\s*,\s*", text) if p.strip()]
    if len(parts) < 2:
        return [text]
    first, last = parts[0].split(), parts[-1].split()
    out = []
    for p in parts:
        words = p.split()
        if len(words) == 1 and p == parts[-1] and "of" in first[:-1]:
            words = first[: first.index("of") + 1] + words  # "loss of taste/smell"
        elif len(words) == 1 and p != parts[-1] and len(last) > 1 and last[-1] in _HEAD_NOUNS:
            words = [*words, last[-1]]  # "back or muscle pain"
        out.append(" ".join(words))
    return out


# =====================================================================================
# scoring
# =====================================================================================


@dataclass(frozen=True)
class Item:
    """One reference or predicted item: alternative normalised forms and a label."""

    forms: tuple[Toks, ...]
    label: str
    negated: bool = False


def credit(a: Item, b: Item) -> float:
    best = 0.0
    for x in a.forms:
        for y in b.forms:
            if not x or not y:
                continue
            if x == y:
                return 1.0
            sx, sy = set(x), set(y)
            inter = len(sx & sy)
            if inter:
                best = max(best, inter / max(len(sx), len(sy)))
    return best


@dataclass
class Score:
    docs: int = 0
    ref: int = 0
    pred: int = 0
    unjudged: int = 0
    ref_credit: float = 0.0
    pred_credit: float = 0.0

    @property
    def precision(self) -> float | None:
        return self.pred_credit / self.pred if self.pred else None

    @property
    def recall(self) -> float | None:
        return self.ref_credit / self.ref if self.ref else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)


@dataclass
class Report:
    scores: dict[tuple[str, str], Score] = field(default_factory=lambda: defaultdict(Score))
    show: str | None = None
    doc: str = ""

    def add(
        self,
        dataset: str,
        category: str,
        refs: list[Item],
        preds: list[Item],
        *,
        judged: bool = True,
        pred_override: Callable[[Item], float | None] | None = None,
    ) -> None:
        """Score one document. ``pred_override`` may give a prediction full credit."""
        s = self.scores[(dataset, category)]
        s.docs += 1
        s.ref += len(refs)
        ref_hits = [max((credit(r, p) for p in preds), default=0.0) for r in refs]
        s.ref_credit += sum(ref_hits)
        pred_hits: list[float] = []
        if judged:
            for p in preds:
                c = max((credit(r, p) for r in refs), default=0.0)
                if c < 1.0 and pred_override is not None:
                    c = max(c, pred_override(p) or 0.0)
                pred_hits.append(c)
            s.pred += len(preds)
            s.pred_credit += sum(pred_hits)
        else:
            s.unjudged += len(preds)
        if self.show and self.show in f"{dataset}/{category}":
            fn = [f"{r.label}({c:.1f})" for r, c in zip(refs, ref_hits, strict=True) if c < 1]
            fp = [f"{p.label}({c:.1f})" for p, c in zip(preds, pred_hits, strict=False) if c < 1]
            if fn or fp:
                print(f"[{dataset}/{category}] {self.doc}  missed={fn}  wrong={fp}")


def polarity_score(report: Report, dataset: str, refs: list[Item], preds: list[Item]) -> None:
    """Of the reference symptoms the extractor found (any polarity), how many have the
    polarity right: recall = right / found. Precision is not used."""
    s = report.scores[(dataset, "symptoms: polarity of found")]
    s.docs += 1
    for r in refs:
        best = max(preds, key=lambda p: credit(r, p), default=None)
        if best is None or credit(r, best) < 1.0:
            continue
        # several predictions may match ("cough" present and absent): any right one counts
        same = [p for p in preds if credit(r, p) == 1.0]
        s.ref += 1
        s.ref_credit += 1.0 if any(p.negated == r.negated for p in same) else 0.0
        if (
            report.show
            and report.show in f"{dataset}/symptoms: polarity"
            and not any(p.negated == r.negated for p in same)
        ):
            print(f"[{dataset}/polarity] {report.doc} {r.label} ref negated={r.negated}")


# =====================================================================================
# reference rules (independent of the project's lexicons and rules)
# =====================================================================================

_DRUG_STEMS = re.compile(
    r"(?:pril|olol|alol|ilol|statin|sartan|mab|cillin|mycin|micin|oxacin|floxacin|cycline|"
    r"azole|tidine|tadine|dipine|formin|gliptin|gliflozin|glitazone|triptan|azepam|zepam|"
    r"zolam|oxetine|aloxetine|triptyline|ipramine|azodone|sone|olone|onide|lukast|terol|"
    r"tropium|parin|xaban|gatran|profen|fenac|coxib|setron|vir|semide|etanide|thiazide|"
    r"codone|morphone|adone|amol|apine|idone|eridone|dronate|gestrel|estradiol|thyroxine|"
    r"opram|aline|caine|pentin|gabalin|purinol|lamine|hydramine|phetamine|fenadine|"
    r"clovir|conazole|fungin|tretinoin|mustine|platin|poside|rubicin|taxel|trexate|"
    r"sulfate|sulphate|oxide|ium|mide|zide|pam|lam|done)$"
)
_STEM_PREFIX = re.compile(r"^(?:cef|ceph|sulfa|sulpha)[a-z]*$")
_STEM_MIN = 6
_STEM_STOP = wordset(
    "cholesterol april sodium potassium calcium magnesium medium premium stadium podium "
    "opium atrium condominium helium titanium delirium equilibrium curriculum gymnasium "
    "aquarium symposium abandon condone baseline airline deadline outline guideline "
    "discipline pipeline headline hairline timeline decline saline alkaline streamline "
    "landline sideline mainline underline shoreline skyline hotline beeline feline "
    "incline recline crystalline gasoline masculine definite ferrous reason person "
    "season prison poison lesson madison jackson johnson anderson wilson harrison "
    "emerson allison madison garrison morrison dickinson robinson pearson peterson "
    "patterson thompson davidson henderson dawson watson nelson carson hudson "
    "mason jameson addison cortisone tendon condo pyramide overdone undone redone "
    "outdone wellbeing mitochondria sulfate oxide provide decide divide reside beside "
    "inside outside guide wide side tide ride hide slide bride pride stride aside "
    "amide chloride fluoride bromide iodide override worldwide nationwide statewide "
    "countrywide homicide suicide pesticide herbicide genocide collide coincide "
    "subside preside confide glide landslide seaside riverside roadside bedside "
    "countryside underside downside upside offside ringside fireside hillside "
    "lakeside mountainside oceanside poolside quayside waterside wayside "
    "pam spam scam lam slam clam dam madam program diagram instagram telegram "
    "exam ham ram jam cam gram kilogram milligram microgram hologram anagram "
    "done sandstone milestone limestone gemstone keystone tombstone hormone "
    "ozone someone anyone everyone phone microphone smartphone headphone "
    "somewhere ium premium"
)
_COMMON_DRUGS = wordset(
    "aspirin insulin warfarin digoxin lithium acetaminophen paracetamol tylenol ibuprofen "
    "heparin morphine codeine tramadol nitroglycerin colchicine clonidine methotrexate "
    "tamoxifen melatonin epinephrine adrenaline iron glucosamine testosterone estrogen "
    "progesterone chemotherapy allopurinol levothyroxine cisplatin naloxone "
    "nicotine"
)
_DRUG_CLASSES = re.compile(
    r"\b(?:antibiotics?|abx|steroids?|corticosteroids?|antihistamines?|nsaids?|"
    r"anti-?inflammator(?:y|ies)|painkillers?|pain killers?|pain medications?|analgesi(?:a|cs?)|"
    r"diuretics?|water pills?|statins?|insulin|multi-?vitamins?|vitamins?(?: [a-z]\d*\b)?|"
    r"supplements?|decongestants?|antacids?|laxatives?|stool softeners?|birth control(?: pills?)?|"
    r"oral contraceptives?|contraceptive pills?|beta blockers?|ace inhibitors?|"
    r"blood thinners?|anticoagulants?|antidepressants?|opioids?|narcotics?|"
    r"muscle relaxants?|cough syrup|cough medicine|inhalers?|eye drops|nasal spray|"
    r"emollients?|moisturi[sz]ing creams?|antivirals?|antifungals?|sleeping pills?|"
    r"fish oil|probiotics?)\b",
    re.IGNORECASE,
)
_CASE_CLASSES = re.compile(r"\b(?:COCP|OCP|POP|HRT|PPI|SSRI|OTC analgesia)\b")
_DOSE = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?(?:/\d+)?\s?(?:mg|mcg|µg|g|mL|ml|units?|IU|milligrams?)\b(?!\s*/)",
    re.IGNORECASE,
)
_MED_CUE = re.compile(
    r"\b(?:take|takes|taking|took|taken|prescrib\w*|continu\w*|start\w*|initiat\w*|"
    r"increas\w*|decreas\w*|stop\w*|discontinu\w*|refill\w*|tried|trial|"
    r"using|uses|use of|utiliz\w*|medications?|medicines?|meds|mg|mcg|dose|dosage|"
    r"tablets?|inhalers?|creams?|ointment|spray|injections?|supplements?|switch\w*|"
    r"recommend\w*|rx|prn|bd|bid|tds|tid|qds|qid|resum\w*)\b",
    re.IGNORECASE,
)
_CAPITAL_STOP = wordset(
    "i i'm i've we he she they you patient patients medical treatment reasoning education "
    "counseling counselling additional testing plan assessment dr doctor mr mrs ms miss "
    "covid covid-19 january february march april may june july august september october "
    "november december monday tuesday wednesday thursday friday saturday sunday er ed "
    "emergency department hospital clinic urgent care nurse practitioner pa md do pt "
    "her his the a an if she'll he'll we'll this that these those there today tomorrow "
    "otc please further follow up follow-up will would should could can also and or but "
    "agreements agreement understands understood history review results impression "
    "vitals exam examination physical subjective objective instructions chief complaint "
    "hpi ros pmh psh fh sh dh imp mx sx hx rx abx americans english spanish christmas "
    "thanksgiving easter god lord jesus north south east west new york california texas "
    "florida boston chicago canada america usa uk london ct mri ekg ecg cbc cmp bmp "
    "initiate continue start prescribe take resume increase decrease stop discontinue "
    "extra strength scale sundays mondays tuesdays wednesdays thursdays fridays saturdays "
    "otc"
)
_ALLERGY_WORDS = re.compile(r"(?i)allerg|\bnkda\b|\bnka\b|intoleran|adverse reaction")


@dataclass(frozen=True)
class Mention:
    text: str
    start: int


def _word_spans(text: str) -> Iterator[re.Match[str]]:
    return re.finditer(r"[A-Za-z][A-Za-z0-9'\-]*", text)


_MED_VERB = re.compile(
    r"\b(?:take|takes|taking|took|prescrib\w*|start\w*|initiat\w*|continu\w*|refill\w*|"
    r"use of|using|uses|tried|trial of|switch\w*|recommend\w*|resum\w*|on|add\w*|give|"
    r"increas\w*|decreas\w*|"
    r"giving|gave|order\w*)\b",
    re.IGNORECASE,
)
_AFTER_DRUG = re.compile(
    r"^\s*(?:\d|(?:nasal |eye |ear |topical |oral )?(?:inhaler|cream|ointment|gel|spray|"
    r"drops|patch|tablets?|pills?|capsules?|injections?|XR|XL|SR|ER|DM|LA)\b|"
    r"(?:prn|PRN|p\.r\.n|b\.?i\.?d|t\.?i\.?d|q\.?d|BD|TDS|QDS|OD|daily|twice|once)\b)"
)
_LIST_SEP = re.compile(r"^\s*(?:,|and|or|,\s*and|,\s*or)\s*$", re.IGNORECASE)


def _stem_word(lw: str) -> bool:
    """A generic-name stem or one of the common drugs without one."""
    if lw in _COMMON_DRUGS:
        return True
    return (
        len(lw) >= _STEM_MIN
        and lw not in _STEM_STOP
        and (_DRUG_STEMS.search(lw) is not None or _STEM_PREFIX.match(lw) is not None)
    )


def drug_mentions(
    sentence: str, names: frozenset[str] = frozenset(), *, context: bool = False
) -> list[str]:
    """Drug mentions in one prose sentence by the reference rules (module docstring).

    ``context``: the sentence is in a medication list, so it needs no medication cue."""
    found: list[tuple[int, int, str]] = []
    cue = context or _MED_CUE.search(sentence) is not None
    words = list(_word_spans(sentence))
    last_end = -1  # end of the previous accepted mention, for "X, Y and Z" lists
    for idx, m in enumerate(words):
        w = m.group()
        lw = w.lower().strip("'-")
        if len(lw) < 3:
            continue
        if _stem_word(lw):
            found.append((m.start(), m.start() + len(w.rstrip("'-")), w.rstrip("'-")))
            last_end = m.end()
            continue
        before = sentence[: m.start()].rstrip()
        starts_clause = idx == 0 or before[-1:] in (":", "•", "-", "(", '"', ".")
        if (
            not cue
            or starts_clause
            or not w[0].isupper()
            or w.isupper()
            or lw in _CAPITAL_STOP
            or lw in names
        ):
            continue
        window = " ".join(x.group() for x in words[max(0, idx - 3) : idx])
        if window.lower().endswith(" by") or window.lower() == "by":
            continue  # "prescribed by Obstetrician-Gynecologist"
        near_verb = _MED_VERB.search(window) is not None
        listed = last_end >= 0 and _LIST_SEP.match(sentence[last_end : m.start()]) is not None
        drug_like_next = _AFTER_DRUG.match(sentence[m.end() :]) is not None
        if near_verb or listed or drug_like_next:
            found.append((m.start(), m.end(), w))
            last_end = m.end()
    named = list(found)
    for m in _DRUG_CLASSES.finditer(sentence):
        # "albuterol inhaler", "Bactroban ointment": the class word adds no drug
        if any(0 <= m.start() - e <= 8 or 0 <= s - m.end() <= 2 for s, e, _ in named):
            continue
        found.append((m.start(), m.end(), m.group()))
    for m in _CASE_CLASSES.finditer(sentence):
        found.append((m.start(), m.end(), m.group()))
    for m in _DOSE.finditer(sentence):
        # "Lasix 20 mg", "Ferrous Sulfate 25 mg": the capitalised words right before a dose
        run = re.search(r"((?:[A-Z][A-Za-z\-]*\s+)?[A-Z][A-Za-z\-]*)\s*$", sentence[: m.start()])
        if not run:
            continue
        ws = [x for x in run.group(1).split() if x.lower() not in _CAPITAL_STOP]
        if not ws or (len(ws) == 1 and ws[0].isupper()):
            continue
        text = " ".join(ws)
        start = run.start() + run.group(1).find(ws[0])
        found.append((start, start + len(text), text))
    # overlapping mentions: the longest wins ("Ferrous Sulfate" over "Sulfate")
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    kept: list[tuple[int, int, str]] = []
    for f in found:
        if not any(f[0] < k[1] and k[0] < f[1] for k in kept):
            kept.append(f)
    kept.sort()
    return [k[2] for k in kept]


_LEAD_IN = re.compile(
    r"^(?:\d+\s*[.)]\s*)?(?:(?:(?:the )?patient(?:'s)? |(?:he|she|they) )?"
    r"(?:(?:reports?|states?|says?|notes?)(?: that)?(?: (?:he|she|they))? )?"
    r"(?:(?:is|are|has been|have been|was|were) )?"
    r"(?:(?:currently|still|only|also|occasionally|sometimes|regularly|now|recently) )?"
    r"(?:taking|takes|using|uses|use of|utilizes|on|maintained on|receiving|prescribed|"
    r"include[sd]?|listed as|finished|(?:his |her |their )?(?:only )?medications? "
    r"(?:are|were|include)|prescribed medications were)\s+)?",
    re.IGNORECASE,
)
_ABSENCE = re.compile(
    r"(?i)^\W*(?:none|nil|no\b|denies|not on|(?:he|she|they|patient) (?:is|are) on no|"
    r"(?:he|she|they|patient) (?:takes|denies)|takes no|n/a)"
)
_ITEM_CUT = re.compile(
    r"(?i)(?:\s|^)(?:\d|#|q\.?\s?\d|q\.?d\b|b\.?i\.?d\b|t\.?i\.?d\b|q\.?i\.?d\b|q\.?h\.?s\b|"
    r"p\.?r\.?n\b|prn\b|qam\b|qpm\b|bd\b|tds\b|qds\b|od\b|daily\b|twice\b|once\b|nightly\b|"
    r"as needed|by mouth|p\.?o\b\.?|orally\b|for\b|to\b|applied\b|\(|tab\b|tablet|"
    r"capsule|every\b|per\b|at\b|in the\b|since\b|which\b|that\b|usage\b|started\b|"
    r"over-the-counter|otc\b|unknown)"
)
_ITEM_LEAD = re.compile(
    r"(?i)^(?:(?:an?|the|his|her|their|some|occasional|regular|recent|low[- ]dose|otc|"
    r"home|other|and|also)\s+)+"
)
_PRONOUN = re.compile(
    r"(?i)\b(?:i|he|she|they|we|it|is|are|was|were|has|have|had|not|no|reviewed|remain|"
    r"takes?|taking|uses|using|reports?|denies|states?|these|those|them|neither|either|"
    r"significant|noncontributory|unremarkable|per|there|"
    r"remains|noted|which|chart|list|names?|remember|different)\b"
)
_GENERIC_ITEM = wordset(
    "medication medications medicine medicines meds drug drugs other none nil regular "
    "otherwise prescription prescriptions orders order chart list dose doses and or"
)


def list_items(section: str, names: frozenset[str] = frozenset()) -> list[str]:
    """Items of a list-like medication section (rules in the module docstring)."""
    out: list[str] = []
    section = re.sub(r"(?m)^\s*\d+\s*[.)]\s*", "\n", section)
    sentences = [
        s.strip()
        for s in re.split(r"(?<=[a-z)\]])\.\s+|\n+|(?<=\s)\d+\.\s+|;\s*", section)
        if s.strip()
    ]
    clauses = [
        c
        for sent in sentences
        for c in re.split(r",?\s+but\s+|\s+and\s+(?=(?:takes|denies|has|is|was|does)\b)", sent)
        if c.strip()
    ]
    for sent in clauses:
        if _ABSENCE.match(sent):
            other = re.search(r"(?i)\b(?:other than|except|besides|apart from)\b(.*)$", sent)
            if not other:
                continue
            sent = other.group(1)
        original = sent
        sent = _LEAD_IN.sub("", sent.strip(" .•-:"))
        if _PRONOUN.search(re.sub(r"\([^)]*\)", "", sent)):
            out.extend(drug_mentions(original, names, context=True))  # a statement
            continue
        for piece in re.split(r"\s*,\s*|\s+and\s+|\s*/\s*(?=[A-Za-z]{3})|\s+plus\s+", sent):
            piece = piece.strip(" .•-:;")
            cut = _ITEM_CUT.search(piece)
            head = piece[: cut.start()] if cut else piece
            head = _ITEM_LEAD.sub("", head.strip(" .-:")).strip(" .-:")
            words = head.split()
            if not words or not re.search(r"[A-Za-z]{2}", head):
                continue
            stems = sum(1 for w in words if _stem_word(w.lower()))
            if len(words) > 4 or _PRONOUN.search(head) or stems > 1:
                out.extend(drug_mentions(piece, names, context=True))
                continue
            if all(w.lower().strip(".") in _GENERIC_ITEM for w in words):
                continue
            out.append(head)
    return out


def _sentences(text: str) -> list[str]:
    return [
        s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z•\d])|\n+|\s•\s", text or "") if s.strip()
    ]


_MED_HEADINGS = ("MEDICATIONS", "CURRENT MEDICATIONS")
_LIST_LINE = re.compile(r"(?im)^\s*(?:dh|dhx|meds|medications|drug history|current meds)\s*[:\-]")


def _dedupe(items: Iterable[str], key: Callable[[str], Toks]) -> list[str]:
    seen: dict[Toks, str] = {}
    for it in items:
        k = key(it)
        if k and k not in seen:
            seen[k] = it
    return list(seen.values())


def aci_med_refs(record: dict[str, Any]) -> tuple[list[str], str]:
    """Reference drug mentions of an ACI-Bench note, and its non-allergy text."""
    headings: dict[str, str] = record.get("note_headings") or {}
    names = _names(record)
    refs: list[str] = []
    prose: list[str] = []
    for heading, body in headings.items():
        if heading == "ALLERGIES":
            continue
        if heading in _MED_HEADINGS:
            refs += list_items(body, names)
            prose.append(body)
            continue
        for sent in _sentences(body):
            if _ALLERGY_WORDS.search(sent):
                continue
            prose.append(sent)
            if _MED_CUE.search(sent) or _DOSE.search(sent):
                refs += drug_mentions(sent, names)
    return _dedupe(refs, drug_key), "\n".join(prose)


def primock_med_refs(record: dict[str, Any]) -> tuple[list[str], str]:
    refs: list[str] = []
    prose: list[str] = []
    for line in (record.get("note") or "").splitlines():
        if not line.strip() or _ALLERGY_WORDS.search(line):
            # "DH: not on any medication, allergic to peanuts": keep the drug part
            if _LIST_LINE.match(line):
                line = re.split(r"(?i),?\s*allerg", line)[0]
            else:
                continue
        m = _LIST_LINE.match(line)
        if m:
            refs += list_items(line[m.end() :])
            prose.append(line[m.end() :])
            continue
        prose.append(line)
        for sent in re.split(r"(?<=[.!?])\s+|\s+-\s+", line):
            refs += drug_mentions(sent)
    return _dedupe(refs, drug_key), "\n".join(prose)


_NKDA_REF = re.compile(
    r"(?i)\b(?:no (?:known )?(?:drug |medical |medicine |medication )?allerg(?:y|ies)|nkda|nka|"
    r"denies (?:any )?(?:drug |medication )?allerg(?:y|ies)|nil allerg(?:y|ies)|"
    r"none known|no known drug intolerance|(?:he|she|patient) has no allergies)\b"
)
_ALLERGY_TO = re.compile(
    r"(?i)\b(?:allergic|allergy|allergies|intoleran(?:t|ce)) (?:to|of)\s+(?P<x>[^.;]+)"
)
# in an allergy section "adverse reactions to X" is a list of allergies too
_REACTION_TO = re.compile(r"(?i)\b(?:reactions?|sensitivity) to\s+(?P<x>[^.;]+)")
_X_ALLERGY = re.compile(
    r"(?i)\b(?P<x>(?!no\b|any\b|some\b|the\b|of\b|for\b|from\b|drug\b|known\b|other\b)"
    r"[a-z][a-z\-]+(?: [a-z][a-z\-]+)?) allerg(?:y|ies)\b"
)
_SEASONAL = re.compile(r"(?i)\b(?:seasonal|fall|spring|environmental) allergies|\bhay ?fever\b")
_ALLERGY_CUT = re.compile(
    r"(?i)\s*(?:\(|\bcaus\w+|\bgives?\b|\bresult\w*|\bwith\b|\bwhich\b|\bthat\b|\bbut\b|"
    r"\bdoes\b|\bin the past\b| - )"
)


_FUNCTION = wordset(
    "from for to of the a an some any no with due by and or having have has had get gets "
    "got is are was were be been his her their my your its"
)


def _strip_function(phrase: str) -> str:
    """'congestion from' -> '' (the phrase must end in a content word next to 'allergy')."""
    words = phrase.split()
    if not words or words[-1].lower() in _FUNCTION:
        return ""
    while words and words[0].lower() in _FUNCTION:
        words = words[1:]
    return " ".join(words)


def _allergy_list(text: str) -> list[str]:
    out: list[str] = []
    for piece in re.split(r"\s*,\s*|\s+and\s+|\s*/\s*", text):
        cut = _ALLERGY_CUT.search(piece)
        head = piece[: cut.start()] if cut else piece
        head = re.sub(r"(?i)^(?:(?:to|some|any|perhaps|possibly|an?|the|and|mild)\s+)+", "", head)
        head = head.strip(" .()-:")
        if head and len(head.split()) <= 4 and re.search(r"[A-Za-z]{2}", head):
            out.append(head)
    return out


def allergy_refs(text: str, *, section: bool) -> tuple[list[str], bool]:
    """(substances, says anything about allergies). NKDA is the substance 'nkda'.

    ``section``: the text is an allergy section, so a sentence without a cue ("Sulfa
    (rash).", "Penicillin.") is a list of substances when it has no verb."""
    subs: list[str] = []
    said = False
    for sent in _sentences(text):
        if section:
            sent = re.split(r",?\s+but\b", sent)[0]  # "PCN, but has tolerated ..."
        negated_seasonal = re.search(r"(?i)\b(?:denies|no)\b.*\bseasonal", sent)
        if _SEASONAL.search(sent) and not negated_seasonal:
            subs.append("seasonal allergy")  # "Nil allergies, hayfever" is both
            said = True
            if _NKDA_REF.search(sent):
                subs.append("nkda")
            continue
        if negated_seasonal:
            said = True
            continue
        if _NKDA_REF.search(sent) or (section and re.match(r"(?i)^\W*none\b", sent)):
            subs.append("nkda")
            said = True
            continue
        m = _ALLERGY_TO.search(sent) or (_REACTION_TO.search(sent) if section else None)
        if m:
            subs += _allergy_list(m.group("x"))
            said = True
            continue
        xs = [_strip_function(x.group("x")) for x in _X_ALLERGY.finditer(sent)]
        xs = [x for x in xs if x]
        if xs:
            subs += xs
            said = True
            continue
        if section:
            said = True
            if not _PRONOUN.search(sent) or re.match(r"(?i)^\W*to\b", sent):
                subs += _allergy_list(re.sub(r"(?i)^\W*to\s+", "", sent))
    return _dedupe(subs, drug_key), said


def _names(record: dict[str, Any]) -> frozenset[str]:
    meta = record.get("metadata") or {}
    names = set()
    for key in ("patient_firstname", "patient_familyname", "doctor_name"):
        for part in str(meta.get(key) or "").lower().split():
            names.add(part.strip("."))
    return frozenset(names)


# =====================================================================================
# prediction side
# =====================================================================================


@cache
def _lexicon_surfaces() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for surface, canonical in medications().terms.items():
        out[canonical].append(surface)
    return {k: tuple(v) for k, v in out.items()}


def pred_drug(name: str) -> Item:
    surfaces = (name, *_lexicon_surfaces().get(name, ()))
    forms = tuple(dict.fromkeys(k for k in (drug_key(s) for s in surfaces) if k))
    return Item(forms, name)


def ref_drug(text: str) -> Item:
    return Item((drug_key(text),), text)


def _mentioned(item: Item, text_keys: frozenset[Toks]) -> float | None:
    """1.0 when a form of the prediction occurs as a token run in the note text."""
    return 1.0 if any(f in text_keys for f in item.forms) else None


def _ngrams(text: str, size: int = 4) -> frozenset[Toks]:
    keys: set[Toks] = set()
    for line in re.split(r"[\n.;,]", text):
        toks = drug_key(line)
        raw = tuple(t for t in norm_tokens(line) if t not in _FORM_WORDS)
        for seq in (toks, raw):
            for n in range(1, size + 1):
                for i in range(len(seq) - n + 1):
                    keys.add(seq[i : i + n])
    return frozenset(keys)


def pred_meds(note: ClinicalNote) -> list[Item]:
    return [pred_drug(m.name) for m in note.medications]


def pred_allergies(note: ClinicalNote) -> list[Item]:
    out = []
    for a in note.allergies:
        if a.no_known_allergies:
            out.append(Item((("nkda",),), "NKDA"))
        else:
            drug = pred_drug(a.substance)
            forms = (*drug.forms, condition_key(a.substance))
            out.append(Item(tuple(dict.fromkeys(forms)), a.substance))
    return out


def ref_allergy(text: str) -> Item:
    """An allergen is compared as a drug and as a condition ("hay fever" = "pollen")."""
    if text == "nkda":
        return Item((("nkda",),), "NKDA")
    return Item(tuple(dict.fromkeys((drug_key(text), condition_key(text)))), text)


def pred_symptoms(note: ClinicalNote) -> list[Item]:
    return [Item((symptom_key(s.name),), s.name, s.negated) for s in note.symptoms]


# =====================================================================================
# running the extractor
# =====================================================================================


def segments_of(turns: Sequence[dict[str, Any]]) -> list[Segment]:
    return [
        Segment(
            id=str(t.get("turn_id") or f"t{i}"),
            chunk_seq=i,
            first_chunk_seq=i,
            text=t["text"],
            start=float(t.get("start") or 0.0),
            end=float(t.get("end") or 0.0),
            provider="reference",
            latency_ms=0.0,
            speaker=SPEAKERS.get(str(t.get("speaker", "")).lower()),
        )
        for i, t in enumerate(turns)
        if str(t.get("text") or "").strip()
    ]


def split_tagged(turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A raw ASR transcript with inline '[doctor]' / '[patient]' tags -> turns."""
    out: list[dict[str, Any]] = []
    for t in turns:
        speaker = str(t.get("speaker") or "")
        for part in re.split(r"(\[(?:doctor|patient)\])", str(t.get("text") or "")):
            tag = re.fullmatch(r"\[(doctor|patient)\]", part)
            if tag:
                speaker = tag.group(1)
            elif part.strip():
                out.append({"speaker": speaker, "text": part.strip()})
    return out


def run(turns: Sequence[dict[str, Any]]) -> ClinicalNote:
    return extract_note(segments_of(turns))


# =====================================================================================
# datasets
# =====================================================================================

_NON_DRUG_TREATMENT = re.compile(
    r"(?i)isolation|hydration|fluids|gargle|oxygen|rest\b|diet|exercise|physio|therapy\b"
)


def _records(folder: Path, report: Report) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(folder.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(record, dict) or "turns" not in record:
            continue
        report.doc = str(path.relative_to(folder.parent))
        split = record.get("split") or ""
        yield split, record


def eval_fareez(folder: Path, report: Report) -> None:
    ds = "fareez_osce"
    for _, rec in _records(folder, report):
        nodes = (rec.get("reference_kg") or {}).get("nodes") or []
        if not nodes:
            continue
        note = run(rec["turns"])
        present: list[Item] = []
        absent: list[Item] = []
        drugs: list[Item] = []
        dx: list[Item] = []
        history: list[Item] = []
        for node in nodes:
            text, kind = str(node["text"]), node["type"]
            if kind == "SYMPTOM":
                neg = re.match(r"(?i)^(?:absent|no|denies)\s+", text)
                body = text[neg.end() :] if neg else text
                for part in split_alternatives(body):
                    item = Item((symptom_key(part),), part, negated=bool(neg))
                    (absent if neg else present).append(item)
            elif kind == "TREATMENT" and not _NON_DRUG_TREATMENT.search(text):
                alts = [text, *re.findall(r"\(([^)]+)\)", text)]
                drugs.append(Item(tuple(drug_key(a) for a in alts), text))
            elif kind == "DIAGNOSIS":
                alts = split_alternatives(re.sub(r"(?i)\s*ruled out", "", text))
                dx.append(Item(tuple(condition_key(a) for a in alts), text))
            elif kind == "MEDICAL_HISTORY":
                history.append(Item((condition_key(text),), text))
        syms = pred_symptoms(note)
        pred_present = [s for s in syms if not s.negated]
        pred_absent = [s for s in syms if s.negated]
        report.add(ds, "symptoms: present", present, pred_present)
        report.add(ds, "symptoms: denied", absent, pred_absent, judged=bool(absent))
        polarity_score(report, ds, present + absent, syms)
        report.add(ds, "medications (drug TREATMENT)", drugs, pred_meds(note))
        report.add(
            ds,
            "diagnoses (assessment)",
            dx,
            [Item((condition_key(d.name),), d.name) for d in note.assessment],
        )
        hist_pred = [
            Item((condition_key(t.text),), t.text)
            for t in (*note.past_medical_history, *note.social_history)
        ]
        hist_pred += [
            Item((("family", *condition_key(t.text)),), t.text) for t in note.family_history
        ]
        hist_pred += [
            Item((condition_key("nkda" if a.no_known_allergies else f"{a.substance} allergy"),),
                 a.substance)
            for a in note.allergies
        ]  # fmt: skip
        report.add(ds, "medical history (PMH/FH/SH)", history, hist_pred)


def _ros_refs(text: str) -> list[Item]:
    """REVIEW OF SYSTEMS bullets: 'Denies X, Y, or Z.' / 'Endorses X.' / 'Positive for X.'"""
    out: list[Item] = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\W*[A-Za-z ,/&]+:\s*", "", line.strip())
        for sent in re.split(
            r"(?<=\.)\s+|\s+(?=(?:Denies|Endorses|Reports|Positive|Negative)\b)", line
        ):
            m = re.match(
                r"(?i)^\s*(denies|negative for|no|endorses|reports|positive for|admits to|"
                r"complains of)\s+(?:any\s+)?(.*?)\.?$",
                sent,
            )
            if not m:
                continue
            negated = m.group(1).lower() in ("denies", "negative for", "no")
            body = re.sub(r"\s+(?:from|due to|secondary to|related to|with)\b.*$", "", m.group(2))
            for chunk in re.split(r"\s*,\s*(?:or\s+|and\s+)?", body):
                for part in split_alternatives(re.sub(r"\s+and\s+", " or ", chunk)):
                    part = part.strip(" .")
                    if part and len(part.split()) <= 5:
                        out.append(Item((symptom_key(part),), part, negated))
    return out


def _score_aci_visit(
    report: Report, ds: str, rec: dict[str, Any], turns: Sequence[dict[str, Any]]
) -> None:
    note = run(turns)
    refs, note_text = aci_med_refs(rec)
    keys = _ngrams(note_text)
    report.add(
        ds,
        "medications",
        [ref_drug(r) for r in refs],
        pred_meds(note),
        pred_override=lambda p: _mentioned(p, keys),
    )
    headings: dict[str, str] = rec.get("note_headings") or {}
    subs: list[str] = []
    said = False
    for heading, body in headings.items():
        s, anything = allergy_refs(body, section=heading == "ALLERGIES")
        subs += s
        said = said or anything
    report.add(
        ds,
        "allergies",
        [ref_allergy(s) for s in _dedupe(subs, drug_key)],
        pred_allergies(note),
        judged=said,
    )
    ros = _ros_refs(headings.get("REVIEW OF SYSTEMS", ""))
    if ros:
        syms = pred_symptoms(note)
        report.add(ds, "symptoms (ROS): present", [r for r in ros if not r.negated],
                   [s for s in syms if not s.negated])  # fmt: skip
        report.add(ds, "symptoms (ROS): denied", [r for r in ros if r.negated],
                   [s for s in syms if s.negated])  # fmt: skip
        polarity_score(report, ds, ros, syms)


def eval_aci(folder: Path, report: Report) -> None:
    for split, rec in _records(folder, report):
        ds = f"aci_bench/{split}"
        _score_aci_visit(report, ds, rec, rec["turns"])
        # the same visits on raw speech recognition, next to their human transcript; in
        # the "aci" subset the main transcript already is the ASR output (aci_asr is
        # identical to it, aci_asrcorr differs by a few words), so the human-vs-ASR pair
        # is the virtscribe subset's
        alt = (rec.get("alt_transcripts") or {}).get("virtscribe_asr")
        if alt and not alt.get("identical_to_main"):
            _score_aci_visit(report, "aci_bench/virtscribe: human", rec, rec["turns"])
            _score_aci_visit(
                report, "aci_bench/virtscribe: raw ASR", rec, split_tagged(alt["turns"])
            )


def eval_primock(folder: Path, report: Report) -> None:
    ds = "primock57"
    for _, rec in _records(folder, report):
        turns = [t for t in rec["turns"] if str(t.get("text") or "").strip()]
        turns.sort(key=lambda t: float(t.get("start") or 0.0))
        note = run(turns)
        refs, note_text = primock_med_refs(rec)
        keys = _ngrams(note_text)
        report.add(
            ds,
            "medications",
            [ref_drug(r) for r in refs],
            pred_meds(note),
            pred_override=lambda p, keys=keys: _mentioned(p, keys),  # type: ignore[misc]
        )
        subs, said = allergy_refs(_allergy_text(rec.get("note") or ""), section=False)
        report.add(
            ds, "allergies", [ref_allergy(s) for s in subs], pred_allergies(note), judged=said
        )
        pc = rec.get("presenting_complaint")
        if pc:
            _score_cc(report, ds, pc, note)


def _allergy_text(note: str) -> str:
    lines = []
    for line in note.splitlines():
        if _ALLERGY_WORDS.search(line) and "testing" not in line.lower():
            lines.append(re.sub(r"(?i)^.*?(?=allerg|nkda|nil allerg|no allerg)", "", line))
    return "\n".join(lines)


_CC_DROP = wordset(
    "day week month year hour minute ago since past last patient here today follow "
    "followup up visit evaluation concern new i im ive m ve s t d ll am is are was were be "
    "been being have has had having do does did don doesn didn can cant it its me got get "
    "getting really very bit little so just quite bad terrible feel feeling felt like"
)


def _cc_tokens(text: str) -> set[str]:
    toks = condition_key(text)
    return {t for t in toks if not t.replace(".", "").isdigit() and t not in _CC_DROP}


def _score_cc(report: Report, ds: str, reference: str, note: ClinicalNote) -> None:
    s = report.scores[(ds, "chief complaint")]
    s.docs += 1
    ref = _cc_tokens(reference)
    if not ref:
        return
    s.ref += 1
    if note.chief_complaint is None:
        return
    pred = _cc_tokens(note.chief_complaint.text)
    s.pred += 1
    inter = len(ref & pred)
    s.ref_credit += inter / len(ref)
    s.pred_credit += inter / len(pred) if pred else 0.0
    if report.show and report.show in f"{ds}/chief complaint" and inter < len(ref):
        print(f"[{ds}/cc] {report.doc} ref={sorted(ref)} pred={sorted(pred)}")


def eval_mts(folder: Path, report: Report) -> None:
    for split, rec in _records(folder, report):
        header = rec.get("section_header")
        if header not in ("ALLERGY", "MEDICATIONS", "CC"):
            continue
        ds = f"mts_dialog/{split}"
        section = rec.get("note") or " ".join((rec.get("note_sections") or {}).values())
        note = run(rec["turns"])
        if header == "MEDICATIONS":
            # "ALLERGIES: NKDA" written inside a medication section is not a drug list
            section = re.split(r"(?i)\ballergies\s*:", section)[0]
            refs = _dedupe(list_items(section), drug_key)
            keys = _ngrams(section)
            report.add(
                ds,
                "medications",
                [ref_drug(r) for r in refs],
                pred_meds(note),
                pred_override=lambda p, keys=keys: _mentioned(p, keys),  # type: ignore[misc]
            )
        elif header == "ALLERGY":
            subs, _ = allergy_refs(section, section=True)
            report.add(ds, "allergies", [ref_allergy(s) for s in subs], pred_allergies(note))
        else:
            _score_cc(report, ds, section, note)


DATASETS: dict[str, Callable[[Path, Report], None]] = {
    "fareez_osce": eval_fareez,
    "aci_bench": eval_aci,
    "primock57": eval_primock,
    "mts_dialog": eval_mts,
}


def audit_refs(data: Path, dataset: str) -> None:
    """Print the reference items the rules read (terminal only, for hand checking)."""
    for path in sorted((data / dataset).rglob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        if dataset == "aci_bench":
            meds, _ = aci_med_refs(rec)
            subs: list[str] = []
            for heading, body in (rec.get("note_headings") or {}).items():
                subs += allergy_refs(body, section=heading == "ALLERGIES")[0]
            ros = _ros_refs((rec.get("note_headings") or {}).get("REVIEW OF SYSTEMS", ""))
            print(rec["id"], "meds:", meds, "| allergies:", subs)
            print("    ros:", [("-" if r.negated else "+") + r.label for r in ros])
        elif dataset == "primock57":
            meds, _ = primock_med_refs(rec)
            subs, _ = allergy_refs(_allergy_text(rec.get("note") or ""), section=False)
            print(rec["id"], "meds:", meds, "| allergies:", subs)
        elif dataset == "mts_dialog":
            header = rec.get("section_header")
            if header == "MEDICATIONS":
                print(rec["id"], "meds:", list_items(rec.get("note") or ""))
            elif header == "ALLERGY":
                print(rec["id"], "allergies:", allergy_refs(rec.get("note") or "", section=True))


# =====================================================================================
# output
# =====================================================================================


def _fmt(x: float | None) -> str:
    return "   - " if x is None else f"{x:5.2f}"


def table(report: Report) -> tuple[str, list[dict[str, Any]]]:
    header = (
        f"| {'dataset':<30} | {'category':<30} | docs |  ref | pred | unj. |     P |     R |"
        "    F1 |"
    )
    lines = [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    rows: list[dict[str, Any]] = []
    for (dataset, category), s in sorted(report.scores.items()):
        lines.append(
            f"| {dataset:<30} | {category:<30} | {s.docs:>4} | {s.ref:>4} | {s.pred:>4} | "
            f"{s.unjudged:>4} | {_fmt(s.precision)} | {_fmt(s.recall)} | {_fmt(s.f1)} |"
        )
        rows.append(
            {"dataset": dataset, "category": category, "docs": s.docs, "ref": s.ref,
             "pred": s.pred, "unjudged": s.unjudged, "precision": s.precision,
             "recall": s.recall, "f1": s.f1}
        )  # fmt: skip
    return "\n".join(lines), rows


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--json", type=Path, help="write the scores here too")
    parser.add_argument("--show", help="print misses of 'dataset/category' (terminal only)")
    parser.add_argument("--audit-refs", help="print a dataset's reference items and exit")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    if args.audit_refs:
        audit_refs(args.data, args.audit_refs)
        return 0
    report = Report(show=args.show)
    started = time.perf_counter()
    for name in args.datasets.split(","):
        DATASETS[name](args.data / name, report)
    elapsed = time.perf_counter() - started
    text, rows = table(report)
    print(text)
    print(f"\n{elapsed:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
