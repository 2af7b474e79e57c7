"""AES-256-GCM sealing of one value, and of a stream as length-prefixed frames.

A sealed value is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``, made with a fresh
random nonce (``os.urandom``) under the session's data key, and bound to where it belongs
by its associated data (the Redis field, the audio object and frame), so a sealed value
moved elsewhere does not open. At most a few hundred thousand values are sealed under one
key in a session, far below the 2**32 random-nonce bound for GCM.

A sealed stream (chunk and recording objects) is a sequence of frames::

    MAGIC (4 bytes) || frame || frame || ...      frame = length (4 bytes, big-endian) || sealed

where frame ``i`` is sealed with ``{aad}#{i}``, so frames cannot be reordered, dropped from
the middle, or spliced in from another object without the open failing.
"""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterator, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from drtranscribe.errors import StorageError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES
MAGIC = b"DRE1"  # drTranscribe encrypted, format 1
_LENGTH = struct.Struct(">I")
FRAME_OVERHEAD = _LENGTH.size + OVERHEAD


class SealError(StorageError):
    """A sealed value that does not open: wrong key (erased session), altered, or moved."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(key: bytes, plaintext: bytes, aad: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad.encode())


def open_sealed(key: bytes, sealed: bytes, aad: str) -> bytes:
    if len(sealed) < OVERHEAD:
        raise SealError("sealed value too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad.encode())
    except InvalidTag:
        raise SealError("sealed value does not open with this key here") from None


def seal_frame(key: bytes, plaintext: bytes, aad: str, index: int) -> bytes:
    sealed = seal(key, plaintext, f"{aad}#{index}")
    return _LENGTH.pack(len(sealed)) + sealed


def seal_stream(key: bytes, parts: list[bytes], aad: str, first_index: int = 0) -> bytes:
    """A whole sealed object (MAGIC and frames) from ``parts``, one frame each."""
    frames = [seal_frame(key, p, aad, first_index + i) for i, p in enumerate(parts)]
    return MAGIC + b"".join(frames)


def sealed_size(plain_sizes: list[int]) -> int:
    """The size of :func:`seal_stream` of parts of these sizes (no magic)."""
    return sum(size + FRAME_OVERHEAD for size in plain_sizes)


class FrameReader:
    """Opens a sealed stream fed in blocks of any size, frame by frame."""

    def __init__(self, key: bytes, aad: str) -> None:
        self._key = key
        self._aad = aad
        self._buffer = bytearray()
        self._index = 0
        self._magic_seen = False

    def feed(self, block: bytes) -> Iterator[bytes]:
        self._buffer += block
        if not self._magic_seen:
            if len(self._buffer) < len(MAGIC):
                return
            if bytes(self._buffer[: len(MAGIC)]) != MAGIC:
                raise SealError("not a sealed stream")
            del self._buffer[: len(MAGIC)]
            self._magic_seen = True
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                return
            sealed = bytes(self._buffer[_LENGTH.size : end])
            del self._buffer[:end]
            yield open_sealed(self._key, sealed, f"{self._aad}#{self._index}")
            self._index += 1

    def close(self) -> None:
        if self._buffer or not self._magic_seen:
            raise SealError("sealed stream truncated")


def open_stream(key: bytes, data: bytes, aad: str) -> bytes:
    reader = FrameReader(key, aad)
    opened = b"".join(reader.feed(data))
    reader.close()
    return opened


async def open_blocks(key: bytes, blocks: AsyncIterator[bytes], aad: str) -> AsyncIterator[bytes]:
    """The plaintext of a sealed stream read in blocks, frame by frame."""
    reader = FrameReader(key, aad)
    async for block in blocks:
        for plain in reader.feed(block):
            yield plain
    reader.close()


class ObjectSeal:
    """Seals the audio objects of one session under its data key, each bound to its
    object name: a chunk is one frame; a recording is a header frame (0), then one frame
    of PCM per chunk (1..n)."""

    #: Size of a sealed WAV header frame with the stream's magic in front of it.
    HEADER_BYTES = len(MAGIC) + 44 + FRAME_OVERHEAD

    def __init__(self, key: bytes) -> None:
        self._key = key

    def chunk(self, name: str, wav: bytes) -> bytes:
        return seal_stream(self._key, [wav], name)

    def open_chunk(self, name: str, stored: bytes) -> bytes:
        return open_stream(self._key, stored, name)

    def header(self, name: str, wav_header: bytes) -> bytes:
        return MAGIC + seal_frame(self._key, wav_header, name, 0)

    def body(self, name: str, index: int, pcm: bytes) -> bytes:
        """Frame ``index`` (from 1) of the recording ``name``."""
        return seal_frame(self._key, pcm, name, index)

    def reader(self, name: str) -> FrameReader:
        return FrameReader(self._key, name)
