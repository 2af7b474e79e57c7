"""Properties of merging an LLM's answer (changes only) into the note, and of drafts.

Whatever a model answers that passes the schema, the merged note must stay a note the
client can hold: unique ids per section, untouched items untouched, removals honoured,
evidence only of segments that exist, nothing provisional. Drafts must never change or
drop a confirmed item.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drtranscribe.domain.note import ClinicalNote, Medication, NoteItem, Symptom, TextItem
from drtranscribe.extraction.drafts import confirmed, with_drafts
from drtranscribe.extraction.llm_note import NoteChanges, item_key, merge_changes
from tests.segments import segment

pytestmark = pytest.mark.unit

PROPERTY = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)

SEGMENT_IDS = [f"seg-{i:04d}" for i in range(6)]
NAMES = ["cough", "Cough", "fever", "rash", "", "chest pain", "metformin", "aspirin"]
STORED_IDS = ["sym-cough", "sym-fever", "med-metformin", "x", "plan-rest", "cc"]
ids = st.sampled_from(STORED_IDS)  # a stored note's ids are never empty ...
any_ids = st.sampled_from([*STORED_IDS, "", " x "])  # ... a model's may be anything
evidence = st.lists(st.sampled_from(SEGMENT_IDS), max_size=3, unique=True)
any_evidence = st.lists(st.sampled_from([*SEGMENT_IDS, "seg-9999", "3"]), max_size=3)


def _symptom(answer: bool = False) -> st.SearchStrategy[Symptom]:
    return st.builds(
        Symptom,
        id=any_ids if answer else ids,
        name=st.sampled_from(NAMES),
        evidence=any_evidence if answer else evidence,
        negated=st.booleans(),
        provisional=st.booleans(),
    )


def _medication(answer: bool = False) -> st.SearchStrategy[Medication]:
    return st.builds(
        Medication,
        id=any_ids if answer else ids,
        name=st.sampled_from(NAMES),
        evidence=any_evidence if answer else evidence,
        dose=st.sampled_from([None, "500 mg", "1 g"]),
    )


def _text(answer: bool = False) -> st.SearchStrategy[TextItem]:
    return st.builds(
        TextItem,
        id=any_ids if answer else ids,
        text=st.sampled_from(NAMES),
        evidence=any_evidence if answer else evidence,
    )


def _unique(items: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return list(seen.values())


@st.composite
def notes(draw: st.DrawFn) -> ClinicalNote:
    """A valid stored note: unique ids within each section."""
    return ClinicalNote(
        chief_complaint=draw(st.none() | _text()),
        symptoms=_unique(draw(st.lists(_symptom(), max_size=5))),
        medications=_unique(draw(st.lists(_medication(), max_size=4))),
        plan=_unique(draw(st.lists(_text(), max_size=3))),
    )


@st.composite
def answers(draw: st.DrawFn) -> NoteChanges:
    """Anything the schema lets a model say: duplicate, empty or unknown ids included."""
    return NoteChanges(
        chief_complaint=draw(st.none() | _text(answer=True)),
        symptoms=draw(st.lists(_symptom(answer=True), max_size=5)),
        medications=draw(st.lists(_medication(answer=True), max_size=4)),
        plan=draw(st.lists(_text(answer=True), max_size=3)),
        removed=draw(st.lists(any_ids, max_size=4)),
    )


def _sections(note: ClinicalNote) -> dict[str, list[NoteItem]]:
    return {name: note.items(name) for name in ClinicalNote.model_fields}


@PROPERTY
@given(previous=notes(), answer=answers())
def test_a_merged_note_is_always_a_valid_note(previous: ClinicalNote, answer: NoteChanges) -> None:
    speakers: dict[str, Any] = {s: None for s in SEGMENT_IDS}
    merged = merge_changes(answer, previous=previous, speakers=speakers)
    ClinicalNote.model_validate(merged.model_dump())  # round-trips as a note
    before, answered = _sections(previous), _sections(answer)
    for section, items in _sections(merged).items():
        item_ids = [i.id for i in items]
        assert len(item_ids) == len(set(item_ids)), section  # unique ids
        assert all(item_ids), section  # never an empty id
        assert all(set(i.evidence) <= set(SEGMENT_IDS) for i in items)  # known segments
        old_ids = [p.id for p in before[section]]
        # No previous item disappears unless removed ...
        assert {p for p in old_ids if p not in item_ids} <= set(answer.removed), section
        # ... the survivors keep their order, ahead of the new ones ...
        survivors = [i for i in item_ids if i in old_ids]
        assert item_ids[: len(survivors)] == survivors
        assert survivors == [p for p in old_ids if p in survivors]
        # ... and every new item comes from the answer.
        assert len(item_ids) - len(survivors) <= len(answered[section])
        if section in ("chief_complaint", "follow_up"):
            continue
        answered_ids = {i.id.strip() for i in answered[section]}
        answered_keys = {item_key(section, i) for i in answered[section]}
        for p in before[section]:
            if p.id in answer.removed and p.id not in answered_ids:
                if item_key(section, p) not in answered_keys:
                    assert p.id not in item_ids  # removed, and nothing re-states it
            elif p.id not in answered_ids and item_key(section, p) not in answered_keys:
                assert p in items  # untouched: exactly as it was


@PROPERTY
@given(previous=notes(), answer=answers())
def test_merged_items_are_confirmed_and_a_whole_note_answer_is_idempotent(
    previous: ClinicalNote, answer: NoteChanges
) -> None:
    speakers: dict[str, Any] = {s: None for s in SEGMENT_IDS}
    merged = merge_changes(answer, previous=previous, speakers=speakers)
    touched = {i.id for items in _sections(merged).values() for i in items} - {
        p.id for items in _sections(previous).values() for p in items
    }
    for items in _sections(merged).values():
        for item in items:
            if item.id in touched:
                assert not item.provisional
    # A model that restates the whole note changes nothing but confirming drafts.
    again = merge_changes(
        NoteChanges.model_validate(merged.model_dump()), previous=merged, speakers=speakers
    )
    assert again == _confirm_all(merged)


def _confirm_all(note: ClinicalNote) -> ClinicalNote:
    update: dict[str, Any] = {}
    for name, items in _sections(note).items():
        done = [i.model_copy(update={"provisional": False}) for i in items]
        update[name] = done if isinstance(getattr(note, name), list) else (done or [None])[0]
    return note.model_copy(update=update)


SENTENCES = [
    "I take metformin 500 mg twice a day.",
    "No fever, but a bad cough for three days.",
    "I'm allergic to penicillin, it gives me a rash.",
    "Blood pressure is 140 over 90.",
    "We'll start amoxicillin 500 mg three times a day.",
    "Any chest pain? Yes.",
]


@PROPERTY
@given(
    note=notes(),
    texts=st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6),
    unread=st.sets(st.integers(0, 5)),
)
def test_drafts_never_change_or_drop_a_confirmed_item(
    note: ClinicalNote, texts: list[str], unread: set[int]
) -> None:
    segments = [segment(i, t) for i, t in enumerate(texts)]
    unread_ids = {f"seg-{i:04d}" for i in unread}
    drafted = with_drafts(note, segments, unread_ids)
    assert confirmed(drafted) == confirmed(note)
    for section, items in _sections(drafted).items():
        item_ids = [i.id for i in items]
        assert len(item_ids) == len(set(item_ids)), section
        for item in items:
            if item.provisional:
                assert set(item.evidence) & unread_ids  # drafts rest on unread text only
