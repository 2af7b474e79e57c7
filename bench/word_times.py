"""What word times cost: local Whisper decoding the same audio with and without
``word_timestamps`` (two-channel sessions ask for them), side by side, alternating.

    .venv/bin/python bench/word_times.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from drtranscribe.config import WhisperSettings  # noqa: E402
from drtranscribe.transcription.local_whisper import LocalWhisper  # noqa: E402
from stereo import fixture_conversations, speech_conversation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    whisper = LocalWhisper(WhisperSettings())
    model = whisper._load()
    settings = whisper.settings
    for name, mono, _ in [*fixture_conversations(), speech_conversation(13)]:
        audio = (mono.samples[:, 0].astype(np.float32) / 32768)[: 16000 * 25]  # one window
        seconds: dict[bool, list[float]] = {False: [], True: []}
        texts: dict[bool, str] = {}
        for _ in range(args.repeats):
            for timed in (False, True):
                started = time.perf_counter()
                segments, _ = model.transcribe(
                    audio, language="en", beam_size=settings.beam_size, temperature=0.0,
                    without_timestamps=True, condition_on_previous_text=False,
                    vad_filter=settings.vad_filter, word_timestamps=timed,
                )  # fmt: skip
                texts[timed] = " ".join(s.text.strip() for s in segments)
                seconds[timed].append(time.perf_counter() - started)
        plain, timed_s = statistics.median(seconds[False]), statistics.median(seconds[True])
        print(
            f"{name:14s} {audio.size / 16000:5.1f} s audio  text only {plain:.2f} s  "
            f"with word times {timed_s:.2f} s  ({timed_s / plain - 1:+.0%})  "
            f"same text: {texts[False] == texts[True]}"
        )


if __name__ == "__main__":
    main()
