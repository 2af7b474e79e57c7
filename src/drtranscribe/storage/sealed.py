"""What both audio stores do with sealing: find the session's seal, seal and open chunks
(large ones on a thread, off the event loop), and open a stored recording block by block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from drtranscribe.crypto.keys import SessionKeyMissing, SessionKeys
from drtranscribe.crypto.sealing import ObjectSeal
from drtranscribe.errors import SessionTakenOver

#: Chunks above this are sealed and opened on a thread (a 30 s 48 kHz stereo chunk, 5.8 MB,
#: takes ~15 ms); below it the thread hop would cost more than the work.
OFF_LOOP_BYTES = 512 * 1024


async def seal_of(keys: SessionKeys, session_id: str) -> ObjectSeal:
    """The session's seal; an erased session (no key) fences its writer out for good."""
    try:
        return ObjectSeal(await keys.get(session_id))
    except SessionKeyMissing:
        raise SessionTakenOver("this session was erased") from None


async def seal_chunk(seal: ObjectSeal, name: str, wav: bytes) -> bytes:
    if len(wav) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(seal.chunk, name, wav)
    return seal.chunk(name, wav)


async def open_chunk(seal: ObjectSeal, name: str, stored: bytes) -> bytes:
    if len(stored) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(seal.open_chunk, name, stored)
    return seal.open_chunk(name, stored)


async def open_recording(
    seal: ObjectSeal, name: str, blocks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The plain WAV of the stored recording ``name``, frame by frame. A recording written
    before sealing existed (it starts with ``RIFF``) is passed through as it is."""
    reader = seal.reader(name)
    first = True
    async for block in blocks:
        if first and block.startswith(b"RIFF"):
            yield block
            async for rest in blocks:
                yield rest
            return
        first = False
        for plain in reader.feed(block):
            yield plain
    yield reader.close()
