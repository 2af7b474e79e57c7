"""Transcript files as turns (labelled text, JSON, WebVTT) and speaker roles from names."""

from __future__ import annotations

import json

import pytest

from drtranscribe.client.captions import caption_inputs, declared_roles
from drtranscribe.domain.transcript import Segment
from drtranscribe.domain.turns import TranscriptFileError, Turn, parse_turns
from drtranscribe.session.speakers import SpeakerRoles

pytestmark = pytest.mark.unit


def test_webvtt_voice_tags_times_and_markup() -> None:
    vtt = (
        "\ufeffWEBVTT - exported\n\nNOTE a comment\n\n"
        "cue-1\n00:00:01.500 --> 00:00:04.000 align:start\n"
        "<v.loud Dr. Rivera>What <i>brings</i> you in?</v>\n\n"
        "01:02.250 --> 01:05.000\n<v Sam Lee><c.yellow>My</c> knee\nhurts.</v>\n\n"
        "01:00:00.000 --> 01:00:01,000\nno voice tag\n"
    )
    assert parse_turns(vtt) == [
        Turn(None, "Dr. Rivera", "What brings you in?", 1.5, 4.0),
        Turn(None, "Sam Lee", "My knee hurts.", 62.25, 65.0),
        Turn(None, None, "no voice tag", 3600.0, 3601.0),
    ]


def test_labelled_text_and_json_turns() -> None:
    text = "Doctor: Any allergies?\nPatient: Penicillin,\ngives me a rash.\n"
    assert parse_turns(text) == [
        Turn("clinician", "Doctor", "Any allergies?"),
        Turn("patient", "Patient", "Penicillin, gives me a rash."),
    ]
    data = (
        '{"turns": [{"speaker": "patient", "text": "Hi", "start": 2, "end": 3.5}, {"text": " "}]}'
    )
    assert parse_turns(data) == [Turn("patient", "patient", "Hi", 2.0, 3.5)]
    with pytest.raises(TranscriptFileError, match="expected"):
        parse_turns('{"turns": "no"}')
    with pytest.raises(TranscriptFileError, match="bad cue timing"):
        parse_turns("WEBVTT\n\n1 --> 2\nx\n")


def test_a_turn_is_replayed_as_growing_revisions_then_final() -> None:
    turns = [Turn("clinician", "Doctor", "one two three four five six seven eight nine")]
    inputs = caption_inputs(turns, words_per_revision=4)
    messages = [json.loads(str(i.frame)) for i in inputs]
    assert [(m["seq"], m["text"], m["final"]) for m in messages] == [
        (0, "one two three four", False),
        (1, "one two three four five six seven eight", False),
        (2, "one two three four five six seven eight nine", True),
    ]
    assert {m["caption_id"] for m in messages} == {"c0"}
    assert [i.due_s for i in inputs] == sorted(i.due_s for i in inputs)
    assert declared_roles(turns, "Dr. X") == {"Doctor": "clinician", "Dr. X": "clinician"}


def _said_by(name: str | None) -> Segment:
    return Segment(
        id="seg-0000", chunk_seq=0, first_chunk_seq=0, text="x", start=0, end=1,
        provider="captions", latency_ms=0, speaker_name=name,
    )  # fmt: skip


def test_roles_from_names() -> None:
    roles = SpeakerRoles({"Dr.  Rivera": "clinician"})
    named = roles.label(_said_by("dr. rivera"), {"dr. rivera"})
    assert (named.speaker, named.speaker_source) == ("clinician", "client")
    other = roles.label(_said_by("Sam"), {"Dr. Rivera", "Sam"})
    assert (other.speaker, other.speaker_source) == ("patient", "inferred")
    # a third voice: who the patient is is no longer clear
    third = roles.label(_said_by("Sam"), {"Dr. Rivera", "Sam", "Kim"})
    assert (third.speaker, third.speaker_source) == (None, None)
    # no clinician named: nothing is inferred
    assert SpeakerRoles().label(_said_by("Sam"), {"Sam"}).speaker is None
    roles.update({"Sam": "other", "DR. RIVERA": "patient"})
    assert roles.declared == {"Sam": "other", "DR. RIVERA": "patient"}
    assert roles.label(_said_by("Dr. Rivera"), set()).speaker == "patient"
    channel = _said_by(None).model_copy(
        update={"speaker": "clinician", "speaker_source": "channel"}
    )
    assert roles.label(channel, set()) == channel
