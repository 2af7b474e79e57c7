"""What the LLM answers: the note's changes, their schema, validation and merge.

Answer. The model does not restate the note: it answers with a :class:`NoteChanges`,
the note's own shape holding only the items it adds or changes (each restated in full
under its id) plus ``removed``, the ids of items it retracts. Output tokens and
latency then grow with what was said since the last update, not with the note; a
model that restates the whole note anyway is merged the same way.

Schema. OpenAI's strict structured outputs (``"strict": true``) need every object to
list all its properties in ``required`` and set ``additionalProperties: false``; a
``$ref`` may not have sibling keywords; ``default`` is not supported
(https://platform.openai.com/docs/guides/structured-outputs#supported-schemas). Groq's
strict mode has the same rules (https://console.groq.com/docs/structured-outputs) and
Gemini's ``responseJsonSchema`` the same ``$ref`` rule
(https://ai.google.dev/gemini-api/docs/structured-output). :func:`strict_note_schema`
derives such a schema from :class:`NoteChanges`: optional fields stay optional in
meaning because they are already nullable (``anyOf [..., null]``); fields with a
non-null default (lists, ``negated``, ``status``) become required, and the model fills
them. The schema is sent with every call and billed as input (OpenAI counts it about as
the JSON's tokens without ``required``/``additionalProperties``), so it is kept short:
nullable scalars as ``"type": [..., "null"]`` (OpenAI's strict mode documents them;
Gemini is sent ``anyOf`` with ``null``, the form its documentation names), item models
used once written in place
rather than behind a ``$ref``, no ``title``/``description`` (the system prompt says
what the fields mean once) and none of the fields the server owns: ``speaker`` (taken
from the evidence segments' speakers) and ``provisional``. Every answer of that schema
validates against ``NoteChanges``.

Validation. :func:`parse_changes` turns the model's text into ``NoteChanges`` or raises
``ProviderInvalidResponse`` (retryable); a corrupted note is never returned. The
pydantic error is not chained: its text quotes the answer, which quotes the transcript.

Merge (:func:`merge_changes`), because the model is asked but not forced to keep ids:

* an answered item whose id is in the previous note's section updates that item in
  place; otherwise it is matched by its key (symptom, medication, diagnosis name;
  allergy substance; vital kind; the text of a text item, all slugged) to a previous
  item of the same section that no answered id names, and updates that one; otherwise
  it is new, added at the end;
* new items are named by the server, never by the model: ``<prefix>-<slug of the
  key>`` (``vit-<kind>`` for vitals, ``chief-complaint`` and ``follow-up``), the rules
  extractor's convention, so a draft and the LLM's item about the same fact share an id
  (suffixed ``-2``, ... on a clash);
* a fact the answer gives twice (same key, or the same id twice) is one item: the
  statement later in the answer wins for the values it states (:func:`overlay`), with
  both evidences;
* the single-valued chief complaint and follow-up keep their previous id;
* ``removed`` ids leave the note, unless the same answer also updates them;
* evidence is the previous evidence plus the answer's, reduced to ids of segments that
  exist, without duplicates; ``speaker`` is kept, or taken from the evidence segments
  when they agree; merged items are not provisional.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache
from typing import Any

import pydantic
from pydantic import Field

from drtranscribe.domain.identity import ID_PREFIXES, SINGLE_IDS, slug, unique_id
from drtranscribe.domain.note import SINGLE_SECTIONS, ClinicalNote, NoteItem, Speaker
from drtranscribe.errors import ProviderInvalidResponse

SCHEMA_NAME = "clinical_note_changes"
_DROP = ("title", "default", "description")
_SERVER_OWNED = ("speaker", "provisional")


class NoteChanges(ClinicalNote):
    """An LLM's answer: the note's items it adds or changes, and those it removes."""

    removed: list[str] = Field(default_factory=list)


def _strict(node: Any, type_arrays: bool) -> Any:
    if isinstance(node, list):
        return [_strict(n, type_arrays) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # no sibling keywords next to a $ref
        return {"$ref": node["$ref"]}
    out = {k: _strict(v, type_arrays) for k, v in node.items() if k not in _DROP}
    options = out.get("anyOf")
    if (
        type_arrays
        and isinstance(options, list)
        and len(options) == 2
        and options[1] == {"type": "null"}
        and set(options[0]) == {"type"}
    ):  # anyOf [{"type": "string"}, {"type": "null"}] -> {"type": ["string", "null"]}
        del out["anyOf"]
        out["type"] = [options[0]["type"], "null"]
    if isinstance(out.get("properties"), dict):
        for name in _SERVER_OWNED:
            out["properties"].pop(name, None)
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def _inline_single_use(schema: dict[str, Any]) -> dict[str, Any]:
    """Definitions referenced once are written in place (a ``$ref`` costs tokens too)."""
    defs: dict[str, Any] = schema.get("$defs", {})
    uses = json.dumps(schema).count
    once = {name for name in defs if uses(f'"#/$defs/{name}"') == 1}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in once:
            return walk(defs[ref.removeprefix("#/$defs/")])
        return {k: walk(v) for k, v in node.items()}

    out: dict[str, Any] = walk({k: v for k, v in schema.items() if k != "$defs"})
    kept = {name: walk(d) for name, d in defs.items() if name not in once}
    return {"$defs": kept, **out} if kept else out


@lru_cache(maxsize=2)
def _schema(type_arrays: bool) -> dict[str, Any]:
    return _inline_single_use(_strict(NoteChanges.model_json_schema(), type_arrays))


def strict_note_schema(*, type_arrays: bool = True) -> dict[str, Any]:
    """The answer's JSON schema in the strict subset (a fresh copy: callers may mutate it).
    ``type_arrays``: nullable scalars as ``"type": [..., "null"]`` (OpenAI's documented
    form, fewer tokens) rather than ``anyOf`` with ``null`` (what Gemini is sent: its
    documentation names ``anyOf``, not type arrays)."""
    return copy.deepcopy(_schema(type_arrays))


def _strip_fences(text: str) -> str:
    """Some OpenAI-compatible servers wrap JSON in a Markdown code fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()


def parse_changes(provider: str, content: str | None) -> NoteChanges:
    if content is None or not content.strip():
        raise ProviderInvalidResponse(provider, detail="empty answer")
    try:
        return NoteChanges.model_validate_json(_strip_fences(content))
    except pydantic.ValidationError:
        raise ProviderInvalidResponse(provider, detail="answer is not a valid note") from None


# ---------------------------------------------------------------------------- ids


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


def _fresh_id(prefix: str, key: str, taken: set[str]) -> str:
    return unique_id(f"{prefix}-{slug(key)[:48].strip('-') or 'item'}", taken)


def _new_id(section: str, item: Any, taken: set[str]) -> str:
    """The server's name for a new item: ``<prefix>-<slug of its key>``, the rules
    extractor's convention, so a draft and the LLM's item about the same fact share an id
    (a vital is ``vit-<kind>`` and the chief complaint ``chief-complaint``, as the rules
    name them)."""
    if section in SINGLE_IDS:
        return SINGLE_IDS[section]
    if section == "vitals":
        return unique_id(f"vit-{item.kind}", taken)
    return _fresh_id(ID_PREFIXES[section], _KEYS[section](item), taken)


def _evidence(item: NoteItem, segment_ids: Collection[str]) -> list[str]:
    seen: list[str] = []
    for ref in item.evidence:
        if ref not in seen and (not segment_ids or ref in segment_ids):
            seen.append(ref)
    return seen


def item_key(section: str, item: Any) -> str:
    """What an item of ``section`` is about, slugged: two items with the same key are the
    same fact (the rules extractor and the LLM name them alike)."""
    return slug(_KEYS[section](item))


def _speaker(evidence: list[str], speakers: Mapping[str, Speaker | None]) -> Speaker | None:
    said_by = {speakers.get(e) for e in evidence} - {None}
    return said_by.pop() if len(said_by) == 1 else None


def _carry_over(
    item: NoteItem,
    item_id: str,
    before: NoteItem | None,
    speakers: Mapping[str, Speaker | None],
) -> NoteItem:
    """The item under its id, with the evidence and speaker of its previous version (the
    prompt leaves them out) carried over, and confirmed."""
    evidence = _evidence(item, speakers)
    speaker = item.speaker
    if before is not None:
        evidence = [e for e in _evidence(before, speakers) if e not in evidence] + evidence
        speaker = speaker or before.speaker
    return item.model_copy(
        update={
            "id": item_id,
            "evidence": evidence,
            "speaker": speaker or _speaker(evidence, speakers),
            "provisional": False,
        }
    )


_OWNED = ("id", "evidence", "speaker", "provisional")


def overlay(kept: NoteItem, newer: NoteItem) -> NoteItem:
    """``kept`` (its id, speaker) with the values ``newer`` states and both evidences: a
    later statement of the same fact. A field left null or at its default (``negated``
    false, ``status`` current, ...) is not a statement: it never undoes a kept value, so
    a denied symptom is not turned present by a mention that says nothing either way."""
    fields = type(newer).model_fields
    values = {
        name: value
        for name, info in fields.items()
        if name not in _OWNED
        and (value := getattr(newer, name)) is not None
        and (info.is_required() or value != info.default)
    }
    evidence = [*kept.evidence, *(e for e in newer.evidence if e not in kept.evidence)]
    return kept.model_copy(
        update={**values, "evidence": evidence, "speaker": kept.speaker or newer.speaker}
    )


def _merge_section(
    section: str,
    answered: list[NoteItem],
    previous: list[NoteItem],
    removed: set[str],
    speakers: Mapping[str, Speaker | None],
) -> list[NoteItem]:
    by_id = {p.id: p for p in previous}
    claimed = {i.id.strip() for i in answered} & set(by_id)  # an exact id wins its item
    by_key: dict[str, str] = {}
    for p in previous:
        if p.id not in claimed:
            by_key.setdefault(item_key(section, p), p.id)
    merged: dict[str, NoteItem] = dict(by_id)
    updated: set[str] = set()
    answered_keys: dict[str, str] = {}  # key -> id, for facts this answer already gave
    # Items naming a previous id first, so that a restatement elsewhere in the answer
    # joins them instead of becoming a second item.
    ordered = sorted(enumerate(answered), key=lambda pi: pi[1].id.strip() not in claimed)
    said_at: dict[str, int] = {}  # id -> position in the answer of the values it holds
    for position, item in ordered:
        key = item_key(section, item)
        item_id = item.id.strip()
        if item_id in updated or item_id not in by_id:
            item_id = answered_keys.get(key) or by_key.pop(key, "")
        if item_id in updated:  # the same fact twice in one answer: one item
            again = item.model_copy(
                update={
                    "id": item_id,
                    "evidence": _evidence(item, speakers),
                    "speaker": None,
                    "provisional": False,
                }
            )
            held = merged[item_id]
            if position > said_at[item_id]:  # said later in the answer: its values win
                merged[item_id], said_at[item_id] = overlay(held, again), position
            else:
                merged[item_id] = overlay(again.model_copy(update={"speaker": held.speaker}), held)
            continue
        if not item_id:
            item_id = _new_id(section, item, set(merged) | updated)
        updated.add(item_id)
        said_at[item_id] = position
        answered_keys.setdefault(key, item_id)
        merged[item_id] = _carry_over(item, item_id, by_id.get(item_id), speakers)
    kept = merged.items()
    return [item for item_id, item in kept if item_id in updated or item_id not in removed]


def _unalias(changes: NoteChanges, names: Mapping[str, str]) -> NoteChanges:
    """The answer with the evidence written in segment ids (the prompt's short names)."""
    return changes.with_items(
        {
            section: [
                i.model_copy(update={"evidence": [names.get(e, e) for e in i.evidence]})
                for i in changes.items(section)
            ]
            for section in ClinicalNote.model_fields
        }
    )


def merge_changes(
    changes: NoteChanges,
    *,
    previous: ClinicalNote,
    speakers: Mapping[str, Speaker | None],
    segment_ids: Mapping[str, str] | None = None,
) -> ClinicalNote:
    """``previous`` with ``changes`` applied (see the module docstring). ``speakers``:
    segment id -> speaker, for every segment of the transcript; ``segment_ids``: the
    names the prompt gave segments -> their ids (evidence is answered in those names)."""
    if segment_ids:
        changes = _unalias(changes, segment_ids)
    removed = set(changes.removed)
    update: dict[str, Any] = {}
    for section in _KEYS:
        update[section] = _merge_section(
            section,
            list(getattr(changes, section)),
            list(getattr(previous, section)),
            removed,
            speakers,
        )
    for section in SINGLE_SECTIONS:
        item: NoteItem | None = getattr(changes, section)
        before: NoteItem | None = getattr(previous, section)
        if item is None:
            update[section] = None if before is not None and before.id in removed else before
            continue
        item_id = before.id if before is not None else _new_id(section, item, set())
        update[section] = _carry_over(item, item_id, before, speakers)
    return previous.model_copy(update=update)
