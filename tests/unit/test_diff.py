import copy

import jsonpatch
import pytest

from drtranscribe.domain.note import ClinicalNote, Medication, Symptom, TextItem
from drtranscribe.extraction.diff import note_patch

pytestmark = pytest.mark.unit


def _apply(old: ClinicalNote, new: ClinicalNote) -> dict[str, object]:
    ops = [op.model_dump(by_alias=True, exclude_unset=True) for op in note_patch(old, new)]
    for op in ops:
        op.pop("evidence")
    result: dict[str, object] = jsonpatch.apply_patch(
        copy.deepcopy(old.model_dump(mode="json")), ops
    )
    return result


def _med(id_: str, dose: str | None = None, ev: list[str] | None = None) -> Medication:
    return Medication(id=id_, name=id_.removeprefix("med-"), dose=dose, evidence=ev or ["seg-0000"])


def test_changed_item_is_replaced_in_place_with_its_evidence() -> None:
    old = ClinicalNote(medications=[_med("med-metformin", "500 mg")])
    new = ClinicalNote(medications=[_med("med-metformin", "1000 mg", ["seg-0000", "seg-0002"])])
    ops = note_patch(old, new)
    assert [(o.op, o.path) for o in ops] == [
        ("replace", "/medications/0/evidence"),
        ("replace", "/medications/0/dose"),
    ]
    assert ops[0].evidence == ["seg-0000", "seg-0002"]
    assert _apply(old, new) == new.model_dump(mode="json")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], ["a", "b"]),
        (["a", "b", "c"], ["b"]),
        (["a", "b", "c"], ["c", "a", "d"]),
        (["a", "b"], ["b", "a"]),
        (["a"], []),
        (["x", "y", "z"], ["z", "y", "x", "w"]),
    ],
)
def test_any_list_change_applies_exactly(before: list[str], after: list[str]) -> None:
    old = ClinicalNote(symptoms=[Symptom(id=f"sym-{n}", name=n) for n in before])
    new = ClinicalNote(
        symptoms=[
            Symptom(id=f"sym-{n}", name=n, negated=n == "b", evidence=[f"seg-{n}"]) for n in after
        ]
    )
    assert _apply(old, new) == new.model_dump(mode="json")


def test_scalar_sections_add_change_and_clear() -> None:
    empty = ClinicalNote()
    cc = ClinicalNote(chief_complaint=TextItem(id="cc", text="headache", evidence=["seg-0001"]))
    cc2 = ClinicalNote(
        chief_complaint=TextItem(id="cc", text="headache and fever", evidence=["seg-0001"])
    )
    for old, new in [(empty, cc), (cc, cc2), (cc2, empty)]:
        assert _apply(old, new) == new.model_dump(mode="json")
    ops = note_patch(empty, cc)
    assert ops[0].evidence == ["seg-0001"]


def test_no_change_no_ops() -> None:
    note = ClinicalNote(medications=[_med("med-aspirin")])
    assert note_patch(note, note.model_copy(deep=True)) == []
