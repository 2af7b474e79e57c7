"""Audio on local disk, under ``root`` with the Cloud Storage key layout."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from drtranscribe.audio.wav import WAV_HEADER_BYTES, decode_wav, wav_header
from drtranscribe.errors import AudioNotFound, AudioStoreError
from drtranscribe.storage.base import chunk_key

_COPY_BUFFER = 1024 * 1024


class LocalAudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("key escapes the audio root")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    async def put_chunk(self, session_id: str, seq: int, wav: bytes) -> None:
        key = chunk_key(session_id, seq)
        try:
            await asyncio.to_thread(_write_atomic, self._path(key), wav)
        except OSError as exc:  # disk full, permissions: not stored, so not acked
            raise AudioStoreError(f"put_chunk {key}: {exc.strerror}") from exc

    async def get_chunk(self, session_id: str, seq: int) -> bytes:
        key = chunk_key(session_id, seq)
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise AudioNotFound(f"get_chunk {key}: not found", retryable=False) from exc
        except OSError as exc:
            raise AudioStoreError(f"get_chunk {key}: {exc.strerror}") from exc

    async def combine(
        self, session_id: str, seqs: Sequence[int], key: str, *, sample_rate: int, channels: int
    ) -> str:
        sources = [self._path(chunk_key(session_id, s)) for s in seqs]
        dest = self._path(key)
        await asyncio.to_thread(_combine_wavs, sources, dest, sample_rate, channels)
        return self.uri(key)

    async def open_final(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def iter_final(self, key: str, block_bytes: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The combined recording in blocks: never all in memory."""
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise AudioNotFound(f"iter_final {key}: not found", retryable=False) from exc
        try:
            while block := await asyncio.to_thread(handle.read, block_bytes):
                yield block
        finally:
            handle.close()

    async def delete_session(self, session_id: str, final_keys: Sequence[str]) -> None:
        def _delete() -> None:
            shutil.rmtree(self._path(session_id), ignore_errors=True)
            for key in final_keys:
                self._path(key).unlink(missing_ok=True)

        await asyncio.to_thread(_delete)

    async def aclose(self) -> None:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _combine_wavs(sources: list[Path], dest: Path, sample_rate: int, channels: int) -> None:
    """Stream chunk bodies into one file, then write the real header: never all in memory.

    Chunks are stored as canonical 44-byte-header PCM16 WAVs (see the session pipeline),
    so each body is copied as it is.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    total = 0
    with open(tmp, "wb") as out:
        out.write(b"\0" * WAV_HEADER_BYTES)
        for src in sources:
            with open(src, "rb") as fh:
                head = fh.read(WAV_HEADER_BYTES)
                if len(head) < WAV_HEADER_BYTES:
                    raise ValueError(f"{src.name}: truncated chunk")
                if head[36:40] != b"data":  # not canonical: decode it instead
                    fh.seek(0)
                    body = decode_wav(fh.read()).to_s16le()
                    out.write(body)
                    total += len(body)
                    continue
                while block := fh.read(_COPY_BUFFER):
                    out.write(block)
                    total += len(block)
        out.seek(0)
        out.write(wav_header(data_bytes=total, sample_rate=sample_rate, channels=channels))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)
