"""AES-256-GCM sealing of one value, and of a stream as length-prefixed frames.

A sealed value is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``, made with a fresh
random nonce (``os.urandom``) under the session's data key, and bound to where it belongs
by its associated data (the Redis field, the audio object and frame), so a sealed value
moved elsewhere does not open. At most a few hundred thousand values are sealed under one
key in a session, far below the 2**32 random-nonce bound for GCM.

A sealed stream (chunk and recording objects) is a sequence of frames::

    MAGIC (4 bytes) || frame || frame || ...      frame = length (4 bytes, big-endian) || sealed

where frame ``i`` is sealed with ``{aad}#{i}``, and the last frame with ``{aad}#{i}#last``,
so frames cannot be reordered, dropped (from the middle or the end), or spliced in from
another object without the open failing. A frame is at most :data:`MAX_FRAME_BYTES`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

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
#: Larger than any frame written (a chunk is at most a few MB): a corrupt length is caught
#: before it is buffered.
MAX_FRAME_BYTES = 64 * 1024 * 1024


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


def _frame_aad(aad: str, index: int, last: bool) -> str:
    return f"{aad}#{index}#last" if last else f"{aad}#{index}"


def seal_frame(key: bytes, plaintext: bytes, aad: str, index: int, *, last: bool) -> bytes:
    sealed = seal(key, plaintext, _frame_aad(aad, index, last))
    return _LENGTH.pack(len(sealed)) + sealed


def seal_stream(key: bytes, parts: list[bytes], aad: str) -> bytes:
    """A whole sealed object (MAGIC and frames) from ``parts``, one frame each."""
    last = len(parts) - 1
    frames = [seal_frame(key, p, aad, i, last=i == last) for i, p in enumerate(parts)]
    return MAGIC + b"".join(frames)


def sealed_size(plain_sizes: list[int]) -> int:
    """The size of :func:`seal_stream` of parts of these sizes (no magic)."""
    return sum(size + FRAME_OVERHEAD for size in plain_sizes)


class FrameReader:
    """Opens a sealed stream fed in blocks of any size, frame by frame. A frame is given
    out once the next one has begun (only then is it known not to be the last); the last
    one at :meth:`close`, which fails unless the stream ended on its sealed last frame."""

    def __init__(self, key: bytes, aad: str) -> None:
        self._key = key
        self._aad = aad
        self._buffer = bytearray()
        self._index = 0
        self._magic_seen = False
        self._held: bytes | None = None  # the latest frame, sealed: last or not?

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
            if length > MAX_FRAME_BYTES + OVERHEAD:
                raise SealError("sealed frame longer than any written")
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                return
            sealed = bytes(self._buffer[_LENGTH.size : end])
            del self._buffer[:end]
            if self._held is not None:
                yield self._open(self._held, last=False)
            self._held = sealed

    def _open(self, sealed: bytes, *, last: bool) -> bytes:
        plain = open_sealed(self._key, sealed, _frame_aad(self._aad, self._index, last))
        self._index += 1
        return plain

    def close(self) -> bytes:
        """The last frame's plaintext; SealError if the stream was cut anywhere."""
        if self._buffer or not self._magic_seen or self._held is None:
            raise SealError("sealed stream truncated")
        held, self._held = self._held, None
        return self._open(held, last=True)


def open_stream(key: bytes, data: bytes, aad: str) -> bytes:
    reader = FrameReader(key, aad)
    opened = b"".join(reader.feed(data))
    return opened + reader.close()


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
        if stored.startswith(b"RIFF"):  # written before sealing existed: see docs/deploy.md
            return stored
        return open_stream(self._key, stored, name)

    def header(self, name: str, wav_header: bytes, *, last: bool) -> bytes:
        """Frame 0 of the recording ``name`` (the last one only when it holds no chunk)."""
        return MAGIC + seal_frame(self._key, wav_header, name, 0, last=last)

    def body(self, name: str, index: int, pcm: bytes, *, last: bool) -> bytes:
        """Frame ``index`` (from 1) of the recording ``name``."""
        return seal_frame(self._key, pcm, name, index, last=last)

    def reader(self, name: str) -> FrameReader:
        return FrameReader(self._key, name)
