"""The local extractor: offline, deterministic, rules-based.

The note is a pure function of the transcript: every update re-derives it from all
segments, so a revised segment simply yields the re-derived note. Per-segment parsing
is cached by text (bounded LRU), so an update costs the parse of the changed
segments plus a cheap merge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.extraction.rules.lexicon import condition_kinds, conditions, medications
from drtranscribe.extraction.rules.merge import merge
from drtranscribe.extraction.rules.parse import SegmentParser, default_parser


def extract_note(
    segments: Sequence[Segment], *, parser: SegmentParser | None = None
) -> ClinicalNote:
    """The clinical note of a transcript (segments in order)."""
    parse = parser if parser is not None else default_parser
    return merge(segments, [parse(s.text) for s in segments])


class LocalExtractor(Extractor):
    """Rules-based extractor; no network, no model.

    Parsing a segment takes well under a millisecond, so a normal update runs inline.
    When many segments are not cached yet (a resumed session, a long paste) the work
    moves to a thread so the event loop stays responsive. The lexicons (~60 ms to build)
    are loaded when the extractor is built, at startup, not on a session's first update.
    """

    name = "local"
    # Last resort only: racing it against a slow LLM would always win and cancel the LLM.
    hedge_target = False

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        parser: SegmentParser | None = None,
        inline_max_uncached: int = 16,
    ) -> None:
        super().__init__(timeout_s=timeout_s)
        self._parser = parser if parser is not None else default_parser
        self._inline_max_uncached = inline_max_uncached
        medications(), conditions(), condition_kinds()  # cached: built once per process

    async def _extract_impl(self, request: ExtractionRequest) -> ClinicalNote:
        segments = list(request.segments)
        uncached = sum(1 for s in segments if s.text not in self._parser)
        if uncached > self._inline_max_uncached:
            return await asyncio.to_thread(extract_note, segments, parser=self._parser)
        return extract_note(segments, parser=self._parser)
