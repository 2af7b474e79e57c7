"""What sealing costs per chunk: AES-256-GCM of a 5 s chunk and of its transcript segment,
against the work the same chunk already does (storing it durably, decoding it).

Measured interleaved (every round runs each variant once, in a shuffled order) so machine
noise hits them alike; reports medians and the ratio of sealing to the store write.

    .venv/bin/python bench/crypto_cost.py                 # 300 rounds, ~10 s
    .venv/bin/python bench/crypto_cost.py --rounds 1000 --json bench/results/crypto.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.crypto.sealing import ObjectSeal, new_key, open_sealed, seal
from drtranscribe.storage.local import _write_atomic

SEGMENT_JSON = json.dumps(
    {
        "id": "seg-0042", "chunk_seq": 42, "first_chunk_seq": 40, "start": 200.0, "end": 228.0,
        "text": "I have had a dry cough for about two weeks and some chest tightness at night, "
        "no fever, and I take ramipril five milligrams once a day for my blood pressure. " * 2,
        "provider": "local_whisper", "latency_ms": 512.3, "final": True, "speaker": None,
    }
)  # fmt: skip


def _chunk_wav(seconds: float = 5.0, rate: int = 16000) -> bytes:
    rng = np.random.default_rng(5)
    samples = rng.integers(-3000, 3000, (int(seconds * rate), 1), dtype=np.int16)
    return encode_wav(PcmAudio(samples=samples, sample_rate=rate))


def run(rounds: int) -> dict[str, object]:
    wav = _chunk_wav()
    key = new_key()
    objects = ObjectSeal(key)
    name = "s_bench/chunk_0042.wav"
    sealed_chunk = objects.chunk(name, wav)
    sealed_segment = seal(key, SEGMENT_JSON.encode(), "s_bench:segment:seg-0042")
    workdir = Path(tempfile.mkdtemp(prefix="drt-crypto-"))
    target = workdir / "chunk.wav"

    variants: dict[str, Callable[[], object]] = {
        "seal chunk (5 s, 160 kB)": lambda: objects.chunk(name, wav),
        "open chunk": lambda: objects.open_chunk(name, sealed_chunk),
        "seal segment (JSON)": lambda: seal(key, SEGMENT_JSON.encode(), "a"),
        "open segment": lambda: open_sealed(key, sealed_segment, "s_bench:segment:seg-0042"),
        "store write (fsync'd, plain)": lambda: _write_atomic(target, wav),
        "decode WAV (ingest check)": lambda: decode_wav(wav),
    }
    samples: dict[str, list[float]] = {label: [] for label in variants}
    order = list(variants)
    for _ in range(rounds):
        random.shuffle(order)
        for label in order:
            started = time.perf_counter()
            variants[label]()
            samples[label].append((time.perf_counter() - started) * 1e6)
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()
    medians = {label: statistics.median(values) for label, values in samples.items()}
    p95 = {label: sorted(v)[int(0.95 * len(v)) - 1] for label, v in samples.items()}
    per_chunk = (
        medians["seal chunk (5 s, 160 kB)"]
        + medians["open chunk"]
        + 2 * medians["seal segment (JSON)"]  # interim and final segment of a chunk
    )
    return {
        "rounds": rounds,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "median_us": {k: round(v, 1) for k, v in medians.items()},
        "p95_us": {k: round(v, 1) for k, v in p95.items()},
        "sealing_per_chunk_us": round(per_chunk, 1),
        "sealing_vs_store_write": round(per_chunk / medians["store write (fsync'd, plain)"], 3),
        "sealing_share_of_a_core_per_session": round(per_chunk / 5e6, 6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.rounds)
    print("| step | median µs | p95 µs |")
    print("|---|---|---|")
    for label, value in result["median_us"].items():  # type: ignore[attr-defined]
        print(f"| {label} | {value:,.1f} | {result['p95_us'][label]:,.1f} |")  # type: ignore[index]
    print()
    print(
        f"sealing per chunk (seal + open chunk, two segments): {result['sealing_per_chunk_us']} µs"
    )
    print(f"= {result['sealing_vs_store_write']}x the chunk's store write")
    print(
        f"= {result['sealing_share_of_a_core_per_session'] * 100:.4f} % of a core per session "
        "(one 5 s chunk every 5 s)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
