"""Transcript files as turns (labelled text, JSON, WebVTT) and speaker roles from names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drtranscribe.client.captions import caption_inputs, declared_roles
from drtranscribe.domain.transcript import Segment
from drtranscribe.domain.turns import TranscriptFileError, Turn, parse_turns
from drtranscribe.extraction.rules.roles import infer_turn_roles
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


def _said_by(name: str | None, text: str = "x") -> Segment:
    return Segment(
        id="seg-0000", chunk_seq=0, first_chunk_seq=0, text=text, start=0, end=1,
        provider="captions", latency_ms=0, speaker_name=name,
    )  # fmt: skip


def test_roles_from_names() -> None:
    roles = SpeakerRoles({"Dr.  Rivera": "clinician"})

    def label(name: str | None, said: dict[str, list[str]], text: str = "x") -> tuple[Any, ...]:
        labelled = roles.label(_said_by(name, text), roles.of_names(said))
        return labelled.speaker, labelled.speaker_source

    assert label("dr. rivera", {"dr. rivera": ["x"]}) == ("clinician", "client")
    assert label("Sam", {"Dr. Rivera": ["x"], "Sam": ["x"]}) == ("patient", "inferred")
    # a third voice: who the patient is is no longer clear
    assert label("Sam", {"Dr. Rivera": [], "Sam": [], "Kim": []}) == (None, None)
    roles.update({"Sam": "other", "DR. RIVERA": "patient"})
    assert roles.declared == {"Sam": "other", "DR. RIVERA": "patient"}
    assert label("Dr. Rivera", {}) == ("patient", "client")
    channel = _said_by(None).model_copy(
        update={"speaker": "clinician", "speaker_source": "channel"}
    )
    assert roles.label(channel, {}) == channel


def test_roles_read_from_the_words_when_nobody_names_them() -> None:
    roles = SpeakerRoles()
    said = {
        "Kim": ["What brings you in today?", "Any fever or chills?", "Let us start amoxicillin."],
        "Lee": ["I have had a sore throat since Monday.", "No, no fever."],
    }
    names = roles.of_names(said)
    assert names == {"kim": "clinician", "lee": "patient"}
    assert roles.label(_said_by("Lee"), names).speaker_source == "inferred"
    # no name (one-channel audio): a role only when all of the segment reads as one voice
    plain = _said_by(None, "I have had a headache for three days and my neck hurts.")
    assert roles.label(plain, {}).speaker == "patient"
    mixed = _said_by(None, "Do you have any chest pain? No, I do not.")
    assert roles.label(mixed, {}).speaker is None


def test_turn_roles_follow_the_conversation() -> None:
    turns = [
        "Hi, what brings you in today?",
        "I have had a cough for a week.",
        "Any fever?",
        "Yes.",
        "Okay.",  # says nothing alone: the turn-taking prior decides
        "Let us get a chest x ray and I will prescribe an inhaler for you.",
    ]
    assert infer_turn_roles(turns) == [
        "clinician", "patient", "clinician", "patient", "clinician", "clinician",
    ]  # fmt: skip
