"""The audio store port and its key layout (the same for local disk and Cloud Storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Protocol


def chunk_key(session_id: str, seq: int) -> str:
    return f"{session_id}/chunk_{seq:04d}.wav"


def final_key(session_id: str, day: date) -> str:
    return f"{day.isoformat()}/{session_id}_final.wav"


def session_of_final(key: str) -> str:
    """The session whose recording is at ``key`` (see :func:`final_key`)."""
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(_FINAL_SUFFIX):
        raise ValueError("not a recording key")
    return name[: -len(_FINAL_SUFFIX)]


_FINAL_SUFFIX = "_final.wav"


class AudioStore(Protocol):
    """Where chunk audio and the combined recording live. Every object is sealed with its
    session's data key (:class:`~drtranscribe.crypto.sealing.ObjectSeal`): the port takes
    and gives plain WAV, the store holds only ciphertext."""

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
