"""Who said it: a segment's speaker role, from the most trusted source at hand.

1. the client named the speaker's role (``start.speakers`` or a ``speakers`` message), by
   the name the meeting shows (compared without case and extra spaces);
2. the audio channel the segment was heard on (two-channel audio: set when the segment is
   made, never changed here);
3. inferred: in a meeting where the client named the clinician, the one other person
   who speaks is the patient (a third voice makes that unknown again).

Roles are re-derived for every segment whenever what they rest on changes (a new name, a
``speakers`` message), so a past segment's label can change; the board sends it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from drtranscribe.domain.note import Speaker
from drtranscribe.domain.transcript import Segment


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


class SpeakerRoles:
    def __init__(self, declared: Mapping[str, Speaker] | None = None) -> None:
        self.declared: dict[str, Speaker] = {}  # as the client wrote the names
        self._by_norm: dict[str, Speaker] = {}
        self.update(declared or {})

    def update(self, roles: Mapping[str, Speaker]) -> None:
        for name, role in roles.items():
            # one entry per person: a re-spelt name replaces the earlier spelling
            for old in [n for n in self.declared if _norm(n) == _norm(name)]:
                del self.declared[old]
            self.declared[name] = role
            self._by_norm[_norm(name)] = role

    def label(self, segment: Segment, names_seen: Iterable[str]) -> Segment:
        """``segment`` with its role as the sources say now."""
        if segment.speaker_source == "channel" or segment.speaker_name is None:
            return segment
        name = _norm(segment.speaker_name)
        declared = self._by_norm.get(name)
        if declared is not None:
            return segment.model_copy(update={"speaker": declared, "speaker_source": "client"})
        seen = {_norm(n) for n in names_seen} | {name}
        undeclared = {n for n in seen if n not in self._by_norm}
        named_roles = {self._by_norm[n] for n in seen if n in self._by_norm}
        if undeclared == {name} and "clinician" in named_roles and "patient" not in named_roles:
            return segment.model_copy(update={"speaker": "patient", "speaker_source": "inferred"})
        return segment.model_copy(update={"speaker": None, "speaker_source": None})
