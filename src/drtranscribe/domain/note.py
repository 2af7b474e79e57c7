"""The clinical note: what the clinician reads during the visit.

Every item has a stable ``id`` (derived from what it is about, not from when it was
found), so a JSON Patch stream updates it in place, and ``evidence``: the ids of the
transcript segments it rests on. ``speaker`` says who said it, when known.
``provisional`` marks a draft: an item the local rules found in speech that the note's
LLM has not read yet (see :mod:`drtranscribe.extraction.drafts`); the next LLM update
confirms, corrects or drops it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

Speaker = Literal["clinician", "patient", "other"]


class NoteItem(BaseModel):
    """Fields every note item carries."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id; the same fact keeps the same id across updates.")
    evidence: list[str] = Field(
        default_factory=list, description="Ids of the transcript segments this item rests on."
    )
    speaker: Speaker | None = Field(default=None, description="Who said it, when known.")
    provisional: bool = Field(
        default=False,
        description="A draft from the local rules, not yet confirmed by the note's LLM; "
        "the next LLM update confirms, corrects or removes it.",
    )


class TextItem(NoteItem):
    """A free-text statement (history, finding, plan item, ...)."""

    text: str


class Symptom(NoteItem):
    name: str
    onset: str | None = Field(default=None, description="Onset or duration as said, e.g. '3 days'.")
    severity: str | None = None
    negated: bool = Field(default=False, description="True when the patient denies it.")


MedicationStatus = Literal["current", "started", "stopped", "changed"]


class Medication(NoteItem):
    name: str
    dose: str | None = Field(default=None, description="e.g. '500 mg'.")
    route: str | None = Field(default=None, description="e.g. 'oral', 'inhaled'.")
    frequency: str | None = Field(default=None, description="e.g. 'three times a day'.")
    status: MedicationStatus = "current"


class Allergy(NoteItem):
    substance: str = Field(
        description="The allergen; 'no known drug allergies' is a value of its own."
    )
    reaction: str | None = None
    no_known_allergies: bool = Field(
        default=False, description="True for a stated absence of allergies (NKDA)."
    )


VitalKind = Literal[
    "blood_pressure", "heart_rate", "temperature", "spo2", "respiratory_rate", "weight"
]


class Vital(NoteItem):
    kind: VitalKind
    value: str = Field(description="Normalised value, e.g. '140/90' or '38.5'.")
    unit: str = Field(description="e.g. 'mmHg', 'bpm', '°C', '%', '/min', 'kg'.")


class Diagnosis(NoteItem):
    name: str
    certainty: Literal["confirmed", "suspected", "ruled_out"] = "suspected"


class ClinicalNote(BaseModel):
    """The structured note of one consultation."""

    model_config = ConfigDict(extra="forbid")

    chief_complaint: TextItem | None = None
    history_of_present_illness: list[TextItem] = Field(default_factory=list)
    symptoms: list[Symptom] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    allergies: list[Allergy] = Field(default_factory=list)
    vitals: list[Vital] = Field(default_factory=list)
    past_medical_history: list[TextItem] = Field(default_factory=list)
    family_history: list[TextItem] = Field(default_factory=list)
    social_history: list[TextItem] = Field(default_factory=list)
    examination: list[TextItem] = Field(default_factory=list)
    assessment: list[Diagnosis] = Field(default_factory=list)
    plan: list[TextItem] = Field(default_factory=list)
    follow_up: TextItem | None = None

    def is_empty(self) -> bool:
        return self == ClinicalNote()

    def items(self, section: str) -> list[NoteItem]:
        """The items of ``section`` as a list, whether it holds one item or many."""
        value = getattr(self, section)
        if isinstance(value, list):
            return list(value)
        return [] if value is None else [value]

    def with_items(self, sections: Mapping[str, Sequence[NoteItem]]) -> Self:
        """A copy with these sections replaced; a single-valued section takes the first
        item, or none."""
        update: dict[str, Any] = {}
        for section, items in sections.items():
            update[section] = (
                (items[0] if items else None) if section in SINGLE_SECTIONS else list(items)
            )
        return self.model_copy(update=update)


#: The sections that hold one item (or none); every other section holds a list.
SINGLE_SECTIONS = ("chief_complaint", "follow_up")
