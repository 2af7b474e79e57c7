"""The audio store port and its key layout (the same for local disk and Cloud Storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Protocol


def chunk_key(session_id: str, seq: int) -> str:
    return f"{session_id}/chunk_{seq:04d}.wav"


def final_key(session_id: str, day: date) -> str:
    return f"{day.isoformat()}/{session_id}_final.wav"


class AudioStore(Protocol):
    """Where chunk audio and the combined recording live."""

    async def put_chunk(self, session_id: str, seq: int, wav: bytes) -> None:
        """Store a chunk durably; return only once it is safe to ack."""

    async def get_chunk(self, session_id: str, seq: int) -> bytes: ...

    async def combine(
        self, session_id: str, seqs: Sequence[int], key: str, *, sample_rate: int, channels: int
    ) -> str:
        """Write the chunks, in order, as one WAV at ``key``; return its URI."""

    async def open_final(self, key: str) -> bytes: ...

    def iter_final(self, key: str, block_bytes: int = ...) -> AsyncIterator[bytes]:
        """The combined recording in blocks (raises AudioNotFound when absent)."""

    async def delete_session(self, session_id: str, final_keys: Sequence[str]) -> None: ...

    def uri(self, key: str) -> str: ...

    async def aclose(self) -> None: ...
