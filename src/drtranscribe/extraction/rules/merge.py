"""Stitch the per-sentence facts of the whole transcript into one note.

The merge walks the segments in order and applies context that a single sentence
cannot see:

* a clinician question ("any fever or chills?") answered "no" / "yes" in the next
  turn negates or affirms the symptoms (drugs, allergies, habits, ...) it names;
* a dose or frequency said without a drug ("actually it's a thousand milligrams")
  updates the drug mentioned just before, so a corrected number stays one item;
* a reaction said after an allergy ("it gives me a rash") goes to that allergy;
* the same fact said again updates the same item: its id is derived from what it is
  about, the later statement wins, evidence accumulates in transcript order.

Everything is a pure function of the segments: same segments, same note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drtranscribe.domain.identity import ID_PREFIXES, slug
from drtranscribe.domain.note import (
    Allergy,
    ClinicalNote,
    Diagnosis,
    Medication,
    Speaker,
    Symptom,
    TextItem,
    Vital,
)
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.rules import social
from drtranscribe.extraction.rules.allergies import NKDA, AllergyMention, is_drug_allergen
from drtranscribe.extraction.rules.dialogue import Polarity
from drtranscribe.extraction.rules.lexicon import condition_kinds
from drtranscribe.extraction.rules.medications import MedDetail, MedMention
from drtranscribe.extraction.rules.parse import SegmentFacts, SentenceFacts

# Item ids: <prefix>-<slug> (drtranscribe.domain.identity), the prefixes named once there.
ALG = ID_PREFIXES["allergies"]
DX = ID_PREFIXES["assessment"]
EXAM = ID_PREFIXES["examination"]
FH = ID_PREFIXES["family_history"]
HPI = ID_PREFIXES["history_of_present_illness"]
MED = ID_PREFIXES["medications"]
PLAN = ID_PREFIXES["plan"]
PMH = ID_PREFIXES["past_medical_history"]
SOC = ID_PREFIXES["social_history"]
SYM = ID_PREFIXES["symptoms"]
VIT = ID_PREFIXES["vitals"]
NKDA_ID = f"{ALG}-{slug(NKDA)}"

EARLY_SEGMENTS = 20  # a chief complaint said later than this is not the opening one
DETAIL_WINDOW = 2  # segments within which a bare dose/reaction attaches to the last item

_REACTION_SYMPTOMS = {"rash", "itching", "swelling", "shortness of breath", "nausea", "vomiting"}
# A clinician's prediction or advice is not a finding ("your swelling should go down").
_MODAL = re.compile(r"\b(?:should|will|would|might|may|could)\b")
_CLINICIAN_VOICE = re.compile(
    r"\b(?:you|your|we|let us|i will|i am going to|i would like|i want|i would|i am|i have)\b"
)


@dataclass
class _Rec:
    id: str
    evidence: set[int] = field(default_factory=set)
    speaker: Speaker | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def touch(self, seg: int, speaker: Speaker | None) -> _Rec:
        self.evidence.add(seg)
        if speaker is not None:
            self.speaker = speaker
        return self


class _Section:
    def __init__(self) -> None:
        self.items: dict[str, _Rec] = {}

    def get(self, item_id: str, seg: int, speaker: Speaker | None, **defaults: Any) -> _Rec:
        rec = self.items.get(item_id)
        if rec is None:
            rec = _Rec(item_id, data=dict(defaults))
            self.items[item_id] = rec
        return rec.touch(seg, speaker)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.items


@dataclass
class _Pending:
    """Questions waiting for their answer."""

    segs: list[int]
    speaker: Speaker | None
    symptoms: dict[str, bool] = field(default_factory=dict)  # name -> presupposed
    meds: list[MedMention] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    social_topics: set[social.Topic] = field(default_factory=set)
    conditions: dict[str, None] = field(default_factory=dict)
    known_allergens: list[str] = field(default_factory=list)  # "any other besides penicillin?"
    wh: bool = False
    opening: bool = False
    # "and you are not allergic to anything, right?", "you are allergic to x, is that right?"
    proposed_allergies: list[AllergyMention] = field(default_factory=list)


_REST_DENIED = re.compile(
    r"\b(?:(?:everything|anything|all) else|the rest|all the others?)"
    r"(?: (?:has|have) been| is| are| was| were| seems?)? "
    r"(?:okay|ok|fine|good|normal|alright|all right)\b|"
    r"\b(?:nothing else|none of the others?|no others?)\b"
)


def _has_facts(s: SentenceFacts) -> bool:
    return bool(s.symptoms or s.medications or s.allergens or s.allergies or s.conditions)


def _is_ack(s: SentenceFacts) -> bool:
    """A bare "yes" / "right" / "okay" with nothing else said."""
    return s.answer is not None and len(s.norm.split()) <= 3 and not _has_facts(s)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _onset_phrase(onset: str) -> str:
    if onset.endswith("ago"):
        return f"started {onset}"
    if onset[:1].isdigit() or onset.startswith(("a ", "an ", "several", "few")):
        return f"for {onset}"
    if onset.startswith("since") or onset.endswith("ago"):
        return onset if onset.startswith("since") else f"started {onset}"
    return f"since {onset}"


@dataclass
class _Reply:
    """An answer to the pending questions: its first sentence, all its sentences, where
    it was said and by whom, and whether it says yes or no."""

    p: _Pending
    s: SentenceFacts
    sents: list[SentenceFacts]
    i: int
    sp: Speaker | None
    polarity: Polarity | None


def _polarity(s: SentenceFacts, rest: list[SentenceFacts]) -> Polarity | None:
    """Yes, no or neither, read past an acknowledgement or an echo of the question."""
    if s.answer == "yes" and len(s.norm.split()) <= 3:
        # "yeah. no, nothing like that.": the bare "yeah" only acknowledges
        return next((a.answer for a in rest if a.answer), None) or s.answer
    if s.answer is None and len(s.norm.split()) <= 4 and not _has_facts(s):
        # "oh, allergies. no.": the answer comes after the echo
        return next((a.answer for a in rest if a.answer), None)
    return s.answer


class _Merger:
    def __init__(self, segments: Sequence[Segment], facts: Sequence[SegmentFacts]) -> None:
        self.segments = segments
        self.facts = facts
        self.symptoms = _Section()
        self.meds = _Section()
        self.allergies = _Section()
        self.vitals = _Section()
        self.dx = _Section()
        self.pmh = _Section()
        self.fh = _Section()
        self.soc = _Section()
        self.exam = _Section()
        self.plan = _Section()
        self.hpi = _Section()
        self.follow_up: _Rec | None = None
        self.cc: tuple[int, _Rec] | None = None  # (priority, record); lower is stronger
        # a chief complaint quoted without a symptom may still be named by the next turns
        self.cc_open_until = -1
        self.pending: _Pending | None = None
        self.last_symptoms: tuple[list[str], int] = ([], -10)  # names, sentence number
        self.last_med: tuple[str, int] | None = None  # id, segment
        self.last_allergy: tuple[str, int] | None = None
        self.sentence_no = 0
        self.exam_mode = False

    # --- walk ------------------------------------------------------------------

    def run(self) -> ClinicalNote:
        for i, (seg, facts) in enumerate(zip(self.segments, self.facts, strict=True)):
            sp = seg.speaker
            self.exam_mode = False  # set by "let's do a quick physical exam" for the turn
            for j, s in enumerate(facts):
                self.sentence_no += 1
                consumed: set[str] = set()
                # speech recognition drops the "?" of "okay, coughing, headache"
                question = s.is_question or (sp == "clinician" and s.bare_list)
                if self.pending is not None and not question:
                    p = self.pending
                    same = sp is not None and p.speaker is not None and sp == p.speaker
                    if same and _is_ack(s):
                        continue  # "Me?" - "Yes.": the asker confirms, the answer is to come
                    self.pending = None
                    if not same:
                        rest = [r for r in facts[j + 1 :] if not r.is_question]
                        consumed = self._answer(p, s, rest, i, sp)
                if question:
                    if sp != "patient":
                        self._question(s, i, sp)
                    continue
                self._statement(s, i, sp, consumed)
                if s.exam_start and sp != "patient":
                    self.exam_mode = True
        return self._build()

    # --- questions and answers ---------------------------------------------------

    def _question(self, s: SentenceFacts, i: int, sp: Speaker | None) -> None:
        p = self.pending
        if p is None or (p.speaker != sp):
            p = _Pending(segs=[], speaker=sp)
            self.pending = p
        if i not in p.segs:
            p.segs.append(i)
        for m in s.symptoms:
            if m.name not in p.symptoms or not m.presupposed:
                p.symptoms[m.name] = m.presupposed
        p.meds.extend(m for m in s.medications if not m.negated or m.status is None)
        p.topics |= s.topics
        p.social_topics |= set(s.social_topics)
        for c in s.conditions:
            p.conditions[c] = None
        for f in s.family:
            p.conditions[f.condition] = None
        if "allergy" in s.topics and re.search(
            r"\b(?:other|besides|apart from|aside from|except|in addition to)\b", s.norm
        ):
            p.known_allergens.extend(a for a in s.allergens if a not in p.known_allergens)
        p.wh = p.wh or s.wh_question
        p.opening = p.opening or s.opening_question
        if sp == "clinician":
            p.proposed_allergies.extend(s.allergies)
        # a drug the clinician proposes as a question is still proposed ("..., okay?")
        for med in s.medications:
            if med.status in ("started", "stopped", "changed") and sp == "clinician":
                self._medication(med, i, sp, plan=True)

    def _answer(
        self,
        p: _Pending,
        s: SentenceFacts,
        rest: list[SentenceFacts],
        i: int,
        sp: Speaker | None,
    ) -> set[str]:
        """Apply an answer to the questions pending; return the drug names the answer
        used up (allergens), which its statement must not take as medications."""
        reply = _Reply(p, s, [s, *rest], i, sp, _polarity(s, rest))
        self._answer_symptoms(reply)
        self._answer_medications(reply)
        consumed = self._answer_allergies(reply) if "allergy" in p.topics else set()
        self._answer_habits(reply)
        self._answer_history(reply)
        # the opening question's answer is the chief complaint
        if p.opening and sp != "clinician":
            self._complaint(reply.sents, i, sp, priority=1)
        return consumed

    def _answer_symptoms(self, r: _Reply) -> None:
        p, s, sents, i, sp = r.p, r.s, r.sents, r.i, r.sp
        polarity = r.polarity
        mentioned = {m.name for a in sents for m in a.symptoms}
        onset = next((a.onset for a in sents if a.onset and not a.symptoms), None)
        severity = next((a.severity for a in sents if a.severity and not a.symptoms), None)
        if "scale" in p.topics and s.scale_answer:
            severity = s.scale_answer
        affirm = polarity == "yes" or (polarity is None and (onset or severity) is not None)
        segs = [*p.segs, i]

        q_symptoms = [n for n in p.symptoms if n not in mentioned]
        if not q_symptoms and "scale" in p.topics and severity:
            q_symptoms = [n for n in self.last_symptoms[0] if n not in mentioned]
            affirm = True
        if polarity == "yes" and mentioned:
            # "any fever or chills?" "yes, chills": only what is named; "... but everything
            # else has been okay" denies the rest
            rest_denied = any(_REST_DENIED.search(a.norm) for a in sents)
            q_symptoms = [n for n in q_symptoms if rest_denied]
            if rest_denied:
                polarity = "no"
        for name in q_symptoms:
            if polarity == "no" and p.symptoms.get(name):
                continue  # "along with the cough, anything else?" "no": the cough stays
            if polarity == "no":
                self._set_symptom(name, segs, sp, negated=True, onset=None, severity=None)
            elif affirm:
                self._set_symptom(name, segs, sp, negated=False, onset=onset, severity=severity)

    def _answer_medications(self, r: _Reply) -> None:
        """Drugs asked about: taken if the answer is yes or gives a dose."""
        detail = next((a.med_detail for a in r.sents if a.med_detail), None)
        answer_meds = {m.name for a in r.sents for m in a.medications}
        if r.polarity == "no" or (r.polarity != "yes" and detail is None):
            return
        for med in r.p.meds:
            if med.name in answer_meds:
                continue
            self._medication(med, r.i, r.sp, plan=False, extra_segs=r.p.segs)
            if detail is not None:
                self._apply_detail(f"{MED}-{slug(med.name)}", detail, r.i, r.sp)

    def _answer_allergies(self, r: _Reply) -> set[str]:
        p, sents, i, sp, polarity = r.p, r.sents, r.i, r.sp, r.polarity
        consumed: set[str] = set()
        own = [al for a in sents for al in a.allergies]
        for name in p.known_allergens:
            self.allergies.get(
                f"{ALG}-{slug(name)}", p.segs[-1], p.speaker, substance=name, reaction=None
            )
        named = [n for a in sents for n in a.allergens]
        drug_named = any(is_drug_allergen(n) for n in named) or any(
            is_drug_allergen(a.substance) for a in own if not a.no_known_allergies
        )
        # "no" (to drug allergies) stands next to a food named in the same answer;
        # "nope, just penicillin" names the allergy instead
        says_none = polarity == "no" and not drug_named and not p.known_allergens
        if polarity == "yes" and not named and not own:
            for pa in p.proposed_allergies:  # the patient confirms what the chart says
                if pa.no_known_allergies:
                    says_none = True
                    continue
                rec = self.allergies.get(
                    f"{ALG}-{slug(pa.substance)}", i, sp, substance=pa.substance, reaction=None
                )
                rec.evidence.update(p.segs)
                if pa.reaction:
                    rec.data["reaction"] = pa.reaction
        if says_none:
            rec = self.allergies.get(NKDA_ID, i, sp, substance=NKDA, reaction=None)
            rec.data["no_known_allergies"] = True
            rec.evidence.update(p.segs)
        if not own and not says_none:
            reaction = next((a.reaction for a in sents if a.reaction), None)
            for a in sents:
                for name in a.allergens:
                    rec = self.allergies.get(
                        f"{ALG}-{slug(name)}", i, sp, substance=name, reaction=None
                    )
                    rec.evidence.update(p.segs)
                    if reaction:
                        rec.data["reaction"] = reaction
                    self.last_allergy = (rec.id, i)
                    consumed.add(name)
        return consumed

    def _answer_habits(self, r: _Reply) -> None:
        for topic in sorted(r.p.social_topics):
            text = social.describe_answer(topic, r.s.norm, r.polarity)
            if text and not any(m.topic == topic for a in r.sents for m in a.social):
                rec = self.soc.get(f"{SOC}-{topic}", r.i, r.sp)
                rec.data["text"] = text
                rec.evidence.update(r.p.segs)

    def _answer_history(self, r: _Reply) -> None:
        """Family history or past history asked about."""
        p, s, sents, i, sp, polarity = r.p, r.s, r.sents, r.i, r.sp, r.polarity
        if "family" in p.topics and p.conditions:
            told = any(a.family for a in sents)
            if polarity == "no" and not told:
                for c in p.conditions:
                    rec = self.fh.get(f"{FH}-no-{slug(c)}", i, sp)
                    rec.data["text"] = f"No family history of {c}"
                    rec.evidence.update(p.segs)
            elif not told and (s.relative or polarity == "yes"):
                rel = s.relative or "family"
                for c in p.conditions:
                    rec = self.fh.get(f"{FH}-{slug(rel)}-{slug(c)}", i, sp)
                    rec.data["text"] = f"{_capital(rel)}: {c}"
                    rec.evidence.update(p.segs)
        elif p.conditions and polarity == "yes" and "family" not in p.topics:
            said = {x for a in sents for x in (*a.history, *a.conditions, *a.denied_conditions)}
            for c in p.conditions:
                if c not in said:
                    rec = self.pmh.get(f"{PMH}-{slug(c)}", i, sp)
                    rec.data["text"] = _capital(c)
                    rec.evidence.update(p.segs)

    # --- statements ----------------------------------------------------------------

    def _statement(self, s: SentenceFacts, i: int, sp: Speaker | None, consumed: set[str]) -> None:
        # allergies first: a reaction said right after one belongs to it
        reaction_used = self._stated_allergies(s, i, sp)
        self._stated_symptoms(s, i, sp, reaction_used)
        self._stated_medications(s, i, sp, consumed)
        for v in s.vitals:
            rec = self.vitals.get(f"{VIT}-{v.kind}", i, sp, kind=v.kind)
            rec.evidence = {i}  # the latest value wins, and rests on its own segment
            rec.data["value"] = v.value
            rec.data["unit"] = v.unit
        if sp != "patient":
            for d in s.diagnoses:
                rec = self.dx.get(f"{DX}-{slug(d.name)}", i, sp, name=d.name)
                rec.data["certainty"] = d.certainty
        self._stated_history(s, i, sp)
        if sp != "patient":
            systems = s.exam or (("general",) if self.exam_mode and s.symptoms else ())
            for system in systems:
                rec = self.exam.get(f"{EXAM}-{slug(system)}", i, sp)
                rec.data["text"] = s.display
            self._plan(s, i, sp)
        if s.complaint is not None and i < EARLY_SEGMENTS:
            if s.complaint == "clinician" and sp != "patient":
                self._complaint([s], i, sp, priority=1)
            elif s.complaint != "clinician" and sp != "clinician":
                self._complaint([s], i, sp, priority=2 if s.complaint == "strong" else 3)

    def _stated_allergies(self, s: SentenceFacts, i: int, sp: Speaker | None) -> bool:
        """Allergies said; True if the sentence's reaction went to the last allergy."""
        for a in s.allergies:
            if a.no_known_allergies:
                rec = self.allergies.get(NKDA_ID, i, sp, substance=NKDA, reaction=None)
                rec.data["no_known_allergies"] = True
                continue
            rec = self.allergies.get(
                f"{ALG}-{slug(a.substance)}", i, sp, substance=a.substance, reaction=None
            )
            if a.reaction:
                rec.data["reaction"] = a.reaction
            self.last_allergy = (rec.id, i)
        if (
            s.reaction
            and not s.allergies
            and self.last_allergy is not None
            and i - self.last_allergy[1] <= DETAIL_WINDOW
        ):
            rec = self.allergies.items[self.last_allergy[0]].touch(i, sp)
            rec.data["reaction"] = s.reaction
            return True
        return False

    def _stated_symptoms(
        self, s: SentenceFacts, i: int, sp: Speaker | None, reaction_used: bool
    ) -> None:
        affirmed: list[str] = []
        # an examination finding, or the clinician on treatment ("tylenol for the fever")
        not_history = sp != "patient" and (
            bool(s.exam) or self.exam_mode or (sp == "clinician" and bool(s.medications))
        )
        modal = _MODAL.search(s.norm) if sp == "clinician" else None
        for m in s.symptoms:
            if (reaction_used and m.name in _REACTION_SYMPTOMS) or not_history:
                continue
            if modal is not None and modal.start() < m.start and not m.negated:
                continue
            self._set_symptom(
                m.name, [i], sp, negated=m.negated, onset=m.onset, severity=m.severity
            )
            if not m.negated:
                affirmed.append(m.name)
                if sp != "clinician":
                    self._hpi(m.name, s.display, i, sp)
        if affirmed:
            self.last_symptoms = (affirmed, self.sentence_no)
            if self.cc is not None and i <= self.cc_open_until and sp != "clinician":
                priority = self.cc[0]
                self.cc = None
                self._complaint([s], i, sp, priority=priority)
            elif self.cc is None and sp != "clinician" and i < EARLY_SEGMENTS:
                # last resort: the first problem the patient reports
                self._complaint([s], i, sp, priority=4)
        elif (s.onset or s.severity) and self.sentence_no - self.last_symptoms[1] <= 2:
            for name in self.last_symptoms[0]:
                self._set_symptom(name, [i], sp, negated=False, onset=s.onset, severity=s.severity)

    def _stated_medications(
        self, s: SentenceFacts, i: int, sp: Speaker | None, consumed: set[str]
    ) -> None:
        for med in s.medications:
            if med.name in consumed or med.negated:
                continue
            own_voice = sp == "clinician" or (
                sp is None and _CLINICIAN_VOICE.search(s.norm) is not None
            )
            self._medication(med, i, sp, plan=own_voice)
        if (
            not s.medications
            and s.med_detail is not None
            and self.last_med is not None
            and i - self.last_med[1] <= DETAIL_WINDOW
        ):
            self._apply_detail(self.last_med[0], s.med_detail, i, sp)

    def _stated_history(self, s: SentenceFacts, i: int, sp: Speaker | None) -> None:
        """Past, family and social history said outright."""
        kinds = condition_kinds()
        for h in s.history:
            if sp == "clinician" and kinds.get(h) == "acute":
                continue
            rec = self.pmh.get(f"{PMH}-{slug(h)}", i, sp)
            rec.data["text"] = _capital(h)
        for f in s.family:
            if (f.person == "my" and sp == "clinician") or (f.person == "your" and sp == "patient"):
                continue  # the speaker's own relative is not the patient's
            if f.negated:
                rec = self.fh.get(f"{FH}-no-{slug(f.condition)}", i, sp)
                rec.data["text"] = f"No family history of {f.condition}"
            else:
                rec = self.fh.get(f"{FH}-{slug(f.relative)}-{slug(f.condition)}", i, sp)
                rec.data["text"] = f"{_capital(f.relative)}: {f.condition}"
        for m2 in s.social:
            rec = self.soc.get(f"{SOC}-{m2.topic}", i, sp)
            rec.data["text"] = m2.text

    # --- helpers ------------------------------------------------------------------------

    def _set_symptom(
        self,
        name: str,
        segs: list[int],
        sp: Speaker | None,
        *,
        negated: bool,
        onset: str | None,
        severity: str | None,
    ) -> None:
        rec = self.symptoms.get(
            f"{SYM}-{slug(name)}", segs[-1], sp, name=name, onset=None, severity=None
        )
        rec.evidence.update(segs)
        rec.data["negated"] = negated
        if onset:
            rec.data["onset"] = onset
        if severity:
            rec.data["severity"] = severity

    def _hpi(self, name: str, text: str, i: int, sp: Speaker | None) -> None:
        item_id = f"{HPI}-{slug(name)}"
        if item_id in self.hpi:
            return
        if any(r.data["text"] == text for r in self.hpi.items.values()):
            return
        self.hpi.get(item_id, i, sp, text=text)

    def _medication(
        self,
        m: MedMention,
        i: int,
        sp: Speaker | None,
        *,
        plan: bool,
        extra_segs: list[int] | None = None,
    ) -> None:
        rec = self.meds.get(
            f"{MED}-{slug(m.name)}",
            i,
            sp,
            name=m.name,
            dose=None,
            route=None,
            frequency=None,
            status="current",
        )
        if extra_segs:
            rec.evidence.update(extra_segs)
        if m.status is not None:
            rec.data["status"] = m.status
        for key in ("dose", "route", "frequency"):
            value = getattr(m, key)
            if value is not None:
                rec.data[key] = value
        self.last_med = (rec.id, i)
        if plan and m.status in ("started", "stopped", "changed"):
            self._med_plan(rec, i, sp)

    def _med_plan(self, med: _Rec, i: int, sp: Speaker | None) -> None:
        status = med.data["status"]
        verb = {"started": "start", "stopped": "stop", "changed": "change"}[status]
        rec = self.plan.get(f"{PLAN}-{verb}-{slug(med.data['name'])}", i, sp)
        rec.data["med"] = med.id
        rec.data["verb"] = verb

    def _apply_detail(self, med_id: str, d: MedDetail, i: int, sp: Speaker | None) -> None:
        rec = self.meds.items[med_id].touch(i, sp)
        if d.dose is not None:
            rec.data["dose"] = d.dose
        if d.route is not None:
            rec.data["route"] = d.route
        if d.frequency is not None:
            rec.data["frequency"] = d.frequency
        self.last_med = (med_id, i)

    def _plan(self, s: SentenceFacts, i: int, sp: Speaker | None) -> None:
        if sp == "patient":
            return
        items = list(s.plan)
        if sp == "clinician":
            items += list(s.plan_by_clinician)
        for item in items:
            rec = self.plan.get(f"{PLAN}-{item.key}", i, sp)
            rec.data["text"] = item.text
        if s.follow_up is not None:
            if self.follow_up is None:
                self.follow_up = _Rec("follow-up")
            self.follow_up.touch(i, sp)
            # a timed follow-up is not replaced by a bare "book a follow up"
            if s.follow_up != "Follow up" or "text" not in self.follow_up.data:
                self.follow_up.data["text"] = s.follow_up

    def _complaint(
        self, sents: list[SentenceFacts], i: int, sp: Speaker | None, *, priority: int
    ) -> None:
        if self.cc is not None and self.cc[0] <= priority:
            return
        names: list[str] = []
        onset: str | None = None
        for a in sents:
            for m in a.symptoms:
                if not m.negated and m.name not in names:
                    names.append(m.name)
                    onset = onset or m.onset
        phrase = next((a.complaint_phrase for a in sents if a.complaint_phrase), None)
        if names:
            text = _capital(", ".join(names[:3]))
            if onset:
                text += f" {_onset_phrase(onset)}"
        elif phrase:
            text = _capital(phrase)
        else:
            useful = [a for a in sents if a.conditions or len(a.norm.split()) >= 4]
            if not useful or priority > 1:
                return
            text = useful[0].display
        rec = _Rec("chief-complaint", data={"text": text}).touch(i, sp)
        self.cc = (priority, rec)
        self.cc_open_until = -1 if names or phrase else i + 2

    # --- output ---------------------------------------------------------------------

    def _ids(self, rec: _Rec) -> list[str]:
        out: list[str] = []
        for idx in sorted(rec.evidence):
            sid = self.segments[idx].id
            if sid not in out:
                out.append(sid)
        return out

    def _text_items(self, section: _Section) -> list[TextItem]:
        return [
            TextItem(id=r.id, evidence=self._ids(r), speaker=r.speaker, text=r.data["text"])
            for r in section.items.values()
        ]

    def _plan_items(self) -> list[TextItem]:
        out: list[TextItem] = []
        for r in self.plan.items.values():
            if "med" in r.data:
                med = self.meds.items[r.data["med"]].data
                parts = [_capital(r.data["verb"]), med["name"]]
                if r.data["verb"] != "stop":
                    parts += [p for p in (med["dose"], med["route"], med["frequency"]) if p]
                text = " ".join(parts)
            else:
                text = r.data["text"]
            out.append(TextItem(id=r.id, evidence=self._ids(r), speaker=r.speaker, text=text))
        return out

    def _build(self) -> ClinicalNote:
        allergies = list(self.allergies.items.values())
        # a drug allergy contradicts "no known drug allergies"; a food allergy does not
        if any(
            not r.data.get("no_known_allergies") and is_drug_allergen(r.data["substance"])
            for r in allergies
        ):
            allergies = [r for r in allergies if not r.data.get("no_known_allergies")]
        cc = self.cc[1] if self.cc is not None else None

        def item(cls: Callable[..., Any], r: _Rec) -> Any:
            return cls(id=r.id, evidence=self._ids(r), speaker=r.speaker, **r.data)

        return ClinicalNote(
            chief_complaint=item(TextItem, cc) if cc is not None else None,
            history_of_present_illness=self._text_items(self.hpi),
            symptoms=[item(Symptom, r) for r in self.symptoms.items.values()],
            medications=[item(Medication, r) for r in self.meds.items.values()],
            allergies=[item(Allergy, r) for r in allergies],
            vitals=[item(Vital, r) for r in self.vitals.items.values()],
            past_medical_history=self._text_items(self.pmh),
            family_history=self._text_items(self.fh),
            social_history=self._text_items(self.soc),
            examination=self._text_items(self.exam),
            assessment=[item(Diagnosis, r) for r in self.dx.items.values()],
            plan=self._plan_items(),
            follow_up=item(TextItem, self.follow_up) if self.follow_up is not None else None,
        )


def merge(segments: Sequence[Segment], facts: Sequence[SegmentFacts]) -> ClinicalNote:
    """The note of a whole transcript, from each segment's parsed facts."""
    return _Merger(segments, facts).run()
