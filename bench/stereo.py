"""Two-channel audio: role accuracy per segment, and WER against one channel.

Conversations with known speakers and words, each streamed through a real server (local
Whisper): as one channel (the mix), and as two (each speaker's turns cut onto their own
channel, ``devtools/stereo.py``) in each way the server can hear two channels
(``segments.two_channel``: ``mixed``, ``separate``), optionally with the other channel
bleeding in at ``--bleed-db`` (a microphone hearing the meeting's loudspeaker):

* the committed consultation fixtures (``tests/fixtures``: timed, labelled turns);
* conversations made from ``../shared/data/speech`` (real read speech with exact text):
  the clips alternate between the clinician and the patient, with a pause between.

Role accuracy: a (non-empty) segment's true speaker is the one whose reference words it
shares most; accuracy is the share of segments labelled with it. WER: the whole transcript in order
against all turns in order (``bench/wer.py``'s normaliser).

    .venv/bin/python bench/stereo.py
    .venv/bin/python bench/stereo.py --bleed-db -30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # devtools/ is not in the installed package
sys.path.insert(0, str(BENCH))

from devtools import devserver  # noqa: E402
from devtools.stereo import TimedTurn, two_channel  # noqa: E402

from drtranscribe.audio.file import load_audio_file  # noqa: E402
from drtranscribe.audio.pcm import PcmAudio  # noqa: E402
from drtranscribe.client import stream_audio  # noqa: E402
from wer import normalize, wer  # noqa: E402

ROLES = ("clinician", "patient")
SPEECH = ROOT.parent / "shared" / "data" / "speech"
PAUSE_S = 0.6


def fixture_conversations() -> list[tuple[str, PcmAudio, list[TimedTurn]]]:
    manifest = json.loads((ROOT / "tests" / "fixtures" / "manifest.json").read_text())
    out = []
    for name, entry in manifest.items():
        if not entry.get("turns"):
            continue
        turns = [
            TimedTurn(t["speaker"], t["start_s"], t["end_s"], t["text"]) for t in entry["turns"]
        ]
        out.append((name, load_audio_file(ROOT / "tests" / "fixtures" / entry["file"]), turns))
    return out


def speech_conversation(clips: int) -> tuple[str, PcmAudio, list[TimedTurn]]:
    """Read-speech clips, alternating speakers, as one mono conversation at 16 kHz."""
    manifest = json.loads((SPEECH / "manifest.json").read_text())[:clips]
    parts: list[np.ndarray[Any, Any]] = []
    turns: list[TimedTurn] = []
    at = 0.0
    rate = 16000
    for index, clip in enumerate(manifest):
        audio = load_audio_file(SPEECH / clip["file"])  # decoded to 16 kHz mono
        pause = np.zeros((int(PAUSE_S * rate), 1), dtype=np.int16)
        parts += [audio.samples[:, :1], pause]
        turns.append(TimedTurn(ROLES[index % 2], at, at + audio.duration_s, clip["text"]))
        at += audio.duration_s + PAUSE_S
    return "speech_clips", PcmAudio(np.concatenate(parts), rate), turns


def with_bleed(stereo: PcmAudio, bleed_db: float | None) -> PcmAudio:
    if bleed_db is None:
        return stereo
    gain = 10 ** (bleed_db / 20)
    s = stereo.samples.astype(np.float32)
    mixed = s + gain * s[:, ::-1]
    return PcmAudio(np.clip(mixed, -32768, 32767).astype(np.int16), stereo.sample_rate)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", normalize(text)))


def true_role(segment: dict[str, Any], turns: list[TimedTurn]) -> str | None:
    """Who said ``segment``: of the turns its time span overlaps, the one whose words it
    shares most (ties: the longer overlap in time); None if it shares none."""
    words = _words(segment["text"])
    lo, hi = segment["start"] - 0.5, segment["end"] + 0.5
    near = [t for t in turns if t.end_s > lo and t.start_s < hi]

    def score(t: TimedTurn) -> tuple[int, float]:
        shared = len(words & _words(t.text))
        return shared, min(hi, t.end_s) - max(lo, t.start_s)

    best = max(near, key=score, default=None)
    return best.role if best is not None and score(best)[0] else None


async def transcript(
    url: str, audio: PcmAudio, roles: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    events = [e async for e in stream_audio(url, audio, realtime=False, channel_roles=roles)]
    final = events[-1].message
    assert final["type"] == "final", final
    segments: list[dict[str, Any]] = final["transcript"]
    return segments


def _judged(two: list[dict[str, Any]], turns: list[TimedTurn]) -> list[tuple[str, str]]:
    judged = [(s["speaker"], true_role(s, turns)) for s in two if s["text"]]
    return [(got, want) for got, want in judged if want is not None]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every conversation as one channel, then as two channels in each ``--modes`` (a
    server per mode, ``segments.two_channel``), side by side."""
    rows: dict[str, Any] = {}
    conversations = [*fixture_conversations(), speech_conversation(args.clips)]
    for mode in args.modes:
        env = {"DRT_SEGMENTS__TWO_CHANNEL": mode}
        async with devserver.serving(f"stereo-{mode}", env) as server:
            for name, mono, turns in conversations:
                row = rows.setdefault(name, {"audio_s": round(mono.duration_s, 1)})
                reference = " ".join(t.text for t in sorted(turns, key=lambda t: t.start_s))
                if "wer_one_channel" not in row:
                    one = await transcript(server.ws_url, mono, None)
                    row["wer_one_channel"] = round(wer(reference, _text(one)).wer, 4)
                    row["words"] = len(reference.split())
                stereo = with_bleed(two_channel(mono, turns, ROLES), args.bleed_db)
                two = await transcript(server.ws_url, stereo, ROLES)
                judged = _judged(two, turns)
                row[mode] = {
                    "segments": len(judged),
                    "role_correct": sum(g == w for g, w in judged),
                    "wer": round(wer(reference, _text(two)).wer, 4),
                }
                print(json.dumps({name: row}), flush=True)
    return {"bleed_db": args.bleed_db, "conversations": rows}


def _text(segments: list[dict[str, Any]]) -> str:
    return " ".join(s["text"] for s in segments if s["text"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bleed-db", type=float, default=None, help="e.g. -30: cross-talk")
    parser.add_argument("--clips", type=int, default=13, help="speech clips in the conversation")
    parser.add_argument(
        "--modes", nargs="+", default=["mixed", "separate"], choices=["mixed", "separate"]
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
