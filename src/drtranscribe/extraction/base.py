"""The extractor port: turn transcript segments into an updated clinical note.

A concrete extractor implements ``_extract_impl``; the public ``extract`` owns the
deadline, the error mapping and the canonical log line, so every provider behaves
the same way at the edge.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import structlog

from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import ProviderError, ProviderTimeout

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ExtractionRequest:
    """What an extractor gets for one note update.

    ``segments`` is the whole transcript so far, in order; ``changed`` names the
    segments that are new or were revised since the previous update. An extractor
    that pays per token (an LLM) sends only the changed ones plus some context; a
    local one may re-read everything.
    """

    note: ClinicalNote
    segments: Sequence[Segment]
    changed: frozenset[str] = field(default_factory=frozenset)


class Extractor(ABC):
    """Base class of every note extractor."""

    name: str = "extractor"
    #: True when every call costs money by the token (hosted LLMs): the note worker then
    #: calls at a cadence (``note.min_new_tokens``) and drafts with the
    #: local rules in between. False: called on every update.
    pays_per_token: ClassVar[bool] = False
    #: False: the chain never hedges to this extractor (it is asked only once the ones
    #: before it failed), see ``resilience.chain``.
    hedge_target: ClassVar[bool] = True

    def __init__(self, *, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    async def extract(self, request: ExtractionRequest) -> ClinicalNote:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                note = await self._extract_impl(request)
        except TimeoutError as exc:
            raise ProviderTimeout(self.name) from exc
        except ProviderError:
            log.warning("extract.failed", provider=self.name)
            raise
        log.info(
            "extract.done",
            provider=self.name,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            segments_changed=len(request.changed),
        )
        return note

    async def probe(self) -> None:
        """Health probe on a synthetic sentence, never patient data."""
        segment = Segment(
            id="probe-0000",
            chunk_seq=0,
            first_chunk_seq=0,
            text="Patient reports a mild headache since yesterday.",
            start=0.0,
            end=3.0,
            provider="probe",
            latency_ms=0.0,
            final=True,
        )
        await self.extract(
            ExtractionRequest(
                note=ClinicalNote(), segments=[segment], changed=frozenset({segment.id})
            )
        )

    @abstractmethod
    async def _extract_impl(self, request: ExtractionRequest) -> ClinicalNote: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources (connections, threads)."""
