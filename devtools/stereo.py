"""Two-channel consultations made from one-channel recordings with timed, labelled turns:
each speaker's turns are cut onto their own channel (silence elsewhere), as a browser
extension sends the clinician's microphone on channel 0 and the meeting's audio on 1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drtranscribe.audio.pcm import PcmAudio


@dataclass(frozen=True)
class TimedTurn:
    role: str
    start_s: float
    end_s: float
    text: str = ""


def two_channel(
    audio: PcmAudio,
    turns: Sequence[TimedTurn],
    roles: Sequence[str] = ("clinician", "patient"),
    *,
    margin_s: float = 0.15,
) -> PcmAudio:
    """``audio`` (mono) as one channel per role; a turn's span (with ``margin_s`` either
    side, never into the next turn) is copied onto its speaker's channel."""
    mono = audio.samples[:, 0]
    out = np.zeros((mono.shape[0], len(roles)), dtype=np.int16)
    rate = audio.sample_rate
    ordered = sorted(turns, key=lambda t: t.start_s)
    for index, turn in enumerate(ordered):
        lower = ordered[index - 1].end_s if index else 0.0
        upper = ordered[index + 1].start_s if index + 1 < len(ordered) else audio.duration_s
        start = int(max(lower, turn.start_s - margin_s) * rate)
        end = int(min(upper, turn.end_s + margin_s) * rate)
        out[start:end, roles.index(turn.role)] = mono[start:end]
    return PcmAudio(samples=out, sample_rate=rate)


FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def fixture_turns(name: str) -> list[TimedTurn]:
    """The timed, labelled turns of a committed consultation fixture (its manifest)."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return [
        TimedTurn(t["speaker"], t["start_s"], t["end_s"], t["text"])
        for t in manifest[name]["turns"]
    ]


def one_channel(audio: PcmAudio, channel: int) -> PcmAudio:
    """Channel ``channel`` of ``audio``, as mono (one speaker's side, e.g. for a fake
    microphone)."""
    return PcmAudio(samples=audio.samples[:, channel : channel + 1], sample_rate=audio.sample_rate)
