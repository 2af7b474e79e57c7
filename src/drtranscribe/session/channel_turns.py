"""Two-channel audio, transcribed as one conversation: whose words are whose.

The channels are mixed and transcribed together, so every turn is heard inside the
conversation around it (a short turn decoded alone is misheard far more often: "Is that
high?" became "Is that tie?"). The speech-to-text answers with timed words; each word is
given to the channel that is loudest while it is spoken, and consecutive words of one
channel make one turn. The people rarely talk at once and each channel is one person's
microphone, so the loudness tells who spoke even with the other voice bleeding in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drtranscribe.audio.channels import channel_power_db
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.transcription.base import TimedText, joined

#: A word whose loudest channel leads the others by less than this is spoken over, or
#: quiet on both: it stays with the speaker of the word before it.
CLEAR_LEAD_DB = 3.0


@dataclass(frozen=True)
class ChannelTurn:
    """Consecutive words of one channel; times in seconds from the audio's start."""

    channel: int
    text: str
    start: float
    end: float


def whose(audio: PcmAudio, span: TimedText, previous: int | None) -> int:
    """The channel that spoke ``span`` in ``audio``."""
    power = channel_power_db(audio, span.start, span.end)
    loudest = max(range(len(power)), key=power.__getitem__)
    others = [p for channel, p in enumerate(power) if channel != loudest]
    if previous is not None and others and power[loudest] - max(others) < CLEAR_LEAD_DB:
        return previous
    return loudest


def channel_turns(audio: PcmAudio, spans: Sequence[TimedText]) -> list[ChannelTurn]:
    """``spans`` (timed words of ``audio``, in order) grouped into turns by channel."""
    turns: list[tuple[int, list[TimedText]]] = []
    previous: int | None = None
    for span in spans:
        channel = whose(audio, span, previous)
        if turns and turns[-1][0] == channel:
            turns[-1][1].append(span)
        else:
            turns.append((channel, [span]))
        previous = channel
    out = []
    for channel, words in turns:
        text = joined(words)
        if text:
            out.append(ChannelTurn(channel, text, words[0].start, words[-1].end))
    return out
