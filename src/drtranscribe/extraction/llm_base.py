"""What every LLM extractor shares, whatever its SDK: the incremental prompt, the
validated answer merged into the note, the ``extract.llm_call`` log line and the health probe.

A concrete extractor implements only :meth:`LLMExtractor._complete`: send a
:class:`~drtranscribe.extraction.llm_prompt.NotePrompt`, return the model's text and
token counts, and map its SDK's errors to ``ProviderError`` on the way out.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import structlog

from drtranscribe.config import ProviderSettings
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.extraction.base import ExtractionRequest, Extractor
from drtranscribe.extraction.llm_note import merge_changes, parse_changes
from drtranscribe.extraction.llm_prompt import DEFAULT_CONTEXT_SEGMENTS, NotePrompt, build_prompt

log = structlog.get_logger(__name__)

#: Upper bound on the answer: a long consultation's note is well under this.
MAX_OUTPUT_TOKENS = 8192

PROBE_TEXT = "Patient reports a mild headache."


@dataclass(frozen=True)
class Completion:
    """A model's answer: its text (None when it gave none) and the tokens it cost."""

    content: str | None
    input_tokens: int | None = None
    output_tokens: int | None = None


def probe_request() -> ExtractionRequest:
    """A one-segment synthetic consultation: never patient data."""
    segment = Segment(
        id="probe-0",
        chunk_seq=0,
        first_chunk_seq=0,
        text=PROBE_TEXT,
        start=0.0,
        end=2.0,
        provider="probe",
        latency_ms=0.0,
        final=True,
        speaker="patient",
    )
    return ExtractionRequest(
        note=ClinicalNote(), segments=[segment], changed=frozenset({"probe-0"})
    )


class LLMExtractor(Extractor):
    """An extractor that asks a hosted LLM for the updated note, incrementally."""

    DEFAULT_MODEL: ClassVar[str]
    pays_per_token: ClassVar[bool] = True

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        name: str,
        context_segments: int = DEFAULT_CONTEXT_SEGMENTS,
    ) -> None:
        super().__init__(timeout_s=settings.timeout_s)
        if context_segments < 0:
            raise ValueError("context_segments must be >= 0")
        self.name = name
        self.model = settings.model or self.DEFAULT_MODEL
        self.context_segments = context_segments

    async def _extract_impl(self, request: ExtractionRequest) -> ClinicalNote:
        prompt = build_prompt(request, context_segments=self.context_segments)
        if not prompt.changed_ids:
            return request.note  # nothing new to read: no call, the note stands
        started = time.perf_counter()
        completion = await self._complete(prompt)
        log.info(
            "extract.llm_call",
            provider=self.name,
            model=self.model,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            segments_sent=len(prompt.changed_ids),
            context_sent=len(prompt.context_ids),
        )
        changes = parse_changes(self.name, completion.content)
        return merge_changes(
            changes,
            previous=request.note,
            speakers={s.id: s.speaker for s in request.segments},
            segment_ids=prompt.segment_ids,
        )

    @abstractmethod
    async def _complete(self, prompt: NotePrompt) -> Completion:
        """One model call; SDK errors leave as mapped ``ProviderError``s."""

    async def probe(self) -> None:
        """Extract a note from one synthetic sentence; raises the mapped ProviderError."""
        await self.extract(probe_request())
