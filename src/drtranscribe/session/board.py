"""The session's transcript: every segment, labelled with its speaker's role, saved
(sealed) before it is sent, and the note keeper told. Audio and captions publish here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from drtranscribe.domain.note import Speaker
from drtranscribe.domain.transcript import Segment, transcript_order
from drtranscribe.protocol import SpeakersAppliedMessage, TranscriptMessage
from drtranscribe.services import ProcessServices
from drtranscribe.session.note_keeper import NoteKeeper
from drtranscribe.session.speakers import SpeakerRoles


class TranscriptBoard:
    def __init__(
        self,
        services: ProcessServices,
        session_id: str,
        *,
        token: int,
        emit: Callable[[Any], Awaitable[None]],
        notes: NoteKeeper,
        roles: SpeakerRoles,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.token = token
        self._emit = emit
        self.notes = notes
        self.roles = roles
        self.segments: dict[str, Segment] = {}
        self._names: dict[str, Speaker | None] = {}  # each name's role, as last read
        # One change of the transcript at a time: a re-labelling must not write back a
        # segment a caption's finalisation changed meanwhile.
        self._lock = asyncio.Lock()

    def ordered(self) -> list[Segment]:
        return sorted(self.segments.values(), key=transcript_order)

    def names(self) -> set[str]:
        return {s.speaker_name for s in self.segments.values() if s.speaker_name}

    def said(self, extra: Segment | None = None) -> dict[str, list[str]]:
        """Every named speaker's segment texts (what role inference reads)."""
        out: dict[str, list[str]] = {}
        segments = self.segments if extra is None else {**self.segments, extra.id: extra}
        for segment in segments.values():
            if segment.speaker_name:
                out.setdefault(segment.speaker_name, []).append(segment.text)
        return out

    def restore(self, segments: list[Segment]) -> None:
        self.segments = {s.id: s for s in segments}
        self._names = self.roles.of_names(self.said())

    async def publish(self, segment: Segment) -> None:
        """Label, save, send. What a named speaker says may change the roles read from
        the words: then every segment is labelled again (only then: a message's cost
        does not grow with the transcript)."""
        async with self._lock:
            names = self.roles.of_names(self.said(segment)) if segment.speaker_name else None
            if names is not None and names != self._names:
                self._names = names
                await self._save_and_send(self.roles.label(segment, names))
                await self._relabel_locked()
            else:
                await self._save_and_send(self.roles.label(segment, self._names))
        self.notes.mark()

    async def name_roles(self, roles: Mapping[str, Speaker]) -> list[str]:
        """The client named speakers' roles: stored, confirmed to the client, the past
        re-labelled; returns the segments changed."""
        async with self._lock:
            named = SpeakerRoles(self.roles.declared)
            named.update(roles)
            await self.services.store.save_speakers(self.session_id, self.token, named.declared)
            self.roles = named
            await self._emit(SpeakersAppliedMessage(roles=named.declared))
            self._names = named.of_names(self.said())
            return await self._relabel_locked()

    async def _relabel_locked(self) -> list[str]:
        """Every segment labelled as the roles say now; changed ones saved and sent again,
        and the note told to read them again (who said it changes what it means)."""
        changed: list[str] = []
        for segment_id in [s.id for s in self.ordered()]:
            segment = self.segments[segment_id]  # as it is now, not as it was listed
            labelled = self.roles.label(segment, self._names)
            if labelled != segment:
                await self._save_and_send(labelled)
                changed.append(segment_id)
        if changed:
            self.notes.reread(changed)
            self.notes.mark()
        return changed

    async def _save_and_send(self, segment: Segment) -> None:
        await self.services.store.save_segment(self.session_id, self.token, segment)
        self.segments[segment.id] = segment
        await self._emit(TranscriptMessage(segment=segment))
