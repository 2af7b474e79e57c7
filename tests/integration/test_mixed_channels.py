"""Two-channel audio heard mixed (``segments.two_channel: mixed``): the channels are
transcribed together and each timed word goes to the channel loudest while it is spoken;
each turn is a segment carrying its channel's speaker. Real Redis and audio store; the
speech-to-text is scripted with timed words."""

from __future__ import annotations

import numpy as np
import pytest

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.config import SegmentSettings
from drtranscribe.protocol import AudioFormat
from drtranscribe.transcription.base import (
    Heard,
    Priority,
    SpeechToText,
    TimedText,
    TranscriptionRequest,
)
from tests.integration.test_session_pipeline import (  # noqa: F401 - the fixture
    RATE,
    KeywordExtractor,
    MakeSession,
    make_session_fixture,
)

pytestmark = pytest.mark.integration

STEREO = AudioFormat(
    encoding="pcm_s16le", sample_rate=RATE, channels=2, channel_roles=["clinician", "patient"]
)


def _conversation(*talk: tuple[int, float, float], seconds: float = 5.0) -> bytes:
    """Two channels, each silent but where ``talk`` (channel, from, to) has it speak (a
    tone), with the other channel hearing it 30 dB down (cross-talk)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    samples = np.zeros((n, 2), dtype=np.float64)
    for channel, start, end in talk:
        span = slice(int(start * RATE), int(end * RATE))
        voice = 8000 * np.sin(2 * np.pi * 300 * t[span])
        samples[span, channel] += voice
        samples[span, 1 - channel] += voice * 10 ** (-30 / 20)
    return PcmAudio(samples=samples.astype(np.int16), sample_rate=RATE).to_s16le()


def _words(*words: tuple[str, float, float]) -> tuple[TimedText, ...]:
    return tuple(TimedText(text, start, end) for text, start, end in words)


class TimedSTT(SpeechToText):
    """Answers interim and final passes with scripted timed words (or plain text)."""

    name = "timed"

    def __init__(
        self, interim: list[tuple[TimedText, ...] | str], final: list[tuple[TimedText, ...] | str]
    ) -> None:
        super().__init__(timeout_s=5)
        self.interim, self.final = list(interim), list(final)
        self.requests: list[TranscriptionRequest] = []

    async def _transcribe_impl(self, request: TranscriptionRequest) -> Heard | str:
        self.requests.append(request)
        answer = (self.final if request.priority is Priority.FINAL else self.interim).pop(0)
        if isinstance(answer, str):
            return answer
        return Heard("".join(w.text for w in answer).strip(), answer)


QUESTION_AND_ANSWER = _words(
    (" Any", 0.2, 0.5), (" chest", 0.5, 0.9), (" pain?", 0.9, 1.8),
    (" No,", 2.6, 3.0), (" and", 3.0, 3.2), (" I", 3.2, 3.3), (" take", 3.3, 3.6),
    (" aspirin.", 3.6, 4.4),
)  # fmt: skip


async def test_each_turn_is_a_segment_with_its_channels_speaker(
    make_session: MakeSession,
) -> None:
    stt = TimedSTT(interim=[QUESTION_AND_ANSWER], final=[QUESTION_AND_ANSWER])
    session, sent = await make_session(stt, KeywordExtractor(), audio=STEREO)
    await session.accept_chunk(_conversation((0, 0.2, 1.8), (1, 2.6, 4.4)))
    final = await session.stop()

    assert all(r.timed for r in stt.requests)  # word times asked for
    shown = [
        (s["id"], s["final"], s["speaker"], s["channel"], s["text"], s["start"], s["end"])
        for s in (m["segment"] for m in sent if m["type"] == "transcript")
    ]
    assert shown == [
        ("seg-0000", False, "clinician", 0, "Any chest pain?", 0.2, 1.8),
        ("seg-0000-t2", False, "patient", 1, "No, and I take aspirin.", 2.6, 4.4),
        ("seg-0000", True, "clinician", 0, "Any chest pain?", 0.2, 1.8),
        ("seg-0000-t2", True, "patient", 1, "No, and I take aspirin.", 2.6, 4.4),
    ]
    assert [s.speaker_source for s in final.transcript] == ["channel", "channel"]
    assert [m.evidence for m in final.note.medications] == [["seg-0000-t2"]]


async def test_a_turn_the_final_pass_no_longer_hears_is_emptied(
    make_session: MakeSession,
) -> None:
    """The interim pass heard three turns (a cough on the patient's channel read as a
    word), the final pass two: the third segment is sent again, final and empty."""
    interim = _words((" Any", 0.2, 0.5), (" pain?", 0.5, 1.8), (" Hm", 2.6, 3.0),
                     (" okay", 4.0, 4.6))  # fmt: skip
    final = _words((" Any", 0.2, 0.5), (" pain", 0.5, 1.8), (" okay?", 4.0, 4.6))
    stt = TimedSTT(interim=[interim], final=[final])
    session, sent = await make_session(stt, KeywordExtractor(), audio=STEREO)
    await session.accept_chunk(_conversation((0, 0.2, 1.8), (1, 2.6, 3.0), (0, 4.0, 4.6)))
    result = await session.stop()

    segments = [m["segment"] for m in sent if m["type"] == "transcript"]
    interim_turns = [(s["id"], s["speaker"], s["text"]) for s in segments if not s["final"]]
    assert interim_turns == [
        ("seg-0000", "clinician", "Any pain?"),
        ("seg-0000-t2", "patient", "Hm"),
        ("seg-0000-t3", "clinician", "okay"),
    ]
    assert [(s.id, s.speaker, s.text) for s in result.transcript] == [
        ("seg-0000", "clinician", "Any pain okay?"),
        ("seg-0000-t2", "patient", ""),
        ("seg-0000-t3", "clinician", ""),
    ]
    assert all(s.final for s in result.transcript)


async def test_a_provider_without_times_gives_the_window_to_its_loudest_channel(
    make_session: MakeSession,
) -> None:
    stt = TimedSTT(interim=["I take aspirin"], final=["I take aspirin daily"])
    session, _ = await make_session(stt, KeywordExtractor(), audio=STEREO)
    await session.accept_chunk(_conversation((0, 0.2, 0.6), (1, 1.0, 4.8)))
    result = await session.stop()
    assert [(s.id, s.speaker, s.text, s.start, s.end) for s in result.transcript] == [
        ("seg-0000", "patient", "I take aspirin daily", 0.0, 5.0)
    ]


class WhenSTT(SpeechToText):
    """Hears "any pain" in audio loud in its first half, "no" in its second half."""

    name = "when"

    def __init__(self) -> None:
        super().__init__(timeout_s=5)
        self.requests: list[TranscriptionRequest] = []

    async def _transcribe_impl(self, request: TranscriptionRequest) -> str:
        self.requests.append(request)
        half = request.audio.size // 2
        early = float(np.abs(request.audio[:half]).mean())
        late = float(np.abs(request.audio[half:]).mean())
        return "any pain" if early > late else "no"


async def test_separate_channels_stay_available(make_session: MakeSession) -> None:
    stt = WhenSTT()
    segments = SegmentSettings(two_channel="separate")
    session, _ = await make_session(stt, KeywordExtractor(), audio=STEREO, segments=segments)
    await session.accept_chunk(_conversation((0, 0.2, 1.8), (1, 2.6, 4.4)))
    result = await session.stop()
    assert not any(r.timed for r in stt.requests)
    assert sorted((s.id, s.speaker, s.text) for s in result.transcript) == [
        ("seg-0000-ch0", "clinician", "any pain"),
        ("seg-0000-ch1", "patient", "no"),
    ]


class NoSpansSTT(SpeechToText):
    """Text, with an empty list of times (a provider whose timed answer came back bare)."""

    name = "bare"

    async def _transcribe_impl(self, request: TranscriptionRequest) -> Heard:
        return Heard("I take aspirin", ())


async def test_text_without_any_timed_span_is_not_lost(make_session: MakeSession) -> None:
    session, _ = await make_session(NoSpansSTT(timeout_s=5), KeywordExtractor(), audio=STEREO)
    await session.accept_chunk(_conversation((1, 0.5, 4.5)))
    result = await session.stop()
    assert [(s.speaker, s.text) for s in result.transcript] == [("patient", "I take aspirin")]
