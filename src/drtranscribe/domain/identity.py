"""Note-item identity: how an item is named, written once for everyone who names items.

An item's id says what it is about, never when it was found: ``<prefix>-<slug of its
key>`` (``med-metformin``, ``sym-shortness-of-breath``), a vital ``vit-<kind>``, and the
single-valued sections one fixed id each. So the rules extractor, the drafts and the
server's naming of an LLM's new items all give the same fact the same id, and a JSON Patch
updates it in place. When two different items would share an id, the later one gets
``-2``, ``-3``, ... (:func:`unique_id`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

#: Section -> id prefix of its items.
ID_PREFIXES: dict[str, str] = {
    "chief_complaint": "cc",
    "history_of_present_illness": "hpi",
    "symptoms": "sym",
    "medications": "med",
    "allergies": "alg",
    "vitals": "vit",
    "past_medical_history": "pmh",
    "family_history": "fh",
    "social_history": "soc",
    "examination": "exam",
    "assessment": "dx",
    "plan": "plan",
    "follow_up": "fu",
}

#: The single-valued sections' one id each.
SINGLE_IDS: dict[str, str] = {"chief_complaint": "chief-complaint", "follow_up": "follow-up"}


def slug(text: str) -> str:
    """'Shortness of breath' -> 'shortness-of-breath'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def unique_id(base: str, taken: Collection[str]) -> str:
    """``base``, or the first of ``base-2``, ``base-3``, ... that is not ``taken``."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
