"""The note's JSON schema for structured output, answer validation and id stability.

Schema. OpenAI's strict structured outputs (``"strict": true``) need every object to
list all its properties in ``required`` and set ``additionalProperties: false``; a
``$ref`` may not have sibling keywords; ``default`` is not supported
(https://platform.openai.com/docs/guides/structured-outputs#supported-schemas). Groq's
strict mode has the same rules (https://console.groq.com/docs/structured-outputs) and
Gemini's ``responseJsonSchema`` the same ``$ref`` rule
(https://ai.google.dev/gemini-api/docs/structured-output). :func:`strict_note_schema`
derives such a schema from :class:`ClinicalNote`: optional fields stay optional in
meaning because they are already nullable (``anyOf [..., null]``); fields with a
non-null default (lists, ``negated``, ``status``) become required, and the model fills
them. Every answer of that schema validates against ``ClinicalNote``.

Validation. :func:`parse_note` turns the model's text into a ``ClinicalNote`` or raises
``ProviderInvalidResponse`` (retryable); a corrupted note is never returned. The
pydantic error is not chained: its text quotes the answer, which quotes the transcript.

Id stability (:func:`stabilise_ids`), applied after every answer, because the model is
asked but not forced to keep ids:

* an item whose id is not in the previous note's section is matched to a previous item
  of the same section by its key (symptom, medication, diagnosis name; allergy
  substance; vital kind; the text of a text item, all slugged); an unclaimed match gives
  the previous id back;
* the single-valued chief complaint and follow-up keep their previous id;
* an empty or duplicate id gets a fresh ``<prefix>-<slug>`` id (suffixed ``-2``, ...);
* evidence is reduced to ids of segments that exist, without duplicates.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from functools import lru_cache
from typing import Any

import pydantic

from drtranscribe.errors import ProviderInvalidResponse
from drtranscribe.extraction.llm_prompt import ID_PREFIXES
from drtranscribe.extraction.note import ClinicalNote, NoteItem

SCHEMA_NAME = "clinical_note"
_DROP = ("title", "default")


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # no sibling keywords next to a $ref
        return {"$ref": node["$ref"]}
    out = {k: _strict(v) for k, v in node.items() if k not in _DROP}
    if isinstance(out.get("properties"), dict):
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = _strict(ClinicalNote.model_json_schema())
    return schema


def strict_note_schema() -> dict[str, Any]:
    """The note's JSON schema in the strict subset (a fresh copy: callers may mutate it)."""
    return copy.deepcopy(_schema())


def _strip_fences(text: str) -> str:
    """Some OpenAI-compatible servers wrap JSON in a Markdown code fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()


def parse_note(provider: str, content: str | None) -> ClinicalNote:
    if content is None or not content.strip():
        raise ProviderInvalidResponse(provider, detail="empty answer")
    try:
        return ClinicalNote.model_validate_json(_strip_fences(content))
    except pydantic.ValidationError:
        raise ProviderInvalidResponse(provider, detail="answer is not a valid note") from None


# ---------------------------------------------------------------------------- ids


def slug(text: str) -> str:
    """'Shortness of breath' -> 'shortness-of-breath' (the rules extractor's slug)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _text_key(item: Any) -> str:
    return str(item.text)


_KEYS: dict[str, Callable[[Any], str]] = {
    "history_of_present_illness": _text_key,
    "symptoms": lambda i: str(i.name),
    "medications": lambda i: str(i.name),
    "allergies": lambda i: str(i.substance),
    "vitals": lambda i: str(i.kind),
    "past_medical_history": _text_key,
    "family_history": _text_key,
    "social_history": _text_key,
    "examination": _text_key,
    "assessment": lambda i: str(i.name),
    "plan": _text_key,
}
_SINGLE = ("chief_complaint", "follow_up")


def _fresh_id(prefix: str, key: str, taken: set[str]) -> str:
    base = f"{prefix}-{slug(key)[:48].strip('-') or 'item'}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _evidence(item: NoteItem, segment_ids: Collection[str]) -> list[str]:
    seen: list[str] = []
    for ref in item.evidence:
        if ref not in seen and (not segment_ids or ref in segment_ids):
            seen.append(ref)
    return seen


def _section(
    section: str,
    items: list[NoteItem],
    previous: list[NoteItem],
    segment_ids: Collection[str],
) -> list[NoteItem]:
    key = _KEYS[section]
    prefix = ID_PREFIXES[section]
    previous_ids = {p.id for p in previous}
    by_id = {p.id: p for p in previous}
    unclaimed: dict[str, list[str]] = {}
    kept = {i.id.strip() for i in items if i.id.strip() in previous_ids}
    for p in previous:
        if p.id not in kept:
            unclaimed.setdefault(slug(key(p)), []).append(p.id)
    taken: set[str] = set()
    out: list[NoteItem] = []
    for item in items:
        item_id = item.id.strip()
        if item_id not in previous_ids:
            matches = unclaimed.get(slug(key(item)))
            if matches:
                item_id = matches.pop(0)
        if not item_id or item_id in taken:
            item_id = _fresh_id(prefix, key(item), taken | kept)
        taken.add(item_id)
        out.append(_carry_over(item, item_id, by_id.get(item_id), segment_ids))
    return out


def _carry_over(
    item: NoteItem, item_id: str, before: NoteItem | None, segment_ids: Collection[str]
) -> NoteItem:
    """The item under its stable id, with the evidence and speaker the model did not see
    (the prompt leaves them out) carried over from the previous version."""
    evidence = _evidence(item, segment_ids)
    speaker = item.speaker
    if before is not None:
        evidence = [e for e in _evidence(before, segment_ids) if e not in evidence] + evidence
        speaker = speaker or before.speaker
    return item.model_copy(update={"id": item_id, "evidence": evidence, "speaker": speaker})


def stabilise_ids(
    note: ClinicalNote, *, previous: ClinicalNote, segment_ids: Collection[str]
) -> ClinicalNote:
    """``note`` with ids kept stable against ``previous`` and evidence cleaned (see the
    module docstring)."""
    update: dict[str, Any] = {}
    for section in _KEYS:
        update[section] = _section(
            section, list(getattr(note, section)), list(getattr(previous, section)), segment_ids
        )
    for section in _SINGLE:
        item: NoteItem | None = getattr(note, section)
        if item is None:
            continue
        before: NoteItem | None = getattr(previous, section)
        item_id = before.id if before is not None else item.id.strip()
        if not item_id:
            item_id = _fresh_id(ID_PREFIXES[section], str(getattr(item, "text", "")), set())
        update[section] = _carry_over(item, item_id, before, segment_ids)
    return note.model_copy(update=update)
