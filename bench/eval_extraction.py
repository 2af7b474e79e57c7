"""Precision / recall of the local rules extractor against the evaluation data.

    .venv/bin/python bench/eval_extraction.py [--data ../shared/data] [--json out.json]

Each consultation's reference turns go through :func:`extract_note` as segments (doctor
-> clinician, patient -> patient), and the note is scored per category against:

* ``fareez_osce``: the human-curated knowledge graph (``reference_kg``): SYMPTOM (present
  and "absent ..."), DIAGNOSIS, drug TREATMENT, PROCEDURE, MEDICAL_HISTORY nodes. This is
  the one *human* reference; the graph is not exhaustive, so precision is a lower bound.
* ``aci_bench``, ``primock57``, ``mts_dialog``: *silver* references. The reference note
  (or the note section of an MTS-Dialog snippet) is read with the same lexicons and
  rules (drugs, symptoms with negation, conditions, vitals, tests, allergies), and the
  terms found there are the reference. This measures how much of what the note says
  the rules recover from the conversation, for terms the lexicons know; it cannot see a
  term missing from the lexicons on either side. ``chief complaint`` is scored against
  ACI-Bench ``metadata.cc`` / PriMock57 ``presenting_complaint``.

Terms are compared after canonicalisation (synonyms and brands to one name); precision
= matched predictions / predictions, recall = matched references / references, micro
averaged over consultations. Nothing here is copied into the project.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drtranscribe.extraction.local import extract_note
from drtranscribe.extraction.note import ClinicalNote, Speaker
from drtranscribe.extraction.rules.lexicon import conditions, medications
from drtranscribe.extraction.rules.negation import find_scopes
from drtranscribe.extraction.rules.parse import SentenceFacts, parse_text
from drtranscribe.extraction.rules.plan import find_tests
from drtranscribe.extraction.rules.symptoms import find_symptoms
from drtranscribe.extraction.rules.text import normalise, slug, tokens
from drtranscribe.transcript import Segment

SPEAKERS: dict[str, Speaker] = {"doctor": "clinician", "patient": "patient"}
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "of", "and", "or", "with", "in", "on", "to", "for", "my", "her", "his"}


# --- scoring ---------------------------------------------------------------------------


@dataclass
class Score:
    ref: int = 0
    pred: int = 0
    ref_hit: int = 0
    pred_hit: int = 0
    docs: int = 0

    def add(self, refs: list[set[str]], preds: list[set[str]]) -> None:
        self.docs += 1
        self.ref += len(refs)
        self.pred += len(preds)
        self.ref_hit += sum(1 for r in refs if any(r & p for p in preds))
        self.pred_hit += sum(1 for p in preds if any(r & p for r in refs))

    @property
    def precision(self) -> float | None:
        return self.pred_hit / self.pred if self.pred else None

    @property
    def recall(self) -> float | None:
        return self.ref_hit / self.ref if self.ref else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)


@dataclass
class Report:
    scores: dict[tuple[str, str, str], Score] = field(default_factory=lambda: defaultdict(Score))
    show: str | None = None  # print misses of categories containing this
    doc: str = ""

    def add(self, dataset: str, category: str, kind: str, refs: Any, preds: Any) -> None:
        refs, preds = list(refs), list(preds)
        self.scores[(dataset, category, kind)].add(refs, preds)
        if self.show and self.show in f"{dataset}/{category}":
            fn = [sorted(r) for r in refs if not any(r & p for p in preds)]
            fp = [sorted(p) for p in preds if not any(r & p for r in refs)]
            if fn or fp:
                print(f"[{dataset}/{category}] {self.doc}  missed={fn}  wrong={fp}")


# --- canonical keys --------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def symptom_keys(text: str) -> set[str]:
    norm = normalise(text)
    keys = {f"sym:{m.name}" for m in find_symptoms(norm, find_scopes(""))}
    return keys or {"raw:" + " ".join(sorted(_words(text)))}


def condition_keys(text: str) -> set[str]:
    norm = normalise(text)
    keys = {f"dx:{c}" for _, _, c in conditions().find(tokens(norm))}
    keys |= {f"sym:{m.name}" for m in find_symptoms(norm, find_scopes(""))}
    # "type 2 diabetes" also counts as "diabetes"
    keys |= {"dx:diabetes" for k in list(keys) if "diabetes" in k}
    return keys or {"raw:" + " ".join(sorted(_words(text)))}


def drug_keys(text: str) -> set[str]:
    norm = normalise(text)
    return {f"med:{c}" for _, _, c in medications().find(tokens(norm))}


def test_keys(text: str) -> set[str]:
    return {f"test:test-{slug(name)}" for name in find_tests(normalise(text))}


# --- the extractor on a record -------------------------------------------------------------


def run(record: dict[str, Any]) -> ClinicalNote:
    segments = [
        Segment(
            id=str(t.get("turn_id") or f"t{i}"),
            chunk_seq=i,
            first_chunk_seq=i,
            text=t["text"],
            start=float(t.get("start") or 0.0),
            end=float(t.get("end") or 0.0),
            provider="reference",
            latency_ms=0.0,
            speaker=SPEAKERS.get(str(t.get("speaker", "")).lower()),
        )
        for i, t in enumerate(record["turns"])
        if t.get("text")
    ]
    return extract_note(segments)


def _sentences(text: str) -> Iterator[SentenceFacts]:
    for paragraph in re.split(r"\n+|•", text or ""):
        yield from parse_text(paragraph)


def silver(text: str) -> dict[str, list[set[str]]]:
    """What the rules read in a reference note (or section)."""
    present: dict[str, None] = {}
    absent: dict[str, None] = {}
    drugs: dict[str, None] = {}
    conds: dict[str, None] = {}
    vit: dict[str, None] = {}
    tests: dict[str, None] = {}
    allergy: dict[str, None] = {}
    family: dict[str, None] = {}
    for s in _sentences(text):
        for m in s.symptoms:
            (absent if m.negated else present)[m.name] = None
        for med in s.medications:
            if not med.negated:
                drugs[med.name] = None
        for c in s.conditions:
            conds[c] = None
        for v in s.vitals:
            vit[f"{v.kind}:{v.value}"] = None
        for name in find_tests(s.norm):
            tests[f"test-{slug(name)}"] = None
        for a in s.allergies:
            allergy["nkda" if a.no_known_allergies else a.substance] = None
        for f in s.family:
            if not f.negated:
                family[f.condition] = None
    for name in present:
        absent.pop(name, None)
    return {
        "present": [{f"sym:{n}"} for n in present],
        "absent": [{f"sym:{n}"} for n in absent],
        "drugs": [{f"med:{n}"} for n in drugs],
        "conditions": [{f"dx:{n}"} for n in conds],
        "vitals": [{v} for v in vit],
        "tests": [{f"test:{t}"} for t in tests],
        "allergies": [{a} for a in allergy],
        "family": [{f"dx:{c}"} for c in family],
    }


def predicted(note: ClinicalNote) -> dict[str, list[set[str]]]:
    pmh_keys = [condition_keys(p.text) for p in note.past_medical_history]
    return {
        "present": [{f"sym:{s.name}"} for s in note.symptoms if not s.negated],
        "absent": [{f"sym:{s.name}"} for s in note.symptoms if s.negated],
        "drugs": [{f"med:{m.name}"} for m in note.medications],
        "assessment": [{f"dx:{d.name}"} for d in note.assessment if d.certainty != "ruled_out"],
        "ruled_out": [{f"dx:{d.name}"} for d in note.assessment if d.certainty == "ruled_out"],
        "pmh": pmh_keys,
        "vitals": [{f"{v.kind}:{v.value}"} for v in note.vitals],
        "tests": [
            {f"test:{p.id.removeprefix('plan-')}"}
            for p in note.plan
            if p.id.startswith("plan-test-")
        ],
        "allergies": [{"nkda" if a.no_known_allergies else a.substance} for a in note.allergies],
        "family": [
            {k for k in condition_keys(f.text.split(":", 1)[-1]) if k.startswith("dx:")}
            for f in note.family_history
            if not f.id.startswith("fh-no-")
        ],
    }


def cc_match(reference: str, note: ClinicalNote) -> tuple[list[set[str]], list[set[str]]]:
    ref = condition_keys(reference) | {"w:" + w for w in _words(reference)}
    if note.chief_complaint is None:
        return [ref], []
    text = note.chief_complaint.text
    pred = condition_keys(text) | {"w:" + w for w in _words(text)}
    ref_w = {k for k in ref if k.startswith("w:")}
    hit = bool((ref - ref_w) & (pred - {k for k in pred if k.startswith("w:")})) or (
        len(ref_w & pred) >= max(1, len(ref_w) // 2)
    )
    return [ref], [ref if hit else {"miss"}]


# --- datasets ------------------------------------------------------------------------------


_REPORT: list[Report] = []


def _records(folder: Path) -> Iterable[dict[str, Any]]:
    for path in sorted(folder.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        for report in _REPORT:
            report.doc = str(path.relative_to(folder))
        yield record


def eval_fareez(folder: Path, report: Report) -> None:
    for rec in _records(folder):
        kg = rec.get("reference_kg") or {}
        nodes = kg.get("nodes") or []
        if not nodes:
            continue
        pred = predicted(run(rec))
        present: list[set[str]] = []
        absent: list[set[str]] = []
        dx: list[set[str]] = []
        ruled: list[set[str]] = []
        drugs: list[set[str]] = []
        procs: list[set[str]] = []
        history: list[set[str]] = []
        for node in nodes:
            text, kind = node["text"], node["type"]
            if kind == "SYMPTOM":
                if re.match(r"(?i)^(absent|no|denies)\b", text):
                    absent.append(symptom_keys(re.sub(r"(?i)^(absent|no|denies)\s+", "", text)))
                else:
                    present.append(symptom_keys(text))
            elif kind == "DIAGNOSIS":
                (ruled if "ruled out" in text.lower() else dx).append(condition_keys(text))
            elif kind == "TREATMENT" and drug_keys(text):
                drugs.append(drug_keys(text))
            elif kind == "PROCEDURE":
                procs.append(test_keys(text) or {"raw:" + text.lower()})
            elif kind == "MEDICAL_HISTORY":
                keys = condition_keys(text)
                if any(k.startswith("dx:") for k in keys):
                    history.append(keys)
        report.add("fareez_osce", "symptoms (present)", "human", present, pred["present"])
        report.add("fareez_osce", "symptoms (absent)", "human", absent, pred["absent"])
        report.add("fareez_osce", "assessment", "human", dx, pred["assessment"])
        report.add("fareez_osce", "assessment (ruled out)", "human", ruled, pred["ruled_out"])
        report.add("fareez_osce", "medications", "human", drugs, pred["drugs"])
        report.add("fareez_osce", "tests ordered", "human", procs, pred["tests"])
        report.add("fareez_osce", "past medical history", "human", history, pred["pmh"])


def eval_aci(folder: Path, report: Report) -> None:
    for rec in _records(folder):
        note_text = rec.get("note") or ""
        sections = rec.get("note_sections") or {}
        pred_note = run(rec)
        pred = predicted(pred_note)
        subj = silver(sections.get("subjective", ""))
        ap = silver(sections.get("assessment_and_plan", ""))
        full = silver(note_text)
        report.add("aci_bench", "symptoms (present)", "silver", subj["present"], pred["present"])
        report.add("aci_bench", "symptoms (absent)", "silver", subj["absent"], pred["absent"])
        report.add("aci_bench", "medications", "silver", full["drugs"], pred["drugs"])
        report.add("aci_bench", "assessment", "silver", ap["conditions"], pred["assessment"])
        report.add("aci_bench", "tests ordered", "silver", ap["tests"], pred["tests"])
        report.add("aci_bench", "vitals", "silver", full["vitals"], pred["vitals"])
        cc = (rec.get("metadata") or {}).get("cc")
        if cc:
            refs, preds = cc_match(cc, pred_note)
            report.add("aci_bench", "chief complaint", "metadata.cc", refs, preds)


def eval_primock(folder: Path, report: Report) -> None:
    for rec in _records(folder):
        pred_note = run(rec)
        pred = predicted(pred_note)
        ref = silver(rec.get("note") or "")
        report.add("primock57", "symptoms (present)", "silver", ref["present"], pred["present"])
        report.add("primock57", "symptoms (absent)", "silver", ref["absent"], pred["absent"])
        report.add("primock57", "medications", "silver", ref["drugs"], pred["drugs"])
        pc = rec.get("presenting_complaint")
        if pc:
            refs, preds = cc_match(pc, pred_note)
            report.add("primock57", "chief complaint", "presenting_complaint", refs, preds)


def eval_mts(folder: Path, report: Report) -> None:
    for rec in _records(folder):
        header = rec.get("section_header")
        section = " ".join((rec.get("note_sections") or {}).values()) or rec.get("note") or ""
        if header not in ("ALLERGY", "MEDICATIONS", "FAM/SOCHX", "PASTMEDICALHX", "ROS", "CC"):
            continue
        pred_note = run(rec)
        pred = predicted(pred_note)
        ref = silver(section)
        if header == "ALLERGY":
            # the section is all allergies: "None." is NKDA, every substance named counts
            nka = any(a.no_known_allergies for s in _sentences(section) for a in s.allergies)
            if nka or re.match(
                r"(?i)\W*(none|no known|nkda|nka|no allerg|no drug|denies)", section
            ):
                refs = [{"nkda"}]
            else:
                refs = [{n} for s in _sentences(section) for n in s.allergens]
            report.add("mts_dialog", "allergies", "silver", refs, pred["allergies"])
        elif header == "MEDICATIONS":
            report.add("mts_dialog", "medications", "silver", ref["drugs"], pred["drugs"])
        elif header == "FAM/SOCHX":
            # the section is all family and social history: every condition it names counts
            report.add("mts_dialog", "family history", "silver", ref["conditions"], pred["family"])
        elif header == "PASTMEDICALHX":
            report.add(
                "mts_dialog", "past medical history", "silver", ref["conditions"], pred["pmh"]
            )
        elif header == "ROS":
            report.add(
                "mts_dialog", "symptoms (present)", "silver", ref["present"], pred["present"]
            )
            report.add("mts_dialog", "symptoms (absent)", "silver", ref["absent"], pred["absent"])
        elif header == "CC":
            refs, preds = cc_match(section, pred_note)
            report.add("mts_dialog", "chief complaint", "section CC", refs, preds)


DATASETS = {
    "fareez_osce": eval_fareez,
    "aci_bench": eval_aci,
    "primock57": eval_primock,
    "mts_dialog": eval_mts,
}


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--json", type=Path, help="write the scores here too")
    parser.add_argument("--show", help="print misses for categories matching 'dataset/category'")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    report = Report(show=args.show)
    _REPORT[:] = [report]
    started = time.perf_counter()
    for name in args.datasets.split(","):
        DATASETS[name](args.data / name, report)
    elapsed = time.perf_counter() - started

    header = (
        f"{'dataset':<12} {'category':<22} {'reference':<20} {'docs':>5} {'ref':>5} "
        f"{'pred':>5}  {'P':>5} {'R':>5} {'F1':>5}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for (dataset, category, kind), s in report.scores.items():
        print(
            f"{dataset:<12} {category:<22} {kind:<20} {s.docs:>5} {s.ref:>5} {s.pred:>5}  "
            f"{_fmt(s.precision)} {_fmt(s.recall)} {_fmt(s.f1)}"
        )
        rows.append(
            {"dataset": dataset, "category": category, "reference": kind, "docs": s.docs,
             "ref": s.ref, "pred": s.pred, "precision": s.precision, "recall": s.recall, "f1": s.f1}
        )  # fmt: skip
    print(f"\n{elapsed:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
