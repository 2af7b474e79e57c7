"""One segment's text -> the facts of its sentences, with no context.

The parse depends on the text only (never on the speaker or the neighbours), so its
result is cached by text in a bounded LRU: an update re-parses only the segments
that are new or revised, and the merge stitches the cached facts together.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from drtranscribe.extraction.rules import (
    allergies,
    complaint,
    diagnoses,
    dialogue,
    exam,
    history,
    medications,
    negation,
    plan,
    social,
    symptoms,
    vitals,
)
from drtranscribe.extraction.rules.allergies import AllergyMention
from drtranscribe.extraction.rules.complaint import Strength
from drtranscribe.extraction.rules.diagnoses import DiagnosisMention
from drtranscribe.extraction.rules.dialogue import Polarity
from drtranscribe.extraction.rules.history import FamilyMention
from drtranscribe.extraction.rules.medications import MedDetail, MedMention
from drtranscribe.extraction.rules.plan import PlanMention
from drtranscribe.extraction.rules.social import SocialMention, Topic
from drtranscribe.extraction.rules.symptoms import SymptomMention
from drtranscribe.extraction.rules.text import display, normalise, split_sentences, tokens
from drtranscribe.extraction.rules.vitals import VitalReading


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """Everything the rules read in one sentence, before any context is applied."""

    display: str
    norm: str
    is_question: bool
    bare_list: bool  # only symptom names: a checklist question when the clinician says it
    wh_question: bool
    opening_question: bool
    answer: Polarity | None
    topics: frozenset[str]
    symptoms: tuple[SymptomMention, ...]
    onset: str | None  # said in the sentence, whether or not a symptom is
    severity: str | None
    scale_answer: str | None
    medications: tuple[MedMention, ...]
    med_detail: MedDetail | None
    allergies: tuple[AllergyMention, ...]
    allergens: tuple[str, ...]  # substances named, for an answer to "any allergies?"
    reaction: str | None
    vitals: tuple[VitalReading, ...]
    conditions: tuple[str, ...]  # every condition named, not negated (for answers)
    denied_conditions: tuple[str, ...]
    diagnoses: tuple[DiagnosisMention, ...]
    history: tuple[str, ...]
    family: tuple[FamilyMention, ...]
    relative: str | None
    social: tuple[SocialMention, ...]
    social_topics: tuple[Topic, ...]
    exam: tuple[str, ...]
    exam_start: bool
    plan: tuple[PlanMention, ...]
    plan_by_clinician: tuple[PlanMention, ...]  # read only when the clinician says it
    follow_up: str | None
    complaint: Strength | None
    complaint_phrase: str | None


def parse_sentence(original: str) -> SentenceFacts:
    norm = normalise(original)
    toks = tokens(norm)
    scopes = negation.find_scopes(norm)
    question = dialogue.is_question(norm, original)

    conds = history.find_conditions(norm, toks, scopes)
    family, other_spans, relative = history.find_family(norm, conds, scopes)
    alg, alg_spans = allergies.find_allergies(norm, toks, scopes)
    reaction = allergies.find_reaction(norm)
    exclude_sym = other_spans + alg_spans
    syms = symptoms.find_symptoms(norm, scopes, exclude=exclude_sym)
    meds, detail = medications.find_medications(norm, toks, scopes, exclude=alg_spans)
    disp = display(original)
    cue = complaint.complaint_cue(norm)
    generic = not meds and detail is None
    plan_items = plan.find_plan(norm, disp, clinician=False, generic=generic)
    plan_clinician = plan.find_plan(norm, disp, clinician=True, generic=generic)
    return SentenceFacts(
        display=disp,
        norm=norm,
        is_question=question,
        bare_list=not question and symptoms.is_bare_list(norm, syms),
        wh_question=question and dialogue.is_wh_question(norm),
        opening_question=dialogue.is_opening_question(norm),
        answer=dialogue.answer_polarity(norm),
        topics=dialogue.topics(norm) if question else frozenset(),
        symptoms=tuple(syms),
        onset=symptoms.find_onset(norm),
        severity=symptoms.find_severity(norm),
        scale_answer=dialogue.scale_answer(norm),
        medications=tuple(meds),
        med_detail=detail,
        allergies=tuple(alg),
        allergens=tuple(allergies.find_allergens(norm, toks)),
        reaction=reaction,
        vitals=tuple(vitals.find_vitals(norm)),
        conditions=tuple(
            c.name
            for c in conds
            if not c.negated and not any(s <= c.start < e for s, e in other_spans)
        ),
        denied_conditions=tuple(c.name for c in conds if c.negated),
        diagnoses=tuple(diagnoses.find_diagnoses(norm, conds, other_spans)),
        history=tuple(history.find_history(norm, conds, other_spans)),
        family=tuple(family),
        relative=relative,
        social=tuple(social.find_social(norm, scopes)),
        social_topics=tuple(social.question_topics(norm)) if question else (),
        exam=tuple(exam.find_exam(norm)),
        exam_start=exam.starts_exam(norm),
        plan=tuple(plan_items),
        plan_by_clinician=tuple(p for p in plan_clinician if p not in plan_items),
        follow_up=plan.find_follow_up(norm),
        complaint=cue[0] if cue else None,
        complaint_phrase=cue[1] if cue else None,
    )


SegmentFacts = tuple[SentenceFacts, ...]


def parse_text(text: str) -> SegmentFacts:
    return tuple(parse_sentence(s) for s in split_sentences(text))


class SegmentParser:
    """``parse_text`` behind a bounded, thread-safe LRU keyed by segment text."""

    def __init__(self, maxsize: int = 8192) -> None:
        self.maxsize = maxsize
        self._cache: OrderedDict[str, SegmentFacts] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __call__(self, text: str) -> SegmentFacts:
        with self._lock:
            facts = self._cache.get(text)
            if facts is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return facts
        facts = parse_text(text)
        with self._lock:
            self.misses += 1
            self._cache[text] = facts
            self._cache.move_to_end(text)
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return facts

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._cache

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


default_parser = SegmentParser()
