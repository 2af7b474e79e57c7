"""The session pipeline in-process, on a file: what ``drtranscribe transcribe`` runs."""

from __future__ import annotations

import sys

from pydantic import BaseModel

from drtranscribe.audio.file import split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.config import Settings
from drtranscribe.protocol import AudioFormat, FinalMessage, StartMessage
from drtranscribe.runtime import services_for
from drtranscribe.session.lifecycle import start_session


async def transcribe_in_process(
    settings: Settings, audio: PcmAudio, *, chunk_seconds: float = 5.0, progress: bool = False
) -> FinalMessage:
    """Chunk ``audio`` as a live client would and run it through a real session."""

    async def ignore(_: BaseModel) -> None:
        return None

    chunks = list(split_chunks(audio, chunk_seconds))
    async with services_for(settings, monitor=False) as services:
        start = StartMessage(
            type="start",
            audio=AudioFormat(
                encoding="pcm_s16le", sample_rate=audio.sample_rate, channels=audio.channels
            ),
        )
        session = await start_session(services, start, ignore)
        for index, chunk in enumerate(chunks):
            await session.wait_for_room()
            await session.accept_chunk(chunk.to_s16le())
            if progress:
                done = (index + 1) / len(chunks)
                bar = "#" * int(done * 30)
                print(f"\r[{bar:<30}] {done:4.0%}", end="", file=sys.stderr, flush=True)
        final = await session.stop()
        if progress:
            print(file=sys.stderr)
        return final
