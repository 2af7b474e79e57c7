"""Drafts: what the local rules find in speech the note's LLM has not read yet.

An LLM extractor costs money per token, so the note worker calls it at a cadence
(``note.min_new_tokens``: one call per so much new transcript), not on
every segment. In between, the note would stand still for a minute or more while the
clinician talks. Drafts fill that gap: the local rules extractor (about a millisecond)
reads the segments the LLM has not read, and what it finds that the confirmed note does
not hold yet is shown at once as ``provisional`` items.

The LLM never sees drafts (:func:`confirmed` is what it is sent); it reads the segments
they came from, so its next answer confirms a draft (same ``<prefix>-<slug>`` id, now
not provisional), corrects it or leaves it out, and the drafts of those segments are
dropped. Drafts never override the confirmed note: a draft about a fact the note already
holds (same section and key) is left out.

Drafts cover the sections where the rules and the LLM name a fact alike (its key: a
symptom, drug, allergen, vital or diagnosis name), so a confirmed draft keeps its id
and a fact the note holds is never drafted twice: :data:`DRAFT_SECTIONS`. Free-text
sections (history, examination, plan) are the LLM's; the rules would word them
differently and show duplicates. The chief complaint is drafted only while the LLM has
read nothing (the rules take it from the opening of the consultation).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from drtranscribe.domain.identity import unique_id
from drtranscribe.domain.note import SINGLE_SECTIONS, ClinicalNote, NoteItem
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.llm_note import item_key, overlay
from drtranscribe.extraction.llm_prompt import select_segments
from drtranscribe.extraction.local import extract_note

DRAFT_SECTIONS = ("chief_complaint", "symptoms", "medications", "allergies", "vitals", "assessment")


def confirmed(note: ClinicalNote) -> ClinicalNote:
    """``note`` without its provisional items."""
    return note.with_items(
        {s: [i for i in note.items(s) if not i.provisional] for s in ClinicalNote.model_fields}
    )


@dataclass(frozen=True)
class _Reading:
    """What the rules find in the unread segments (read with one segment of context)."""

    note: ClinicalNote
    unread: frozenset[str]
    from_start: bool  # the opening is unread: positions, hence the chief complaint, hold

    def found(self, section: str) -> list[NoteItem]:
        """The section's items resting on an unread segment."""
        return [i for i in self.note.items(section) if set(i.evidence) & self.unread]


def _read(segments: Sequence[Segment], unread: Collection[str]) -> _Reading | None:
    context, fresh = select_segments(segments, unread, 1)
    if not fresh:
        return None
    return _Reading(
        note=extract_note([*context, *fresh]),
        unread=frozenset(s.id for s in fresh),
        from_start=not context and segments[0].id == fresh[0].id,
    )


def with_drafts(
    note: ClinicalNote,
    segments: Sequence[Segment],
    unread: Collection[str],
    *,
    sections: Collection[str] = DRAFT_SECTIONS,
) -> ClinicalNote:
    """The confirmed part of ``note`` plus drafts of ``sections`` from the ``unread``
    segments (those the LLM has not read in their current text). The segment before the
    first unread one is read too, as context (a question and its answer), but only items
    resting on an unread segment become drafts."""
    base = confirmed(note)
    reading = _read(segments, unread)
    if reading is None:
        return base
    drafted: dict[str, list[NoteItem]] = {}
    for section in sections:
        held = base.items(section)
        if section in SINGLE_SECTIONS:
            if not held and reading.from_start:
                drafted[section] = [
                    i.model_copy(update={"provisional": True}) for i in reading.found(section)[:1]
                ]
            continue
        ids = {i.id for i in held}
        keys = {item_key(section, i) for i in held}
        drafted[section] = held + [
            i.model_copy(update={"provisional": True})
            for i in reading.found(section)
            if i.id not in ids and item_key(section, i) not in keys
        ]
    return base.with_items(drafted)


def adopt(note: ClinicalNote, segments: Sequence[Segment], unread: Collection[str]) -> ClinicalNote:
    """The confirmed part of ``note`` with the rules' reading of the ``unread`` segments
    taken in, confirmed: for text the LLM will not read (it keeps failing on it, or the
    session ends while it is down). Unlike a draft, a reading of a fact the note holds
    (same key) updates it, since nothing will read that text again: a newer blood
    pressure or dose wins, the item keeps its id. A value at its default is not taken as
    a statement (see ``llm_note.overlay``): a later mention never turns a denied symptom
    present, nor can the rules tell a plain mention from a reaffirmation. Every section
    is read; the chief complaint only from the opening of the consultation."""
    base = confirmed(note)
    reading = _read(segments, unread)
    if reading is None:
        return base
    adopted: dict[str, list[NoteItem]] = {}
    for section in ClinicalNote.model_fields:
        held, found = base.items(section), reading.found(section)
        if section == "chief_complaint":  # from the opening, and never replaced
            adopted[section] = held or (found[:1] if reading.from_start else [])
        elif section == "follow_up":  # the latest said wins
            adopted[section] = [overlay(held[0], found[0])] if held and found else held or found
        else:
            adopted[section] = _merged(section, held, found)
    return base.with_items(adopted)


def _merged(section: str, held: list[NoteItem], found: list[NoteItem]) -> list[NoteItem]:
    """``held`` with ``found`` taken in: same key updates (:func:`overlay`), else added
    under an id of its own."""
    merged = list(held)
    at = {item_key(section, i): n for n, i in enumerate(merged)}
    for item in found:
        n = at.get(item_key(section, item))
        if n is not None:
            merged[n] = overlay(merged[n], item)
            continue
        item_id = unique_id(item.id, {i.id for i in merged})
        at[item_key(section, item)] = len(merged)
        merged.append(item.model_copy(update={"id": item_id, "provisional": False}))
    return merged
