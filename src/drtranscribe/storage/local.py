"""Audio on local disk, under ``root`` with the Cloud Storage key layout."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from drtranscribe.audio.wav import WAV_HEADER_BYTES, decode_wav, wav_header
from drtranscribe.crypto.keys import SessionKeys
from drtranscribe.crypto.sealing import ObjectSeal
from drtranscribe.errors import AudioNotFound, AudioStoreError
from drtranscribe.storage.base import chunk_key, session_of_final
from drtranscribe.storage.sealed import open_chunk, open_recording, seal_chunk, seal_of


class LocalAudioStore:
    def __init__(self, root: Path, *, keys: SessionKeys) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.keys = keys

    async def _seal(self, session_id: str) -> ObjectSeal:
        return await seal_of(self.keys, session_id)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("key escapes the audio root")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    async def put_chunk(self, session_id: str, seq: int, wav: bytes) -> None:
        key = chunk_key(session_id, seq)
        sealed = await seal_chunk(await self._seal(session_id), key, wav)
        try:
            await asyncio.to_thread(_write_atomic, self._path(key), sealed)
        except OSError as exc:  # disk full, permissions: not stored, so not acked
            raise AudioStoreError(f"put_chunk {key}: {exc.strerror}") from exc

    async def get_chunk(self, session_id: str, seq: int) -> bytes:
        key = chunk_key(session_id, seq)
        seal = await self._seal(session_id)
        try:
            stored = await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise AudioNotFound(f"get_chunk {key}: not found", retryable=False) from exc
        except OSError as exc:
            raise AudioStoreError(f"get_chunk {key}: {exc.strerror}") from exc
        return await open_chunk(seal, key, stored)

    async def combine(
        self, session_id: str, seqs: Sequence[int], key: str, *, sample_rate: int, channels: int
    ) -> str:
        seal = await self._seal(session_id)
        sources = [(chunk_key(session_id, s), self._path(chunk_key(session_id, s))) for s in seqs]
        dest = self._path(key)
        await asyncio.to_thread(_combine_wavs, sources, dest, key, seal, sample_rate, channels)
        return self.uri(key)

    async def open_final(self, key: str) -> bytes:
        return b"".join([block async for block in self.iter_final(key)])

    async def iter_final(self, key: str, block_bytes: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The combined recording in blocks, opened frame by frame: never all in memory."""
        seal = await self._seal(session_of_final(key))
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise AudioNotFound(f"iter_final {key}: not found", retryable=False) from exc

        async def blocks() -> AsyncIterator[bytes]:
            while block := await asyncio.to_thread(handle.read, block_bytes):
                yield block

        try:
            async for plain in open_recording(seal, key, blocks()):
                yield plain
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


def _combine_wavs(
    sources: list[tuple[str, Path]],
    dest: Path,
    dest_key: str,
    seal: ObjectSeal,
    sample_rate: int,
    channels: int,
) -> None:
    """One sealed frame of PCM per chunk into one file, then the real header frame in
    front (its size is fixed): one chunk in memory at a time, never the recording."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    total = 0
    with open(tmp, "wb") as out:
        out.write(b"\0" * ObjectSeal.HEADER_BYTES)
        for index, (key, src) in enumerate(sources, start=1):
            body = pcm_body(key, seal.open_chunk(key, src.read_bytes()))
            out.write(seal.body(dest_key, index, bytes(body), last=index == len(sources)))
            total += len(body)
        out.seek(0)
        header = wav_header(data_bytes=total, sample_rate=sample_rate, channels=channels)
        out.write(seal.header(dest_key, header, last=not sources))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)


def pcm_body(key: str, wav: bytes) -> bytes | memoryview:
    """The PCM16 samples of a chunk: after its canonical header, else decoded."""
    if len(wav) < WAV_HEADER_BYTES:
        raise ValueError(f"{key}: truncated chunk")
    if wav[36:40] != b"data":  # not canonical: decode it instead
        return decode_wav(wav).to_s16le()
    return memoryview(wav)[WAV_HEADER_BYTES:]
