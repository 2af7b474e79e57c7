"""A session begins: started new, or resumed from what the store holds (on any instance).

Both give a :class:`~drtranscribe.session.live.LiveSession` whose workers run, after
telling the client (``session``; on resume also the transcript so far and the whole note).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable

from drtranscribe.errors import SessionError
from drtranscribe.protocol import (
    FinalMessage,
    NoteMessage,
    ResumeMessage,
    StartMessage,
    TranscriptMessage,
)
from drtranscribe.services import ProcessServices
from drtranscribe.session.live import Emit, LiveSession
from drtranscribe.state.record import SessionRecord


def new_session_id() -> str:
    return "s_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


async def start_session(
    services: ProcessServices,
    message: StartMessage,
    emit: Emit,
    *,
    session_id: str | None = None,
    tenant: str = "default",
    on_taken_over: Callable[[], Awaitable[None]] | None = None,
) -> LiveSession:
    """A new session (``session_id`` when a stream token reserved one) of ``tenant``."""
    session_id = session_id or new_session_id()
    existing = await services.store.meta(session_id)
    if existing and existing.get("status") != "reserved":
        raise SessionError("session_exists", "this session was already started; resume it")
    resume_token = secrets.token_urlsafe(32)
    audio = {"audio_format": message.audio.model_dump_json()} if message.audio else {}
    token = await services.store.create(
        session_id,
        {
            "status": "active",
            "input": message.input,
            **audio,
            "language": message.language,
            "next_seq": 0,
            "elapsed_s": 0.0,
            "tenant": tenant,
        },
        message.metadata,
        resume_token=resume_token,
        instance=services.instance_id,
        speakers=message.speakers,
    )
    session = LiveSession(
        services,
        session_id,
        message.audio,
        message.language,
        emit,
        token=token,
        on_taken_over=on_taken_over,
        speakers=message.speakers,
    )
    session.spawn()
    await emit(session.session_message(resume_token, resumed=False))
    encoding = message.audio.encoding if message.audio else None
    session.log.info("session.started", input=message.input, encoding=encoding)
    return session


async def resume_session(
    services: ProcessServices,
    message: ResumeMessage,
    emit: Emit,
    *,
    tenant: str = "default",
    on_taken_over: Callable[[], Awaitable[None]] | None = None,
) -> LiveSession | FinalMessage:
    """Carry on a session stored by any instance; a finished one yields its final.
    Another tenant's session is indistinguishable from one that does not exist."""
    store = services.store
    sid = message.session_id
    record = await store.record(sid)
    if record is None or not record.opens_with(message.resume_token):
        raise SessionError("session_not_found", "no such session (or it has expired)")
    if not record.belongs_to(tenant):
        raise SessionError("session_not_found", "no such session (or it has expired)")
    token = await store.take(sid, instance=services.instance_id)
    await store.ensure_key(sid)  # a session from before sealing gets its key now
    snap = await store.snapshot(sid)
    if snap is None:
        raise SessionError("session_not_found", "no such session (or it has expired)")
    record = SessionRecord.of(snap.meta)
    if record is None or (record.input == "audio" and record.audio_format is None):
        raise SessionError("session_not_found", "no such session (or it has expired)")
    session = LiveSession(
        services,
        sid,
        record.audio_format if record.input == "audio" else None,
        record.language,
        emit,
        token=token,
        on_taken_over=on_taken_over,
        speakers=snap.speakers,
    )
    session.next_seq = record.next_seq
    session.created_at = record.created_at or time.time()
    session.elapsed_s = record.elapsed_s
    session.layout = record.layout
    session.board.restore(snap.segments)
    session.notes.restore(snap.note, snap.note_version, snap.extracted_through)
    if record.status == "finished":
        return session.final_message(record.final_audio_key)
    await emit(session.session_message(message.resume_token, resumed=True))
    for segment in session.transcript():
        await emit(TranscriptMessage(segment=segment))
    await emit(
        NoteMessage.whole(session.note, session.note_version, sorted(session.board.segments))
    )
    for transcriber in session.transcribers:
        await transcriber.recover(snap.chunks, session.load_chunk)
    await session.captions.recover(snap.captions)
    session.spawn()
    session.notes.mark()  # catch the note up with segments it may not reflect yet
    session.log.info("session.resumed", next_seq=session.next_seq, fence=token)
    return session
