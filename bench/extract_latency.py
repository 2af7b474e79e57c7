"""Per-update latency of the local extractor, as a live session drives it.

    .venv/bin/python bench/extract_latency.py                       # Fareez + longest ACI, ~1 min
    .venv/bin/python bench/extract_latency.py --aci 0 --words 10    # Fareez only, shorter segments
    .venv/bin/python bench/extract_latency.py --json bench/results/extract-latency.json

A consultation's turns are cut into segments of at most ``--words`` words (default 15,
about five seconds of speech, the size a live transcription chunk yields) that arrive
one by one. Each segment is first sent as an interim text (its first half) and then
revised to its final text under the same id, as the transcription side does; every
arrival and every revision is one note update: ``LocalExtractor.extract`` (the public
path the session's note worker calls, deadline and all) on the whole transcript so far.
So a 15-minute consultation of ~2,000 words gives ~260 updates, the last ones on the
full transcript.

Reported per update: p50 / p95 / max ms, and the mean of the last 10 % of updates (the
full-length transcript, the worst steady state). Also:

* cold start: a fresh interpreter imports the extractor (its regular expressions are
  compiled at import), builds a ``LocalExtractor`` (which loads the lexicon files) and
  runs one update on a one-segment transcript, each timed, median of ``--cold-runs``
  processes; the warm numbers start after one warm-up update;
* resume: one update on a whole consultation with an empty parse cache (a session
  resumed on another instance), which the extractor moves off the event loop.

Logging is set to WARNING, so the per-update ``extract.done`` line (JSON to stderr in
production, a few tens of microseconds) is not in the numbers. Results (timings only,
no transcript text) go to ``--json``. Nothing read here is written into the project.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.local import LocalExtractor
from drtranscribe.extraction.rules.parse import SegmentParser
from drtranscribe.logging import configure_logging

SPEAKERS: dict[str, Speaker] = {"doctor": "clinician", "patient": "patient"}


@dataclass(frozen=True)
class Piece:
    speaker: Speaker | None
    text: str


def pieces(turns: list[dict[str, Any]], words: int) -> list[Piece]:
    """Turns cut into segments of at most ``words`` words, at sentence ends when possible."""
    out: list[Piece] = []
    for t in turns:
        speaker = SPEAKERS.get(str(t.get("speaker") or "").lower())
        ws = str(t.get("text") or "").split()
        while ws:
            cut = min(words, len(ws))
            # prefer to end a segment after a sentence end within the window
            for k in range(cut, max(cut // 2, 1) - 1, -1):
                if ws[k - 1].endswith((".", "?", "!")):
                    cut = k
                    break
            out.append(Piece(speaker, " ".join(ws[:cut])))
            ws = ws[cut:]
    return out


def _segment(i: int, piece: Piece, text: str, final: bool) -> Segment:
    return Segment(
        id=f"seg-{i:04d}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text,
        start=5.0 * i,
        end=5.0 * (i + 1),
        provider="bench",
        latency_ms=0.0,
        final=final,
        speaker=piece.speaker,
    )


async def replay(ps: list[Piece]) -> list[tuple[str, float]]:
    """('append' | 'revise', ms) per update, over one simulated live session."""
    extractor = LocalExtractor(parser=SegmentParser())
    note = ClinicalNote()
    segments: list[Segment] = []
    timings: list[tuple[str, float]] = []
    for i, piece in enumerate(ps):
        ws = piece.text.split()
        interim = " ".join(ws[: max(1, len(ws) // 2)])
        for kind, text, final in (("append", interim, False), ("revise", piece.text, True)):
            seg = _segment(i, piece, text, final)
            if kind == "append":
                segments.append(seg)
            else:
                segments[-1] = seg
            request = ExtractionRequest(
                note=note, segments=list(segments), changed=frozenset({seg.id})
            )
            started = time.perf_counter()
            note = await extractor.extract(request)
            timings.append((kind, (time.perf_counter() - started) * 1000))
    return timings


async def resume(ps: list[Piece]) -> float:
    extractor = LocalExtractor(parser=SegmentParser())
    segments = [_segment(i, p, p.text, True) for i, p in enumerate(ps)]
    request = ExtractionRequest(note=ClinicalNote(), segments=segments)
    started = time.perf_counter()
    await extractor.extract(request)
    return (time.perf_counter() - started) * 1000


# Run in a fresh interpreter: the import, then the first update, timed separately.
_COLD_PROBE = """
import time
started = time.perf_counter()
import asyncio, json
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.local import LocalExtractor
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.logging import configure_logging
from drtranscribe.domain.transcript import Segment
imported = time.perf_counter()
configure_logging(level="WARNING", fmt="json")
seg = Segment(id="seg-0000", chunk_seq=0, first_chunk_seq=0, start=0.0, end=5.0,
              text="I've had a cough and a fever for three days, and I take lisinopril 10 mg.",
              provider="bench", latency_ms=0.0, speaker="patient")
extractor = LocalExtractor()
first = time.perf_counter()
asyncio.run(extractor.extract(ExtractionRequest(note=ClinicalNote(), segments=[seg])))
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000,
                  "construct_ms": (first - imported) * 1000,
                  "first_update_ms": (done - first) * 1000}))
"""


def cold(runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _COLD_PROBE],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "runs": runs,
        "import_ms_median": statistics.median(r["import_ms"] for r in results),
        "construct_ms_median": statistics.median(r["construct_ms"] for r in results),
        "first_update_ms_median": statistics.median(r["first_update_ms"] for r in results),
        "first_update_ms_max": max(r["first_update_ms"] for r in results),
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    tail = values[-max(1, len(values) // 10) :]
    return {
        "updates": len(values),
        "p50_ms": _pct(values, 0.50),
        "p95_ms": _pct(values, 0.95),
        "max_ms": max(values),
        "last10pct_mean_ms": statistics.fmean(tail),
    }


def consultations(data: Path, aci: int) -> list[tuple[str, list[dict[str, Any]]]]:
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for path in sorted((data / "fareez_osce").glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        out.append((f"fareez_osce/{rec['id']}", rec["turns"]))
    if aci:
        acis = []
        for path in sorted((data / "aci_bench").rglob("*.json")):
            rec = json.loads(path.read_text(encoding="utf-8"))
            size = sum(len(str(t.get("text") or "")) for t in rec["turns"])
            acis.append((size, f"aci_bench/{rec['id']}", rec["turns"]))
        acis.sort(key=lambda a: -a[0])
        out += [(name, turns) for _, name, turns in acis[:aci]]
    return out


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--aci", type=int, default=10, help="the N longest ACI-Bench visits")
    parser.add_argument("--words", type=int, default=15, help="words per segment")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    configure_logging(level="WARNING", fmt="json")

    cold_result = cold(args.cold_runs)
    # warm up (lexicons, compiled patterns): the cold cost is reported on its own above
    asyncio.run(replay([Piece("patient", "I take metformin 500 mg and I have a cough.")]))
    per_dataset: dict[str, list[float]] = {}
    append: list[float] = []
    revise: list[float] = []
    rows = []
    for name, turns in consultations(args.data, args.aci):
        ps = pieces(turns, args.words)
        timings = asyncio.run(replay(ps))
        values = [ms for _, ms in timings]
        per_dataset.setdefault(name.split("/")[0], []).extend(values)
        append += [ms for kind, ms in timings if kind == "append"]
        revise += [ms for kind, ms in timings if kind == "revise"]
        words = sum(len(p.text.split()) for p in ps)
        rows.append(
            {"consultation": name, "segments": len(ps), "words": words,
             "resume_ms": asyncio.run(resume(ps)), **summary(values)}
        )  # fmt: skip

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(
        f"cold: import {cold_result['import_ms_median']:.0f} ms, LocalExtractor() "
        f"{cold_result['construct_ms_median']:.0f} ms (lexicons), first update "
        f"{cold_result['first_update_ms_median']:.1f} ms (median of {args.cold_runs} processes, "
        f"max {cold_result['first_update_ms_max']:.1f})\n"
    )
    header = (
        f"| {'consultation':<22} | segs | words | updates | p50 ms | p95 ms | max ms | "
        "last 10% | resume ms |"
    )
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['consultation']:<22} | {r['segments']:>4} | {r['words']:>5} | "
            f"{r['updates']:>7} | {r['p50_ms']:>6.2f} | {r['p95_ms']:>6.2f} | {r['max_ms']:>6.2f} "
            f"| {r['last10pct_mean_ms']:>8.2f} | {r['resume_ms']:>9.1f} |"
        )
    print()
    totals = {f"all {k}": v for k, v in per_dataset.items()}
    totals |= {"all: append": append, "all: revise": revise, "all": append + revise}
    for label, values in totals.items():
        s = summary(values)
        print(
            f"{label:<18} updates {s['updates']:>6}  p50 {s['p50_ms']:.2f} ms  "
            f"p95 {s['p95_ms']:.2f} ms  max {s['max_ms']:.2f} ms"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "words_per_segment": args.words,
            "cold": cold_result,
            "consultations": rows,
            "totals": {k: summary(v) for k, v in totals.items()},
            "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
