"""Who said it: a segment's speaker role, from the most trusted source at hand.

1. the client named the speaker's role (``start.speakers`` or a ``speakers`` message), by
   the name the meeting shows (compared without case and extra spaces);
2. the audio channel the segment was heard on (two-channel audio: set when the segment is
   made, never changed here);
3. inferred, from who speaks and what they say
   (:mod:`drtranscribe.extraction.rules.roles`): in a meeting where the client named the
   clinician, the one other person who speaks is the patient (a third voice makes that
   unknown again); where nobody named a clinician, the name whose words read most like a
   clinician's (questions, plans) is the clinician and the others patients; a segment
   without a name (one-channel audio) gets a role only when all of it reads as one voice.

Roles are re-derived for every segment whenever what they rest on changes (a new name, a
``speakers`` message), so a past segment's label can change; the board sends it again.
"""

from __future__ import annotations

from collections.abc import Mapping

from drtranscribe.domain.note import Speaker
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.rules.roles import infer_name_roles, infer_segment_role


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

    def of_names(self, said: Mapping[str, list[str]]) -> dict[str, Speaker | None]:
        """Every name's role now, from ``said`` (each named speaker's segment texts); a
        name the client did not label gets its inferred role (or None)."""
        texts: dict[str, list[str]] = {}
        for speaker, lines in said.items():
            texts.setdefault(_norm(speaker), []).extend(lines)
        undeclared = {n for n in texts if n not in self._by_norm}
        named_roles = {self._by_norm[n] for n in texts if n in self._by_norm}
        roles: dict[str, Speaker | None] = {
            n: self._by_norm[n] for n in texts if n not in undeclared
        }
        if "clinician" in named_roles:
            # the one other voice beside a named clinician is the patient; a third: unknown
            alone = len(undeclared) == 1 and "patient" not in named_roles
            roles |= {n: "patient" if alone else None for n in undeclared}
        elif "patient" in named_roles:
            roles |= {n: "clinician" if len(undeclared) == 1 else None for n in undeclared}
        else:
            inferred = infer_name_roles([(n, t) for n in undeclared for t in texts[n]])
            roles |= {n: inferred.get(n) for n in undeclared}
        return roles

    def label(self, segment: Segment, names: Mapping[str, Speaker | None]) -> Segment:
        """``segment`` with its role as the sources say now; ``names`` from
        :meth:`of_names`."""
        if segment.speaker_source == "channel":
            return segment
        if segment.speaker_name is None:
            role = infer_segment_role(segment.text)
            source = "inferred" if role else None
        else:
            name = _norm(segment.speaker_name)
            role = self._by_norm.get(name) or names.get(name)
            source = "client" if name in self._by_norm else ("inferred" if role else None)
        if (segment.speaker, segment.speaker_source) == (role, source):
            return segment
        return segment.model_copy(update={"speaker": role, "speaker_source": source})
