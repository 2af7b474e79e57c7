"""The local extractor end to end: segments in, ClinicalNote out.

Every sentence here is written for these tests; none comes from a data set.
"""

from __future__ import annotations

import time

import pytest

from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.local import LocalExtractor, extract_note
from drtranscribe.extraction.rules.parse import SegmentParser
from tests.segments import segment

pytestmark = pytest.mark.unit

Turn = tuple[Speaker | None, str]


def seg(i: int, text: str, speaker: Speaker | None = None) -> Segment:
    return segment(i, text, speaker)


def segs(*turns: Turn | str) -> list[Segment]:
    out: list[Segment] = []
    for i, t in enumerate(turns):
        speaker, text = (None, t) if isinstance(t, str) else t
        out.append(seg(i, text, speaker))
    return out


def note(*turns: Turn | str) -> ClinicalNote:
    return extract_note(segs(*turns), parser=SegmentParser())


def symptom(n: ClinicalNote, name: str) -> dict[str, object]:
    found = [s for s in n.symptoms if s.name == name]
    assert found, f"no symptom {name!r} in {[s.name for s in n.symptoms]}"
    return found[0].model_dump()


def symptom_names(n: ClinicalNote) -> set[str]:
    return {s.name for s in n.symptoms}


# --- the extractor port ---------------------------------------------------------------


async def test_local_extractor_runs_through_the_port() -> None:
    extractor = LocalExtractor(parser=SegmentParser())
    request = ExtractionRequest(
        note=ClinicalNote(),
        segments=segs(("patient", "I've had a cough for three days.")),
        changed=frozenset({"seg-0000"}),
    )
    result = await extractor.extract(request)
    assert extractor.name == "local"
    assert [s.id for s in result.symptoms] == ["sym-cough"]


async def test_many_uncached_segments_are_parsed_off_the_event_loop_with_the_same_result() -> None:
    turns = [seg(i, f"I have had a cough for {i + 2} days.", "patient") for i in range(40)]
    extractor = LocalExtractor(parser=SegmentParser(), inline_max_uncached=4)
    request = ExtractionRequest(note=ClinicalNote(), segments=turns)
    result = await extractor.extract(request)
    assert result == extract_note(turns, parser=SegmentParser())
    assert symptom(result, "cough")["onset"] == "41 days"


def test_empty_transcript_gives_empty_note() -> None:
    assert note().is_empty()
    assert note(("clinician", "Good morning, have a seat.")).is_empty()


def test_same_segments_give_the_same_note() -> None:
    turns: tuple[Turn, ...] = (
        ("clinician", "Any fever?"),
        ("patient", "Yes, since yesterday, and a headache."),
        ("clinician", "Let's start you on ibuprofen 400 mg every 6 hours as needed."),
    )
    assert note(*turns) == note(*turns)
    assert extract_note(segs(*turns)) == extract_note(segs(*turns))  # shared cache


def test_revised_segment_text_gives_the_rederived_note() -> None:
    parser = SegmentParser()
    first = [seg(0, "I've had a fever", "patient")]
    assert symptom_names(extract_note(first, parser=parser)) == {"fever"}
    revised = [seg(0, "I've had a fever and a cough", "patient")]
    n = extract_note(revised, parser=parser)
    assert symptom_names(n) == {"fever", "cough"}
    again = [seg(0, "I haven't had a fever", "patient")]
    assert symptom(extract_note(again, parser=parser), "fever")["negated"] is True


def test_update_is_cheap_on_a_long_transcript() -> None:
    lines: list[tuple[Speaker, str]] = [
        ("clinician", "Any chest pain or shortness of breath when you walk up the stairs?"),
        ("patient", "No, but I've had a cough for about three days and my throat is sore."),
        ("clinician", "Are you taking anything for it at the moment, like Tylenol or Advil?"),
        ("patient", "I take metformin five hundred milligrams twice a day for my diabetes."),
    ]
    turns = [seg(i, f"{lines[i % 4][1]} Point {i}.", lines[i % 4][0]) for i in range(160)]
    assert sum(len(t.text.split()) for t in turns) > 2000
    parser = SegmentParser()
    extract_note(turns, parser=parser)
    timings = []
    for r in range(5):
        revised = [*turns[:-1], turns[-1].model_copy(update={"text": turns[-1].text + f" ok {r}"})]
        started = time.perf_counter()
        extract_note(revised, parser=parser)
        timings.append(time.perf_counter() - started)
    # generous bound for slow CI machines; typically ~2 ms
    assert min(timings) < 0.05


def test_parse_cache_is_bounded() -> None:
    parser = SegmentParser(maxsize=3)
    extract_note([seg(i, f"cough number {i}") for i in range(10)], parser=parser)
    assert len(parser) == 3
    assert "cough number 9" in parser
    assert "cough number 0" not in parser


# --- ids, evidence, speaker -------------------------------------------------------------


def test_same_fact_again_updates_one_item_and_evidence_accumulates_in_order() -> None:
    n = note(
        ("patient", "I've had a cough."),
        ("clinician", "Okay."),
        ("patient", "The cough is worse at night, and I've had it for a week."),
        ("patient", "Coughing a lot, yes, coughing."),
    )
    coughs = [s for s in n.symptoms if s.name == "cough"]
    assert len(coughs) == 1
    assert coughs[0].id == "sym-cough"
    assert coughs[0].evidence == ["seg-0000", "seg-0002", "seg-0003"]
    assert coughs[0].onset == "1 week"
    assert coughs[0].speaker == "patient"


def test_speaker_is_none_when_unknown() -> None:
    n = note("I've had a headache.")
    assert n.symptoms[0].speaker is None


def test_evidence_has_no_duplicate_segment_ids() -> None:
    n = note(("patient", "Cough. Cough again. And more cough."))
    assert n.symptoms[0].evidence == ["seg-0000"]


# --- symptoms and negation ----------------------------------------------------------------


def test_no_fever_or_chills_negates_both() -> None:
    n = note(("patient", "No fever or chills."))
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "chills")["negated"] is True


def test_negation_scope_stops_at_but() -> None:
    n = note("He denies chest pain but has a cough.")
    assert symptom(n, "chest pain")["negated"] is True
    assert symptom(n, "cough")["negated"] is False


def test_hasnt_had_any_cough_is_negated() -> None:
    n = note(("patient", "She hasn't had any cough."))
    assert symptom(n, "cough")["negated"] is True


def test_more_negation_triggers() -> None:
    n = note(
        "I haven't had any nausea.",
        "Negative for vomiting.",
        "Never had a rash.",
        "Without any wheezing.",
        "Free of headaches now.",
    )
    for name in ("nausea", "vomiting", "rash", "wheezing", "headache"):
        assert symptom(n, name)["negated"] is True, name


def test_negation_scope_ends_at_sentence_end() -> None:
    n = note(("patient", "I don't have a fever. I have a sore throat."))
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "sore throat")["negated"] is False


def test_pseudo_negation_does_not_negate() -> None:
    n = note(("patient", "The cough is not getting any better."))
    assert symptom(n, "cough")["negated"] is False


def test_answer_no_then_symptom_is_not_negated() -> None:
    n = note(("patient", "No, I have a headache."))
    assert symptom(n, "headache")["negated"] is False


def test_later_affirmation_wins_with_same_id() -> None:
    n = note(
        ("patient", "No fever."),
        ("patient", "Actually I did have a fever last night."),
    )
    fevers = [s for s in n.symptoms if s.name == "fever"]
    assert len(fevers) == 1
    assert fevers[0].negated is False
    assert fevers[0].evidence == ["seg-0000", "seg-0001"]


def test_synonyms_map_to_one_canonical_symptom() -> None:
    n = note(
        ("patient", "I get short of breath."),
        ("patient", "The shortness of breath is worse on stairs."),
        ("patient", "I feel breathless."),
    )
    assert [s.name for s in n.symptoms] == ["shortness of breath"]
    assert n.symptoms[0].id == "sym-shortness-of-breath"


def test_pain_by_body_part() -> None:
    n = note(("patient", "My left knee hurts and I have pain in my lower back."))
    assert {"knee pain", "back pain"} <= symptom_names(n)


def test_onset_and_severity() -> None:
    n = note(
        ("patient", "I've had a severe headache for three days."),
        ("patient", "The sore throat started since last week, it's mild."),
        ("patient", "My chest pain is 8 out of 10."),
    )
    assert symptom(n, "headache")["onset"] == "3 days"
    assert symptom(n, "headache")["severity"] == "severe"
    assert symptom(n, "sore throat")["onset"] == "since last week"
    assert symptom(n, "sore throat")["severity"] == "mild"
    assert symptom(n, "chest pain")["severity"] == "8/10"


def test_hypothetical_symptom_is_not_a_finding() -> None:
    n = note(("clinician", "If you develop a fever, come back and see me."))
    assert "fever" not in symptom_names(n)


def test_clinician_question_answered_no_negates() -> None:
    n = note(
        ("clinician", "Any fever or chills?"),
        ("patient", "No."),
    )
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "chills")["negated"] is True
    assert symptom(n, "fever")["evidence"] == ["seg-0000", "seg-0001"]
    assert symptom(n, "fever")["speaker"] == "patient"


def test_clinician_question_answered_nope_and_not_really() -> None:
    n = note(
        ("clinician", "Any nausea?"),
        ("patient", "Nope."),
        ("clinician", "Have you been wheezing?"),
        ("patient", "Not really."),
    )
    assert symptom(n, "nausea")["negated"] is True
    assert symptom(n, "wheezing")["negated"] is True


def test_clinician_question_answered_yes_affirms() -> None:
    n = note(
        ("clinician", "Do you have a headache?"),
        ("patient", "Yeah, for about two days."),
    )
    assert symptom(n, "headache")["negated"] is False
    assert symptom(n, "headache")["onset"] == "2 days"


def test_question_without_answer_adds_nothing() -> None:
    n = note(("clinician", "Any fever?"), ("clinician", "Let me check your ears."))
    assert "fever" not in symptom_names(n)


def test_question_answer_with_unknown_speakers_uses_the_question_mark() -> None:
    n = note("Any vomiting?", "No.", "Any diarrhea?", "Yes.")
    assert symptom(n, "vomiting")["negated"] is True
    assert symptom(n, "diarrhea")["negated"] is False


def test_question_and_answer_in_one_unknown_speaker_segment() -> None:
    n = note("Any chest pain? No.")
    assert symptom(n, "chest pain")["negated"] is True


def test_answer_names_its_own_symptom() -> None:
    n = note(
        ("clinician", "Any fever or cough?"),
        ("patient", "No fever, but I do have a cough."),
    )
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "cough")["negated"] is False


def test_pain_scale_answer() -> None:
    n = note(
        ("patient", "My back hurts."),
        ("clinician", "On a scale of 1 to 10, how bad is the back pain?"),
        ("patient", "About a 7."),
    )
    assert symptom(n, "back pain")["severity"] == "7/10"


def test_duration_said_after_the_symptom() -> None:
    n = note(
        ("patient", "I've got a rash on my arm."),
        ("patient", "It started three days ago."),
    )
    assert symptom(n, "rash")["onset"] == "3 days ago"


# --- family history --------------------------------------------------------------------------


def test_mothers_diabetes_is_family_history_not_the_patients() -> None:
    n = note(("patient", "My mother has diabetes."))
    assert [(f.id, f.text) for f in n.family_history] == [
        ("fh-mother-diabetes", "Mother: diabetes")
    ]
    assert n.assessment == []
    assert n.past_medical_history == []
    assert n.symptoms == []


def test_family_and_own_history_in_one_sentence() -> None:
    n = note(("patient", "My dad had a heart attack, and I have high blood pressure."))
    assert [f.text for f in n.family_history] == ["Father: myocardial infarction"]
    assert [p.text for p in n.past_medical_history] == ["Hypertension"]


def test_family_history_question_answered() -> None:
    n = note(
        ("clinician", "Does anyone in your family have heart disease?"),
        ("patient", "No."),
    )
    assert [f.text for f in n.family_history] == ["No family history of coronary artery disease"]


def test_relatives_symptoms_are_not_the_patients() -> None:
    n = note(("patient", "My son has had a cough all week."))
    assert "cough" not in symptom_names(n)


# --- medications ---------------------------------------------------------------------------


def test_corrected_dose_is_one_item_with_the_new_dose() -> None:
    n = note(
        ("patient", "I take metformin five hundred milligrams."),
        ("patient", "Actually it's a thousand milligrams."),
    )
    assert len(n.medications) == 1
    med = n.medications[0]
    assert med.id == "med-metformin"
    assert med.dose == "1000 mg"
    assert med.evidence == ["seg-0000", "seg-0001"]


def test_corrected_dose_in_the_same_segment() -> None:
    n = note(
        ("patient", "Metformin five hundred milligrams... actually it's a thousand milligrams.")
    )
    assert [(m.id, m.dose) for m in n.medications] == [("med-metformin", "1000 mg")]


def test_stopped_and_started_drugs() -> None:
    n = note(
        ("patient", "I stopped taking lisinopril."),
        ("clinician", "Let's start you on amoxicillin 500 mg three times a day."),
    )
    by_id = {m.id: m for m in n.medications}
    assert by_id["med-lisinopril"].status == "stopped"
    amox = by_id["med-amoxicillin"]
    assert (amox.status, amox.dose, amox.frequency) == ("started", "500 mg", "three times a day")
    assert [(p.id, p.text) for p in n.plan] == [
        ("plan-start-amoxicillin", "Start amoxicillin 500 mg three times a day")
    ]


def test_patient_stopping_a_drug_is_not_a_plan() -> None:
    n = note("I stopped taking lisinopril last month.")
    assert n.medications[0].status == "stopped"
    assert n.plan == []


def test_brand_names_map_to_generics() -> None:
    n = note(("patient", "I take Tylenol, Advil and my Ventolin inhaler."))
    assert [m.id for m in n.medications] == [
        "med-acetaminophen",
        "med-ibuprofen",
        "med-salbutamol",
    ]
    assert n.medications[2].route == "inhaled"


def test_abbreviated_frequencies() -> None:
    n = note(
        ("clinician", "Metformin 500 mg TID."),
        ("clinician", "Atorvastatin 20 mg once daily."),
        ("clinician", "Salbutamol two puffs PRN."),
    )
    by_id = {m.id: m for m in n.medications}
    assert by_id["med-metformin"].frequency == "three times a day"
    assert by_id["med-atorvastatin"].dose == "20 mg"
    assert by_id["med-atorvastatin"].frequency == "once a day"
    assert by_id["med-salbutamol"].dose == "2 puffs"
    assert by_id["med-salbutamol"].frequency == "as needed"


def test_drug_not_taken_is_no_medication() -> None:
    n = note(("patient", "I'm not taking any aspirin."))
    assert n.medications == []


def test_drug_in_a_question_needs_an_answer() -> None:
    n = note(
        ("clinician", "Are you taking any ibuprofen?"),
        ("patient", "No."),
        ("clinician", "And are you still on the atorvastatin?"),
        ("patient", "Yes."),
    )
    assert [m.id for m in n.medications] == ["med-atorvastatin"]
    assert n.medications[0].evidence == ["seg-0002", "seg-0003"]


# --- allergies -----------------------------------------------------------------------------


def test_no_known_allergies() -> None:
    for text in ("No known allergies.", "No known drug allergies.", "NKDA."):
        n = note(("patient", text))
        assert len(n.allergies) == 1, text
        a = n.allergies[0]
        assert a.no_known_allergies is True
        assert a.substance == "no known drug allergies"
        assert a.id == "alg-no-known-drug-allergies"


def test_allergy_with_reaction_is_not_a_medication_or_symptom() -> None:
    n = note(("patient", "I'm allergic to penicillin, it gives me a rash."))
    assert [(a.id, a.substance, a.reaction) for a in n.allergies] == [
        ("alg-penicillin", "penicillin", "rash")
    ]
    assert n.medications == []
    assert "rash" not in symptom_names(n)


def test_allergy_question_answered_no() -> None:
    n = note(("clinician", "Do you have any allergies?"), ("patient", "No."))
    assert [a.id for a in n.allergies] == ["alg-no-known-drug-allergies"]
    assert n.allergies[0].evidence == ["seg-0000", "seg-0001"]


def test_allergy_question_answered_with_a_drug_and_reaction_next_turn() -> None:
    n = note(
        ("clinician", "Any allergies to medications?"),
        ("patient", "Sulfa drugs."),
        ("clinician", "What happens when you take them?"),
        ("patient", "I break out in hives."),
    )
    assert [(a.substance, a.reaction) for a in n.allergies] == [("sulfa drugs", "hives")]
    assert n.medications == []


def test_real_allergy_replaces_no_known_allergies() -> None:
    n = note(("patient", "No known allergies."), ("patient", "Oh wait, I'm allergic to codeine."))
    assert [a.substance for a in n.allergies] == ["codeine"]


def test_not_allergic_to_a_drug_is_no_allergy() -> None:
    n = note(("patient", "I'm not allergic to penicillin."))
    assert n.allergies == []


def test_echo_then_no_is_no_known_allergies() -> None:
    n = note(
        ("clinician", "Do you have allergies to anything?"),
        ("patient", "Um, allergies... let me think. No."),
    )
    assert [a.id for a in n.allergies] == ["alg-no-known-drug-allergies"]


def test_no_but_a_drug_names_the_allergy_not_nkda() -> None:
    n = note(("clinician", "Any drug allergies?"), ("patient", "No, only to amoxicillin."))
    assert [a.substance for a in n.allergies] == ["amoxicillin"]
    assert n.medications == []


def test_no_drug_allergies_stands_next_to_a_food_allergy() -> None:
    n = note(
        ("clinician", "Are you allergic to any medications?"),
        ("patient", "No, but I'm allergic to peanuts."),
    )
    assert sorted(a.substance for a in n.allergies) == ["no known drug allergies", "peanuts"]


def test_drug_allergy_said_later_still_replaces_no_known_allergies() -> None:
    n = note(
        ("clinician", "Any allergies?"),
        ("patient", "No."),
        ("patient", "Actually, I'm allergic to morphine and shellfish."),
    )
    assert sorted(a.substance for a in n.allergies) == ["morphine", "shellfish"]


def test_chart_allergy_confirmed_by_the_patient() -> None:
    n = note(
        ("clinician", "Your chart lists a sulfa allergy, is that still the case?"),
        ("patient", "Yes."),
    )
    assert [a.substance for a in n.allergies] == ["sulfa drugs"]
    n = note(
        ("clinician", "No allergies on file for you, correct?"),
        ("patient", "Correct."),
    )
    assert [a.substance for a in n.allergies] == ["no known drug allergies"]


def test_chart_allergy_denied_by_the_patient_is_not_kept() -> None:
    n = note(
        ("clinician", "It says here you're allergic to codeine, is that right?"),
        ("patient", "No, that was my sister."),
    )
    assert "codeine" not in [a.substance for a in n.allergies]


def test_asker_confirming_a_clarification_keeps_the_question_open() -> None:
    n = note(
        ("clinician", "Any allergies to medicines?"),
        ("patient", "Pardon, for medicines?"),
        ("clinician", "Yep."),
        ("patient", "None that I know of."),
    )
    assert [a.id for a in n.allergies] == ["alg-no-known-drug-allergies"]


def test_drug_for_allergies_is_a_medication() -> None:
    n = note(
        ("clinician", "Do you take anything for the allergies?"),
        ("patient", "Zyrtec, most days."),
    )
    assert [m.name for m in n.medications] == ["cetirizine"]
    assert n.allergies == []


def test_photophobia_is_not_an_allergy_and_keeps_nkda() -> None:
    n = note(
        ("clinician", "Do bright lights bother you?"),
        ("patient", "Yes, I'm quite sensitive to light."),
        ("clinician", "Any allergies to medication?"),
        ("patient", "No, none at all."),
    )
    assert [a.substance for a in n.allergies] == ["no known drug allergies"]


# --- questions that speech recognition flattened ----------------------------------------


def test_checklist_without_question_mark_is_a_question() -> None:
    n = note(("clinician", "alright so cough headache"), ("patient", "nope"))
    assert symptom(n, "cough")["negated"] is True
    assert symptom(n, "headache")["negated"] is True


def test_clinician_finding_with_words_is_not_a_checklist() -> None:
    n = note(("clinician", "You have a cough and a headache."), ("patient", "No."))
    assert symptom(n, "cough")["negated"] is False


def test_embedded_question_without_question_mark() -> None:
    n = note(
        ("clinician", "alright and have you been getting a fever or chills"),
        ("patient", "um no i haven't"),
    )
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "chills")["negated"] is True


def test_one_symptom_and_everything_else_fine() -> None:
    n = note(
        ("clinician", "Any fever, chills, or cough?"),
        ("patient", "A little cough, but everything else has been fine."),
    )
    assert symptom(n, "cough")["negated"] is False
    assert symptom(n, "fever")["negated"] is True
    assert symptom(n, "chills")["negated"] is True


def test_one_symptom_named_leaves_the_others_unknown() -> None:
    n = note(("clinician", "Any fever, chills, or cough?"), ("patient", "A little cough."))
    assert symptom(n, "cough")["negated"] is False
    assert "fever" not in symptom_names(n)


# --- vitals --------------------------------------------------------------------------------


def test_spoken_vitals() -> None:
    n = note(
        ("clinician", "Blood pressure is one forty over ninety."),
        ("clinician", "Temp of thirty eight point five."),
        ("clinician", "Sats ninety six percent."),
        ("clinician", "Heart rate 88."),
        ("clinician", "Respiratory rate is sixteen and she weighs seventy two kilos."),
    )
    got = {v.id: (v.value, v.unit) for v in n.vitals}
    assert got == {
        "vit-blood_pressure": ("140/90", "mmHg"),
        "vit-temperature": ("38.5", "°C"),
        "vit-spo2": ("96", "%"),
        "vit-heart_rate": ("88", "bpm"),
        "vit-respiratory_rate": ("16", "/min"),
        "vit-weight": ("72", "kg"),
    }


def test_latest_vital_wins_and_rests_on_its_own_segment() -> None:
    n = note(
        ("clinician", "Blood pressure is 150 over 95."),
        ("clinician", "Let me repeat it. Blood pressure now 130 over 85."),
    )
    assert len(n.vitals) == 1
    assert n.vitals[0].value == "130/85"
    assert n.vitals[0].evidence == ["seg-0001"]


def test_duration_is_not_a_temperature() -> None:
    n = note(("patient", "I've had a fever for three days."))
    assert n.vitals == []


def test_fahrenheit_temperature() -> None:
    n = note(("clinician", "Her temperature was 101.5 degrees."))
    assert [(v.value, v.unit) for v in n.vitals] == [("101.5", "°F")]


# --- chief complaint, history, assessment, plan -----------------------------------------------


def test_chief_complaint_from_the_answer_to_the_opening_question() -> None:
    n = note(
        ("clinician", "Hi, what brings you in today?"),
        ("patient", "I've had a sore throat and a fever for two days."),
        ("patient", "I'm also here because of my knee."),
    )
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "Sore throat, fever for 2 days"
    assert n.chief_complaint.evidence == ["seg-0001"]


def test_chief_complaint_from_im_here_because() -> None:
    n = note(("patient", "Hello. I'm here because of a rash on my arm."))
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "Rash"


def test_chief_complaint_without_a_known_symptom_names_the_reason() -> None:
    n = note(
        ("clinician", "How can I help you today?"),
        ("patient", "I'm here to renew my prescriptions."),
    )
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "Renew my prescriptions"


def test_chief_complaint_quotes_an_answer_without_cue_or_symptom() -> None:
    n = note(
        ("clinician", "What can I do for you?"),
        ("patient", "Well, my sugar readings at home have been high lately."),
    )
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "My sugar readings at home have been high lately."


def test_chief_complaint_from_the_clinicians_summary() -> None:
    n = note(
        ("clinician", "Good morning."),
        ("clinician", "Ms Park is a 44 year old teacher who presents for her yearly physical."),
    )
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "Yearly physical"
    assert n.chief_complaint.speaker == "clinician"


def test_past_medical_history() -> None:
    n = note(("patient", "I have asthma and a history of high cholesterol."))
    assert [(p.id, p.text) for p in n.past_medical_history] == [
        ("pmh-asthma", "Asthma"),
        ("pmh-hyperlipidemia", "Hyperlipidemia"),
    ]


def test_assessment_certainty() -> None:
    n = note(
        ("clinician", "I think this is most likely a viral infection."),
        ("clinician", "I don't think it's strep throat."),
        ("clinician", "The x-ray confirms pneumonia."),
    )
    got = {d.id: d.certainty for d in n.assessment}
    assert got == {
        "dx-viral-infection": "suspected",
        "dx-strep-throat": "ruled_out",
        "dx-pneumonia": "confirmed",
    }


def test_patient_guess_is_not_an_assessment() -> None:
    n = note(("patient", "I think it might be the flu."))
    assert n.assessment == []


def test_plan_items_and_follow_up() -> None:
    n = note(
        ("clinician", "We'll get a chest x-ray and some blood work."),
        ("clinician", "I'd like to refer you to cardiology."),
        ("clinician", "Make sure you drink plenty of fluids and rest."),
        ("clinician", "Come back and see me in two weeks."),
    )
    ids = [p.id for p in n.plan]
    assert ids == [
        "plan-test-chest-x-ray",
        "plan-test-blood-tests",
        "plan-refer-cardiology",
        "plan-fluids",
        "plan-rest",
    ]
    assert n.follow_up is not None
    assert n.follow_up.text == "Follow up in 2 weeks"


def test_patient_speech_is_not_a_plan() -> None:
    n = note(("patient", "I should drink more water and get a chest x-ray."))
    assert n.plan == []


def test_examination_finding_and_intention() -> None:
    n = note(
        ("clinician", "I'm going to listen to your lungs now."),
        ("clinician", "Your lungs sound clear, no wheezing."),
    )
    assert [(e.id, e.evidence) for e in n.examination] == [("exam-respiratory", ["seg-0001"])]


def test_social_history() -> None:
    n = note(
        ("clinician", "Do you smoke?"),
        ("patient", "No."),
        ("clinician", "Do you drink alcohol?"),
        ("patient", "Yeah, a couple of beers a week."),
        ("patient", "I work as a teacher and I live with my wife."),
    )
    got = {s.id: s.text for s in n.social_history}
    assert got == {
        "soc-smoking": "Does not smoke",
        "soc-alcohol": "Drinks alcohol, a couple of beers a week",
        "soc-occupation": "Works as a teacher",
        "soc-living": "Lives with my wife",
    }


# --- conversational patterns -----------------------------------------------------------------


def test_tag_question_after_a_plan_is_still_a_plan() -> None:
    n = note(("clinician", "We'll get a chest x-ray today, does that sound okay?"))
    assert [p.id for p in n.plan] == ["plan-test-chest-x-ray"]


def test_findings_during_the_examination_are_not_symptoms() -> None:
    n = note(
        ("patient", "My knee hurts."),
        ("clinician", "Now I'll examine you. There is some swelling around both ankles."),
    )
    assert symptom_names(n) == {"knee pain"}
    assert [e.id for e in n.examination] == ["exam-general"]


def test_symptom_already_known_in_a_question_is_not_negated_by_no() -> None:
    n = note(
        ("patient", "I've had a cough for a week."),
        ("clinician", "Besides that cough, anything else bothering you?"),
        ("patient", "No."),
    )
    assert symptom(n, "cough")["negated"] is False


def test_yes_naming_one_symptom_affirms_only_that_one() -> None:
    n = note(("clinician", "Any fever or chills?"), ("patient", "Yeah, some chills at night."))
    assert symptom(n, "chills")["negated"] is False
    assert "fever" not in symptom_names(n)


def test_bare_yeah_then_no_is_a_no() -> None:
    n = note(("clinician", "Any wheezing?"), ("patient", "Yes. Well no, not really."))
    assert symptom(n, "wheezing")["negated"] is True


def test_not_for_a_while_is_a_no() -> None:
    n = note(("clinician", "Have you had a seizure lately?"), ("patient", "Not for a while now."))
    assert symptom(n, "seizure")["negated"] is True


def test_vomiting_blood_denied_leaves_vomiting_alone() -> None:
    n = note(
        ("patient", "I threw up twice yesterday."),
        ("clinician", "Is there blood in your vomit?"),
        ("patient", "No."),
    )
    assert symptom(n, "vomiting")["negated"] is False
    assert symptom(n, "vomiting blood")["negated"] is True


def test_clinician_advice_and_prognosis_are_not_symptoms() -> None:
    n = note(
        ("clinician", "You can take Tylenol for the fever."),
        ("clinician", "After the shot you might get some swelling."),
    )
    assert symptom_names(n) == set()
    assert [m.id for m in n.medications] == ["med-acetaminophen"]


def test_the_speakers_own_relative_is_not_family_history() -> None:
    n = note(
        ("clinician", "My own aunt had breast cancer, so I understand the worry."),
        ("patient", "My father had colon cancer."),
    )
    assert [f.text for f in n.family_history] == ["Father: colon cancer"]


def test_other_allergies_besides_a_known_one() -> None:
    n = note(
        ("clinician", "Apart from the penicillin, are you allergic to anything else?"),
        ("patient", "Nothing else."),
    )
    assert [(a.substance, a.no_known_allergies) for a in n.allergies] == [("penicillin", False)]


def test_clinician_summary_gives_chief_complaint_and_history_list() -> None:
    n = note(
        (
            "clinician",
            "Mr Lee, 70, has a medical history of asthma, hypothyroidism and gout "
            "and comes in today with joint pain.",
        ),
    )
    assert n.chief_complaint is not None
    assert n.chief_complaint.text == "Joint pain"
    assert [p.text for p in n.past_medical_history] == ["Asthma", "Hypothyroidism", "Gout"]


def test_assessment_problem_by_problem() -> None:
    n = note(("clinician", "Regarding your high blood pressure, carry on with the lisinopril."))
    assert [(d.id, d.certainty) for d in n.assessment] == [("dx-hypertension", "confirmed")]
    assert n.medications[0].status == "current"


def test_spelled_out_abbreviation_and_tokenised_contraction() -> None:
    n = note(("patient", "I was told I have I B S. I do n't have a fever."))
    assert [p.text for p in n.past_medical_history] == ["Irritable bowel syndrome"]
    assert symptom(n, "fever")["negated"] is True
