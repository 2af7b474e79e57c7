"""Speaker roles read from the words (``extraction/rules/roles.py``), on real consultations.

For each labelled consultation in ``../shared/data`` (turns whose speaker is the doctor or
the patient; family members and others are left out and counted), the roles are inferred
without the labels and compared turn by turn:

* ``alone``: each turn by its own score (positive: clinician);
* ``sequence``: the conversation as a whole (Viterbi with a turn-taking prior): what a
  one-channel audio session uses;
* ``by name``: the speakers' names known but not their roles (captions whose names the
  client did not label): each name's turns summed, the most clinician-like name is the
  clinician.

    .venv/bin/python bench/roles.py
    .venv/bin/python bench/roles.py --json bench/results/roles.json

The rules were written reading the development splits (``aci_bench/train``,
``mts_dialog/train``, ``primock57``, ``fareez_osce``); ``aci_bench/valid`` and
``mts_dialog/valid`` are held out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from drtranscribe.domain.note import Speaker
from drtranscribe.extraction.rules.roles import (
    clinician_score,
    infer_name_roles,
    infer_turn_roles,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS: dict[str, tuple[str, bool]] = {
    "fareez_osce": ("fareez_osce", False),
    "aci_bench/train": ("aci_bench/train", False),
    "primock57": ("primock57", False),
    "mts_dialog/train": ("mts_dialog/train", False),
    "aci_bench/valid": ("aci_bench/valid", True),
    "mts_dialog/valid": ("mts_dialog/valid", True),
}
LABELS: dict[str, Speaker] = {"doctor": "clinician", "patient": "patient"}


def labelled_turns(record: dict[str, Any]) -> tuple[list[tuple[Speaker, str]], int]:
    """(role, text) of the doctor's and the patient's turns; and how many others there were."""
    turns: list[tuple[Speaker, str]] = []
    others = 0
    for t in record["turns"]:
        text = " ".join(str(t.get("text") or "").split())
        if not text:
            continue
        role = LABELS.get(str(t.get("speaker") or "").lower())
        if role is None:
            others += 1
        else:
            turns.append((role, text))
    return turns, others


def evaluate(folder: str) -> dict[str, Any]:
    counts = {"turns": 0, "alone": 0, "sequence": 0, "by_name": 0, "others_left_out": 0}
    docs = 0
    for path in sorted((DATA / folder).glob("*.json")):
        turns, others = labelled_turns(json.loads(path.read_text(encoding="utf-8")))
        counts["others_left_out"] += others
        if not turns:
            continue
        docs += 1
        truth = [role for role, _ in turns]
        texts = [text for _, text in turns]
        alone = ["clinician" if clinician_score(t) > 0 else "patient" for t in texts]
        sequence = infer_turn_roles(texts)
        names = {"clinician": "Speaker A", "patient": "Speaker B"}
        by_name = infer_name_roles([(names[r], t) for r, t in turns])
        named = [by_name[names[r]] for r in truth]
        counts["turns"] += len(turns)
        counts["alone"] += sum(a == b for a, b in zip(alone, truth, strict=True))
        counts["sequence"] += sum(a == b for a, b in zip(sequence, truth, strict=True))
        counts["by_name"] += sum(a == b for a, b in zip(named, truth, strict=True))
    n = counts["turns"] or 1
    return {
        "docs": docs,
        **counts,
        "accuracy_alone": round(counts["alone"] / n, 4),
        "accuracy_sequence": round(counts["sequence"] / n, 4),
        "accuracy_by_name": round(counts["by_name"] / n, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    print(f"{'dataset':18} {'held out':8} {'docs':>5} {'turns':>6} {'alone':>7} {'sequence':>8} "
          f"{'by name':>7}")  # fmt: skip
    for name, (folder, held_out) in DATASETS.items():
        r = results[name] = {"held_out": held_out, **evaluate(folder)}
        print(
            f"{name:18} {'yes' if held_out else 'no':8} {r['docs']:5} {r['turns']:6} "
            f"{r['accuracy_alone']:7.3f} {r['accuracy_sequence']:8.3f} {r['accuracy_by_name']:7.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
