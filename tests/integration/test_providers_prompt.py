"""The pure parts of the providers: incremental prompt selection, the strict note schema,
answer validation, id stability, Retry-After parsing and the WAV upload encoding.

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

from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.llm_note import parse_note, stabilise_ids, strict_note_schema
from drtranscribe.extraction.llm_prompt import build_messages, build_prompt, select_segments
from drtranscribe.extraction.note import (
    Allergy,
    ClinicalNote,
    Diagnosis,
    Medication,
    Symptom,
    TextItem,
    Vital,
)
from drtranscribe.transcript import Segment
from drtranscribe.transcription.base import wav_bytes
from drtranscribe.transcription.openai_compat import retry_after_seconds

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
        '<current_note>\n{"symptoms":[{"id":"sym-cough","name":"cough"}]}\n'
        "</current_note>\n\n"
        "<context_segments>\n[s1] (patient) I have a cough\n</context_segments>\n\n"
        "<new_segments>\n[s2] (unknown) since when?\n</new_segments>"
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
    assert len(objects) == 7  # the note and its six item models
    for obj in objects:
        assert obj["required"] == list(obj["properties"])
        assert obj["additionalProperties"] is False
    for node in nodes:
        assert "default" not in node
        if "$ref" in node:
            assert set(node) == {"$ref"}
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(ClinicalNote.model_fields)


def test_every_item_model_of_the_note_is_in_the_schema() -> None:
    defs = strict_note_schema()["$defs"]
    assert set(defs) == {"TextItem", "Symptom", "Medication", "Allergy", "Vital", "Diagnosis"}
    models: list[tuple[str, type[BaseModel]]] = [
        ("Symptom", Symptom),
        ("Medication", Medication),
        ("Allergy", Allergy),
        ("Vital", Vital),
        ("Diagnosis", Diagnosis),
        ("TextItem", TextItem),
    ]
    for name, model in models:
        assert set(defs[name]["properties"]) == set(model.model_fields)


def test_the_schema_is_a_fresh_copy() -> None:
    first = strict_note_schema()
    first["properties"].clear()
    assert strict_note_schema()["properties"]


def test_a_full_strict_answer_validates() -> None:
    # What a strict-mode model returns: every field present, nulls for unknowns.
    note = ClinicalNote(
        symptoms=[Symptom(id="sym-a", name="a")],
        vitals=[Vital(id="vit-heart_rate", kind="heart_rate", value="80", unit="bpm")],
    )
    full = note.model_dump_json()  # every field, defaults included
    assert parse_note("p", full) == note


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "content",
    [None, "", "   ", "not json", "[]", '{"symptoms": 1}', '{"extra": []}', '{"symptoms": [{}]}'],
)
def test_invalid_answers_are_retryable_invalid_responses(content: str | None) -> None:
    with pytest.raises(ProviderInvalidResponse) as info:
        parse_note("p", content)
    assert info.value.retryable
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


def test_a_fenced_answer_is_unwrapped() -> None:
    assert parse_note("p", '```json\n{"plan": []}\n```') == ClinicalNote()


# ---------------------------------------------------------------------------- ids


def test_kept_ids_win_and_renamed_items_get_their_old_id_back() -> None:
    previous = ClinicalNote(
        medications=[
            Medication(id="med-metformin", name="metformin"),
            Medication(id="med-aspirin", name="aspirin"),
        ],
        vitals=[Vital(id="vit-bp", kind="blood_pressure", value="140/90", unit="mmHg")],
        follow_up=TextItem(id="fu-2-weeks", text="in two weeks"),
    )
    answer = ClinicalNote(
        medications=[
            Medication(id="m1", name="Aspirin", dose="75 mg"),
            Medication(id="med-metformin", name="metformin", dose="500 mg"),
            Medication(id="med-metformin", name="ramipril"),  # duplicate id
            Medication(id="", name="Lisinopril 10"),
        ],
        vitals=[Vital(id="vital-1", kind="blood_pressure", value="150/95", unit="mmHg")],
        follow_up=TextItem(id="fu-other", text="in three weeks"),
    )
    note = stabilise_ids(answer, previous=previous, segment_ids=set())
    assert [m.id for m in note.medications] == [
        "med-aspirin",
        "med-metformin",
        "med-ramipril",
        "med-lisinopril-10",
    ]
    assert note.medications[0].dose == "75 mg"
    assert [v.id for v in note.vitals] == ["vit-bp"]
    assert note.follow_up is not None
    assert note.follow_up.id == "fu-2-weeks"


def test_a_claimed_old_id_is_not_given_twice() -> None:
    previous = ClinicalNote(symptoms=[Symptom(id="sym-cough", name="cough")])
    answer = ClinicalNote(
        symptoms=[
            Symptom(id="x", name="Cough"),  # re-matched to sym-cough ...
            Symptom(id="sym-cough", name="cough"),  # ... unless sym-cough is kept
        ]
    )
    note = stabilise_ids(answer, previous=previous, segment_ids=set())
    assert [s.id for s in note.symptoms] == ["x", "sym-cough"]


def test_fresh_ids_do_not_collide() -> None:
    answer = ClinicalNote(plan=[TextItem(id="", text="Rest"), TextItem(id="", text="rest!")])
    note = stabilise_ids(answer, previous=ClinicalNote(), segment_ids=set())
    assert [p.id for p in note.plan] == ["plan-rest", "plan-rest-2"]


def test_evidence_keeps_known_segments_once_in_order() -> None:
    answer = ClinicalNote(
        symptoms=[Symptom(id="sym-a", name="a", evidence=["s2", "zz", "s1", "s2"])],
        chief_complaint=TextItem(id="cc-a", text="a", evidence=["zz", "s1"]),
    )
    note = stabilise_ids(answer, previous=ClinicalNote(), segment_ids={"s1", "s2"})
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
    assert '{"id":"sym-cough","evidence":["s1"],"name":"cough"}' in shown  # s1 was revised
    assert '{"id":"sym-fever","name":"fever"}' in shown
    assert "speaker" not in shown.split("</current_note>")[0]


def test_evidence_and_speaker_the_model_did_not_see_are_carried_over() -> None:
    previous = ClinicalNote(
        medications=[
            Medication(id="med-metformin", name="metformin", evidence=["s1"], speaker="patient")
        ]
    )
    answer = ClinicalNote(
        medications=[
            Medication(id="med-metformin", name="metformin", dose="1000 mg", evidence=["s4"])
        ]
    )
    note = stabilise_ids(answer, previous=previous, segment_ids={"s1", "s4"})
    (med,) = note.medications
    assert (med.id, med.dose, med.evidence, med.speaker) == (
        "med-metformin",
        "1000 mg",
        ["s1", "s4"],
        "patient",
    )
