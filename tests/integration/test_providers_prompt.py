"""The pure parts of the providers: incremental prompt selection, the compact note, the
strict answer schema, answer validation, merging the changes, drafts, Retry-After parsing
and the WAV upload encoding.

No server here (hence the ``unit`` marker); kept next to the provider tests that rely on
these pieces.
"""

from __future__ import annotations

import io
import wave
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import BaseModel

from drtranscribe.domain.note import (
    Allergy,
    ClinicalNote,
    Diagnosis,
    Medication,
    Symptom,
    TextItem,
    Vital,
)
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.drafts import adopt, confirmed, with_drafts
from drtranscribe.extraction.llm_note import (
    NoteChanges,
    merge_changes,
    overlay,
    parse_changes,
    strict_note_schema,
)
from drtranscribe.extraction.llm_prompt import (
    build_messages,
    build_prompt,
    note_for_prompt,
    segment_aliases,
    select_segments,
)
from drtranscribe.extraction.local import extract_note
from drtranscribe.transcription.base import wav_bytes
from drtranscribe.vendors.openai.client import retry_after_seconds
from tests.segments import segment

pytestmark = pytest.mark.unit


def seg(i: int, text: str = "", speaker: Any = None) -> Segment:
    return Segment(
        id=f"s{i}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text or f"text {i}",
        start=float(i),
        end=float(i + 1),
        provider="t",
        latency_ms=0.0,
        speaker=speaker,
    )


SEGMENTS = [seg(i) for i in range(10)]


# ---------------------------------------------------------------------------- selection


@pytest.mark.parametrize(
    ("changed", "window", "context", "sent"),
    [
        ({"s8", "s9"}, 3, ["s5", "s6", "s7"], ["s8", "s9"]),
        ({"s9", "s8"}, 0, [], ["s8", "s9"]),
        ({"s1"}, 3, ["s0"], ["s1"]),
        ({"s0"}, 3, [], ["s0"]),
        ({"s2", "s9"}, 2, ["s0", "s1"], ["s2", "s9"]),
        ({"s5", "unknown"}, 1, ["s4"], ["s5"]),
        ({"unknown"}, 3, [], []),
        (set(), 3, [], []),
    ],
)
def test_select_segments(
    changed: set[str], window: int, context: list[str], sent: list[str]
) -> None:
    got_context, got_sent = select_segments(SEGMENTS, changed, window)
    assert [s.id for s in got_context] == context
    assert [s.id for s in got_sent] == sent


def test_the_prompt_carries_note_context_and_new_segments_in_order() -> None:
    note = ClinicalNote(symptoms=[Symptom(id="sym-cough", evidence=["s1"], name="cough")])
    segments = [seg(0, "hello"), seg(1, "I  have\na cough", "patient"), seg(2, "since when?")]
    request = ExtractionRequest(note=note, segments=segments, changed=frozenset({"s2"}))
    prompt = build_prompt(request, context_segments=1)
    assert prompt.changed_ids == ("s2",)
    assert prompt.context_ids == ("s1",)
    assert prompt.user == (
        "<note>\nsymptoms:\n- sym-cough: cough\n</note>\n"
        "<context>\n[s1] (patient) I have a cough\n</context>\n"
        "<new>\n[s2] since when?\n</new>"
    )
    assert build_messages(request, context_segments=1) == [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user},
    ]


def test_no_messages_when_nothing_changed() -> None:
    request = ExtractionRequest(note=ClinicalNote(), segments=SEGMENTS, changed=frozenset())
    assert build_messages(request) == []


# ---------------------------------------------------------------------------- schema


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def test_the_schema_is_in_the_strict_subset() -> None:
    schema = strict_note_schema()
    nodes = _walk(schema)
    objects = [n for n in nodes if "properties" in n]
    assert len(objects) == 7  # the changes and the note's six item models
    for obj in objects:
        assert obj["required"] == list(obj["properties"])
        assert obj["additionalProperties"] is False
    for node in nodes:
        assert "default" not in node
        assert "description" not in node  # billed on every call; the prompt says it once
        if "$ref" in node:
            assert set(node) == {"$ref"}
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(ClinicalNote.model_fields) | {"removed"}


def _item_schema(schema: dict[str, Any], section: str) -> dict[str, Any]:
    node: dict[str, Any] = schema["properties"][section]
    node = node["items"] if "items" in node else node["anyOf"][0]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def test_every_item_model_of_the_note_is_in_the_schema() -> None:
    schema = strict_note_schema()
    assert set(schema["$defs"]) == {"TextItem"}  # used 8 times; the others are in place
    models: list[tuple[str, type[BaseModel]]] = [
        ("symptoms", Symptom),
        ("medications", Medication),
        ("allergies", Allergy),
        ("vitals", Vital),
        ("assessment", Diagnosis),
        ("plan", TextItem),
        ("chief_complaint", TextItem),
    ]
    for section, model in models:
        # speaker and provisional are the server's to set
        assert set(_item_schema(schema, section)["properties"]) == set(model.model_fields) - {
            "speaker",
            "provisional",
        }
    onset = _item_schema(schema, "symptoms")["properties"]["onset"]
    assert onset == {"type": ["string", "null"]}  # nullable, as a type array


def test_the_schema_is_a_fresh_copy() -> None:
    first = strict_note_schema()
    first["properties"].clear()
    assert strict_note_schema()["properties"]


def test_a_full_strict_answer_validates() -> None:
    # What a strict-mode model returns: every field present, nulls for unknowns.
    changes = NoteChanges(
        symptoms=[Symptom(id="sym-a", name="a")],
        vitals=[Vital(id="vit-heart_rate", kind="heart_rate", value="80", unit="bpm")],
        removed=["sym-b"],
    )
    full = changes.model_dump_json()  # every field, defaults included
    assert parse_changes("p", full) == changes


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "content",
    [None, "", "   ", "not json", "[]", '{"symptoms": 1}', '{"extra": []}', '{"symptoms": [{}]}'],
)
def test_invalid_answers_are_retryable_invalid_responses(content: str | None) -> None:
    with pytest.raises(ProviderInvalidResponse) as info:
        parse_changes("p", content)
    assert info.value.retryable
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


def test_a_fenced_answer_is_unwrapped() -> None:
    assert parse_changes("p", '```json\n{"plan": []}\n```') == NoteChanges()


# ---------------------------------------------------------------------------- merge

NO_SPEAKERS: dict[str, Any] = {}


def test_kept_ids_win_and_renamed_items_get_their_old_id_back() -> None:
    previous = ClinicalNote(
        medications=[
            Medication(id="med-metformin", name="metformin"),
            Medication(id="med-aspirin", name="aspirin"),
        ],
        vitals=[Vital(id="vit-bp", kind="blood_pressure", value="140/90", unit="mmHg")],
        follow_up=TextItem(id="fu-2-weeks", text="in two weeks"),
    )
    answer = NoteChanges(
        medications=[
            Medication(id="m1", name="Aspirin", dose="75 mg"),
            Medication(id="med-metformin", name="metformin", dose="500 mg"),
            Medication(id="med-metformin", name="ramipril"),  # duplicate id
            Medication(id="", name="Lisinopril 10"),
        ],
        vitals=[Vital(id="vital-1", kind="blood_pressure", value="150/95", unit="mmHg")],
        follow_up=TextItem(id="fu-other", text="in three weeks"),
    )
    note = merge_changes(answer, previous=previous, speakers=NO_SPEAKERS)
    assert [m.id for m in note.medications] == [  # updated in place, new ones at the end
        "med-metformin",
        "med-aspirin",
        "med-ramipril",
        "med-lisinopril-10",
    ]
    assert [m.dose for m in note.medications[:2]] == ["500 mg", "75 mg"]
    assert [v.id for v in note.vitals] == ["vit-bp"]
    assert note.follow_up is not None
    assert (note.follow_up.id, note.follow_up.text) == ("fu-2-weeks", "in three weeks")


def test_a_claimed_old_id_is_not_given_twice() -> None:
    previous = ClinicalNote(symptoms=[Symptom(id="sym-cough", name="cough")])
    answer = NoteChanges(
        symptoms=[
            Symptom(id="x", name="Cough"),  # re-matched to sym-cough ...
            Symptom(id="sym-cough", name="cough", onset="2 days"),  # ... unless it is named
        ]
    )
    note = merge_changes(answer, previous=previous, speakers=NO_SPEAKERS)
    # "x" restates the same fact: one item, the statement naming its id first
    assert [(s.id, s.onset) for s in note.symptoms] == [("sym-cough", "2 days")]


def test_fresh_ids_do_not_collide() -> None:
    previous = ClinicalNote(plan=[TextItem(id="plan-rest", text="sleep more")])
    answer = NoteChanges(plan=[TextItem(id="", text="Rest")])
    note = merge_changes(answer, previous=previous, speakers=NO_SPEAKERS)
    assert [(p.id, p.text) for p in note.plan] == [
        ("plan-rest", "sleep more"),
        ("plan-rest-2", "Rest"),
    ]


def test_a_fact_given_twice_in_one_answer_is_one_item() -> None:
    answer = NoteChanges(
        medications=[
            Medication(id="", name="Aspirin", dose="75 mg", evidence=["s1"]),
            Medication(id="med-x", name="aspirin", dose="81 mg", evidence=["s2"]),
        ]
    )
    note = merge_changes(answer, previous=ClinicalNote(), speakers={"s1": None, "s2": None})
    assert [(m.id, m.dose, m.evidence) for m in note.medications] == [
        ("med-aspirin", "81 mg", ["s1", "s2"])  # the later statement's values
    ]
    # Whichever names the item's id, the statement later in the answer wins.
    previous = ClinicalNote(medications=[Medication(id="med-metformin", name="metformin")])
    by_id = Medication(id="med-metformin", name="metformin", dose="500 mg", evidence=["s1"])
    anew = Medication(id="", name="metformin", dose="1000 mg", evidence=["s3"])
    speakers: dict[str, Any] = {"s1": None, "s3": None}
    for order, dose in (([by_id, anew], "1000 mg"), ([anew, by_id], "500 mg")):
        note = merge_changes(NoteChanges(medications=order), previous=previous, speakers=speakers)
        assert [(m.id, m.dose) for m in note.medications] == [("med-metformin", dose)]
        assert sorted(note.medications[0].evidence) == ["s1", "s3"]


def test_evidence_keeps_known_segments_once_in_order() -> None:
    answer = NoteChanges(
        symptoms=[Symptom(id="sym-a", name="a", evidence=["s2", "zz", "s1", "s2"])],
        chief_complaint=TextItem(id="cc-a", text="a", evidence=["zz", "s1"]),
    )
    note = merge_changes(answer, previous=ClinicalNote(), speakers={"s1": None, "s2": None})
    assert note.symptoms[0].evidence == ["s2", "s1"]
    assert note.chief_complaint is not None
    assert note.chief_complaint.evidence == ["s1"]


# ---------------------------------------------------------------------------- edge helpers


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers)) == expected


def test_wav_upload_is_16_bit_mono_16k_and_clipped() -> None:
    audio = np.array([0.0, 0.5, -0.5, 2.0, -2.0, np.nan], dtype=np.float32)
    with wave.open(io.BytesIO(wav_bytes(audio))) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert samples.tolist() == [0, 16384, -16384, 32767, -32767, 0]


def test_the_prompt_shows_evidence_only_where_a_revised_segment_is_at_stake() -> None:
    note = ClinicalNote(
        symptoms=[
            Symptom(id="sym-cough", evidence=["s1"], name="cough", speaker="patient"),
            Symptom(id="sym-fever", evidence=["s0"], name="fever"),
        ]
    )
    segments = [seg(0, "fever"), seg(1, "a cough, I mean a cold"), seg(2, "new words")]
    request = ExtractionRequest(note=note, segments=segments, changed=frozenset({"s1", "s2"}))
    shown = build_prompt(request, context_segments=0).user
    assert "\n- sym-cough: cough | evidence: s1\n" in shown  # s1 was revised
    assert "\n- sym-fever: fever\n" in shown
    assert "patient" not in shown.split("</note>")[0]


def test_evidence_and_speaker_the_model_did_not_see_are_carried_over() -> None:
    previous = ClinicalNote(
        medications=[
            Medication(id="med-metformin", name="metformin", evidence=["s1"], speaker="patient")
        ]
    )
    answer = NoteChanges(
        medications=[
            Medication(id="med-metformin", name="metformin", dose="1000 mg", evidence=["s4"])
        ]
    )
    # No segment says who spoke: the speaker can only come from the previous version.
    note = merge_changes(answer, previous=previous, speakers={"s1": None, "s4": None})
    (med,) = note.medications
    assert (med.id, med.dose, med.evidence, med.speaker) == (
        "med-metformin",
        "1000 mg",
        ["s1", "s4"],
        "patient",
    )


def test_the_note_in_the_prompt_is_one_line_per_item_without_defaults_or_drafts() -> None:
    note = ClinicalNote(
        chief_complaint=TextItem(id="cc-chest-pain", text="chest  pain\nfor 3 days"),
        symptoms=[
            Symptom(id="sym-fever", name="fever", negated=True, onset="2 | 3 days"),
            Symptom(id="sym-rash", name="rash", provisional=True),
        ],
        medications=[Medication(id="med-metformin", name="metformin", dose="500 mg")],
        vitals=[Vital(id="vit-blood_pressure", kind="blood_pressure", value="140/90", unit="mmHg")],
    )
    assert note_for_prompt(note) == (
        "chief_complaint:\n- cc-chest-pain: chest pain for 3 days\n"
        "symptoms:\n- sym-fever: fever | onset: 2 / 3 days | negated\n"
        "medications:\n- med-metformin: metformin | dose: 500 mg\n"
        "vitals:\n- vit-blood_pressure: blood_pressure | value: 140/90 | unit: mmHg"
    )
    assert note_for_prompt(ClinicalNote()) == "(empty)"


def test_removed_ids_leave_the_note_unless_the_answer_also_updates_them() -> None:
    previous = ClinicalNote(
        chief_complaint=TextItem(id="cc-headache", text="headache"),
        symptoms=[Symptom(id="sym-cough", name="cough"), Symptom(id="sym-fever", name="fever")],
        allergies=[Allergy(id="alg-penicillin", substance="penicillin")],
    )
    answer = NoteChanges(
        symptoms=[Symptom(id="sym-fever", name="fever", negated=True)],
        removed=["sym-cough", "sym-fever", "cc-headache", "no-such-id"],
    )
    note = merge_changes(answer, previous=previous, speakers=NO_SPEAKERS)
    assert [(s.id, s.negated) for s in note.symptoms] == [("sym-fever", True)]
    assert note.chief_complaint is None
    assert note.allergies == previous.allergies  # untouched sections stand


def test_merged_items_are_confirmed_and_take_their_speaker_from_the_evidence() -> None:
    previous = ClinicalNote(symptoms=[Symptom(id="sym-rash", name="rash", provisional=True)])
    answer = NoteChanges(
        symptoms=[
            Symptom(id="sym-rash", name="rash", evidence=["s1"]),
            Symptom(id="sym-itch", name="itch", evidence=["s1", "s2"]),
            Symptom(id="sym-pain", name="pain", evidence=["s1", "s3"]),
        ]
    )
    speakers: dict[str, Any] = {"s1": "patient", "s2": None, "s3": "clinician"}
    note = merge_changes(answer, previous=previous, speakers=speakers)
    assert [(s.id, s.speaker, s.provisional) for s in note.symptoms] == [
        ("sym-rash", "patient", False),
        ("sym-itch", "patient", False),
        ("sym-pain", None, False),  # the evidence disagrees: unknown
    ]


def test_a_whole_note_answer_merges_to_itself() -> None:
    previous = ClinicalNote(
        symptoms=[Symptom(id="sym-cough", name="cough", evidence=["s1"])],
        plan=[TextItem(id="plan-rest", text="rest", evidence=["s2"])],
    )
    answer = NoteChanges.model_validate(previous.model_dump())
    speakers: dict[str, Any] = {"s1": None, "s2": None}
    assert merge_changes(answer, previous=previous, speakers=speakers) == previous


def test_server_segment_ids_are_shortened_in_the_prompt_and_back_in_the_answer() -> None:
    segments = [segment(i, f"words {i}") for i in (0, 3, 12)]
    assert segment_aliases(segments) == {"seg-0000": "0", "seg-0003": "3", "seg-0012": "12"}
    assert segment_aliases([*segments, seg(3)]) == {  # "s3" fine; but no collisions ever
        "seg-0000": "0",
        "seg-0003": "3",
        "seg-0012": "12",
        "s3": "s3",
    }
    clash = [segments[1], seg(0).model_copy(update={"id": "3"})]
    assert segment_aliases(clash) == {"seg-0003": "seg-0003", "3": "3"}
    note = ClinicalNote(symptoms=[Symptom(id="sym-x", name="x", evidence=["seg-0003"])])
    request = ExtractionRequest(note=note, segments=segments, changed=frozenset({"seg-0003"}))
    prompt = build_prompt(request, context_segments=1)
    assert prompt.user == (
        "<note>\nsymptoms:\n- sym-x: x | evidence: 3\n</note>\n"
        "<context>\n[0] words 0\n</context>\n<new>\n[3] words 3\n</new>"
    )
    answer = NoteChanges(symptoms=[Symptom(id="sym-y", name="y", evidence=["12", "3", "99"])])
    merged = merge_changes(
        answer,
        previous=ClinicalNote(),
        speakers={s.id: None for s in segments},
        segment_ids=prompt.segment_ids,
    )
    assert merged.symptoms[0].evidence == ["seg-0012", "seg-0003"]


# ---------------------------------------------------------------------------- drafts


def test_drafts_come_from_unread_segments_only_and_never_override_the_note() -> None:
    segments = [
        seg(0, "I take metformin 500 mg twice a day."),
        seg(1, "I also take aspirin 75 mg daily, and metformin 1000 mg now."),
        seg(2, "No known drug allergies."),
    ]
    note = ClinicalNote(
        medications=[Medication(id="med-metformin", name="metformin", dose="500 mg")],
        symptoms=[Symptom(id="sym-old-draft", name="old draft", provisional=True)],
        allergies=[Allergy(id="alg-1", substance="no known drug allergies")],  # same key
    )
    drafted = with_drafts(note, segments, {"s1", "s2"})
    assert [(m.id, m.dose, m.provisional) for m in drafted.medications] == [
        ("med-metformin", "500 mg", False),  # the confirmed item stands
        ("med-aspirin", "75 mg", True),
    ]
    assert [a.id for a in drafted.allergies] == ["alg-1"]  # a fact held under another id
    assert drafted.symptoms == []  # earlier drafts are replaced by this round's
    assert all("s0" not in m.evidence for m in drafted.medications if m.provisional)
    assert confirmed(drafted) == confirmed(note)
    assert with_drafts(note, segments, set()) == confirmed(note)
    fresh = with_drafts(ClinicalNote(), segments, {"s1", "s2"})
    assert [(a.no_known_allergies, a.provisional) for a in fresh.allergies] == [(True, True)]


def test_new_items_are_named_by_the_server_as_the_rules_name_them() -> None:
    answer = NoteChanges(
        chief_complaint=TextItem(id="complaint", text="Chest pain"),
        medications=[Medication(id="med-foo", name="Aspirin"), Medication(id="", name="Ibuprofen")],
        vitals=[Vital(id="vital-1", kind="blood_pressure", value="140/90", unit="mmHg")],
    )
    note = merge_changes(answer, previous=ClinicalNote(), speakers=NO_SPEAKERS)
    assert note.chief_complaint is not None
    assert note.chief_complaint.id == "chief-complaint"  # one per note, as the rules name it
    assert [m.id for m in note.medications] == ["med-aspirin", "med-ibuprofen"]
    assert [v.id for v in note.vitals] == ["vit-blood_pressure"]  # as the rules name vitals
    drafted = with_drafts(ClinicalNote(), [seg(0, "I take aspirin 75 mg daily.")], {"s0"})
    assert [m.id for m in drafted.medications] == ["med-aspirin"]  # the same id as a draft


def test_drafts_leave_free_text_to_the_llm_and_the_chief_complaint_to_the_opening() -> None:
    segments = [
        seg(0, "I've had a bad cough for three days."),
        seg(1, "I smoke ten cigarettes a day. My knee has been hurting for a week."),
    ]
    from_start = with_drafts(ClinicalNote(), segments, {"s0", "s1"})
    later = with_drafts(ClinicalNote(), segments, {"s1"})
    full = extract_note(segments)  # what the rules find when reading everything
    assert full.chief_complaint is not None
    assert full.social_history
    assert from_start.chief_complaint is not None  # the opening is read: drafted
    assert from_start.chief_complaint.provisional
    assert later.chief_complaint is None  # positions past the opening: never drafted
    for note in (from_start, later):
        for section in ("social_history", "history_of_present_illness", "plan", "examination"):
            assert getattr(note, section) == [], section  # free text is the LLM's


def test_adopting_text_updates_facts_the_note_holds_and_keeps_the_rest() -> None:
    segments = [
        seg(0, "Blood pressure is 150 over 95. I take metformin 500 mg twice a day."),
        seg(1, "Blood pressure now 130 over 85. Increase metformin to 1000 mg."),
        seg(2, "Follow up in 2 weeks."),
    ]
    note = ClinicalNote(
        vitals=[Vital(id="vit-blood_pressure", kind="blood_pressure", value="150/95", unit="mmHg")],
        medications=[Medication(id="med-metformin", name="metformin", dose="500 mg")],
        assessment=[Diagnosis(id="dx-diabetes", name="type 2 diabetes")],  # the LLM's
    )
    adopted = adopt(note, segments, {"s1", "s2"})
    assert [(v.id, v.value) for v in adopted.vitals] == [("vit-blood_pressure", "130/85")]
    assert [(m.id, m.dose) for m in adopted.medications] == [("med-metformin", "1000 mg")]
    assert adopted.assessment == note.assessment  # nothing the LLM confirmed is lost
    assert adopted.follow_up is not None  # said late, adopted all the same
    assert not any(
        i.provisional
        for items in (adopted.vitals, adopted.medications, [adopted.follow_up])
        for i in items
    )


def test_a_later_statement_never_undoes_a_value_with_a_default() -> None:
    kept = Symptom(id="sym-fever", name="fever", negated=True, onset="2 days", evidence=["s1"])
    again = Symptom(id="x", name="fever", evidence=["s2"])  # mentioned, nothing said
    merged = overlay(kept, again)
    assert (merged.id, merged.negated, merged.onset) == ("sym-fever", True, "2 days")
    assert merged.evidence == ["s1", "s2"]
    stated = overlay(kept, Symptom(id="x", name="fever", onset="3 days"))
    assert stated.onset == "3 days"  # a stated value wins


def test_adopting_a_later_follow_up_replaces_the_earlier_one() -> None:
    note = ClinicalNote(follow_up=TextItem(id="follow-up", text="in two weeks"))
    segments = [seg(0, "Hello."), seg(1, "Let's see you again in 3 days.")]
    adopted = adopt(note, segments, {"s1"})
    assert adopted.follow_up is not None
    assert adopted.follow_up.id == "follow-up"
    assert adopted.follow_up.text != "in two weeks"
    assert "s1" in adopted.follow_up.evidence
