"""Caption input on real consultations (``../shared/data``), through a real server.

(a) **Agreement**: each consultation's turns are replayed as live captions (every turn
    grows a few words per revision, then a final revision; ``--fast``: each message as soon
    as the previous one is acked) and the final note is compared, item by item, with the
    note ``drtranscribe extract`` gives on the same turns (its path: ``extract_turns``).
    An item agrees when it has the same id and the same content (evidence and speaker
    included). Target: 100 %.
(b) **Latency**: a subset is replayed paced at ``--speed`` times the speaking rate. For each
    caption message that changed the note: the time from sending it to the first ``note``
    event resting on its segment. p50 / p95, local extractor.

    .venv/bin/python bench/captions.py --limit 100 --json bench/results/captions.json
    .venv/bin/python bench/captions.py --datasets fareez_osce --latency-docs 5

Nothing read here is written into the project. A server (local extractor) and an embedded
Redis are started here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # devtools/ is not in the installed package

from devtools import devserver  # noqa: E402

from drtranscribe.client import ClientEvent, StreamOptions, stream_inputs  # noqa: E402
from drtranscribe.client.captions import caption_inputs, declared_roles  # noqa: E402
from drtranscribe.domain.note import ClinicalNote, Speaker  # noqa: E402
from drtranscribe.domain.turns import Turn  # noqa: E402
from drtranscribe.extraction.transcript_file import extract_turns  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
#: dataset -> (folder, held out?). Held out: never read while tuning the rules.
DATASETS: dict[str, tuple[str, bool]] = {
    "fareez_osce": ("fareez_osce", False),
    "aci_bench/train": ("aci_bench/train", False),
    "aci_bench/valid": ("aci_bench/valid", True),
    "primock57": ("primock57", False),
    "mts_dialog/train": ("mts_dialog/train", False),
    "mts_dialog/valid": ("mts_dialog/valid", True),
}
ROLES: dict[str, Speaker] = {
    "doctor": "clinician",
    "clinician": "clinician",
    "guest_clinician": "clinician",
    "patient": "patient",
    "family": "other",
    "guest_family": "other",
}
SECTIONS = tuple(ClinicalNote.model_fields)


def turns_of(record: dict[str, Any]) -> list[Turn]:
    turns: list[Turn] = []
    for t in record["turns"]:
        text = " ".join(str(t.get("text") or "").split())
        if not text:
            continue
        label = str(t.get("speaker") or "").lower()
        turns.append(Turn(ROLES.get(label), label.capitalize() or None, text))
    return turns


def items_of(note: ClinicalNote) -> dict[str, dict[str, Any]]:
    return {
        f"{section}/{item.id}": item.model_dump(mode="json")
        for section in SECTIONS
        for item in note.items(section)
    }


async def replay(url: str, turns: list[Turn], *, speed: float | None) -> list[ClientEvent]:
    start = {"type": "start", "input": "captions", "speakers": declared_roles(turns)}
    inputs = caption_inputs(turns)
    if speed is not None:
        inputs = [replace(i, due_s=i.due_s / speed) for i in inputs]
    options = StreamOptions(realtime=speed is not None)
    return [e async for e in stream_inputs(url, start, inputs, options)]


def note_latencies(events: list[ClientEvent]) -> list[float]:
    """Per caption message that changed the note: seconds from sending it to the first
    ``note`` event resting on its segment. A note event is credited to the latest message
    sent before it (and only if that message's segment is in its evidence), once."""
    latest: tuple[str, float] | None = None  # (segment id, sent at) of the newest message
    out: list[float] = []
    for event in events:
        m = event.message
        if event.direction == "out":
            latest = (f"seg-{int(m['caption']):04d}", event.t)  # the n-th caption is seg-n
        elif m.get("type") == "note" and not m.get("snapshot") and latest is not None:
            evidence = {e for op in m["patch"] for e in op.get("evidence", [])}
            if latest[0] in evidence:
                out.append(event.t - latest[1])
                latest = None
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # The agreement replay sends each message once the previous one is acked; the default
    # rate limit (20 captions/s, plenty live) would make it the bottleneck here.
    rate = {
        "DRT_CAPTIONS__RATE_PER_S": str(args.rate),
        "DRT_CAPTIONS__BURST": str(int(args.rate * 2)),
    }
    results: dict[str, Any] = {"agreement": {}, "latency": {}}
    async with devserver.serving("captions", rate) as server:
        for name in args.datasets:
            folder, held_out = DATASETS[name]
            files = sorted((DATA / folder).glob("*.json"))[: args.limit or None]
            agree = total = docs_equal = 0
            differences: list[str] = []
            began = time.monotonic()
            for path in files:
                turns = turns_of(json.loads(path.read_text(encoding="utf-8")))
                if not turns:
                    continue
                expected = items_of(await extract_turns([(t.role, t.text) for t in turns]))
                events = await replay(server.ws_url, turns, speed=None)
                final = events[-1].message
                assert final["type"] == "final", final
                got = items_of(ClinicalNote.model_validate(final["note"]))
                keys = expected.keys() | got.keys()
                same = sum(1 for k in keys if expected.get(k) == got.get(k))
                agree += same
                total += len(keys)
                docs_equal += same == len(keys)
                differences += [f"{path.stem}: {k}" for k in keys if expected.get(k) != got.get(k)]
            results["agreement"][name] = {
                "held_out": held_out,
                "docs": len(files),
                "docs_equal": docs_equal,
                "items": total,
                "items_equal": agree,
                "agreement": round(agree / total, 4) if total else None,
                "differences": differences[:20],
                "seconds": round(time.monotonic() - began, 1),
            }
            print(json.dumps({name: results["agreement"][name]}), flush=True)

        latencies: list[float] = []
        for name in args.latency_datasets:
            folder, _ = DATASETS[name]
            for path in sorted((DATA / folder).glob("*.json"))[: args.latency_docs]:
                turns = turns_of(json.loads(path.read_text(encoding="utf-8")))
                events = await replay(server.ws_url, turns, speed=args.speed)
                latencies += note_latencies(events)
        if latencies:
            results["latency"] = {
                "datasets": args.latency_datasets,
                "docs_each": args.latency_docs,
                "speed": args.speed,
                "updates": len(latencies),
                "p50_ms": round(1000 * statistics.median(latencies), 1),
                "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
                "max_ms": round(1000 * max(latencies), 1),
            }
            print(json.dumps({"latency": results["latency"]}), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--limit", type=int, default=0, help="consultations per dataset (0: all)")
    parser.add_argument(
        "--latency-datasets", nargs="*", default=["primock57"], choices=list(DATASETS)
    )
    parser.add_argument("--latency-docs", type=int, default=6)
    parser.add_argument("--speed", type=float, default=20.0, help="times the speaking rate")
    parser.add_argument("--rate", type=float, default=500.0, help="the server's caption rate")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
