"""REST over the session store: read a session, fetch its recording, erase it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, Security
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from drtranscribe.auth import tokens
from drtranscribe.auth.keys import Principal
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import AudioNotFound, SessionTakenOver
from drtranscribe.protocol import AudioLocation
from drtranscribe.services import ProcessServices
from drtranscribe.session.lifecycle import new_session_id
from drtranscribe.state.record import SessionRecord

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Session id.")]


def services_of(request: Request) -> ProcessServices:
    services: ProcessServices = request.app.state.services
    return services


Services = Annotated[ProcessServices, Depends(services_of)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


async def principal_of(
    request: Request,
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    presented = credentials.credentials if credentials else None
    principal = services.auth.authenticate(presented)
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="a valid API key is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # A browser's page may use a key only from the origins that key (or the service) lists,
    # as on the WebSocket; CORS alone would let any listed origin use any key.
    if not services.auth.origin_allowed(request.headers.get("origin"), principal):
        raise HTTPException(status_code=403, detail="origin not allowed for this key")
    return principal


Caller = Annotated[Principal, Depends(principal_of)]


class SessionView(BaseModel):
    session_id: str
    status: str = Field(
        description="`reserved` (announced by POST, not started yet), `active` or `finished`."
    )
    created_at: float
    chunks: int = Field(description="Chunks stored (acked).")
    duration_s: float
    note_version: int
    note: ClinicalNote
    transcript: list[Segment]
    audio: AudioLocation | None = Field(description="The combined recording, once finished.")


class Problem(BaseModel):
    detail: str


UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API key."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    404: {"model": Problem, "description": "No such session (or it has expired)."},
}


async def _record_or_404(
    services: ProcessServices, session_id: str, principal: Principal
) -> SessionRecord:
    """The session's record; another tenant's session is "not found" like a missing one."""
    record = await services.store.record(session_id)
    if record is None or not record.belongs_to(principal.tenant):
        raise HTTPException(status_code=404, detail="session not found")
    return record


class StreamGrant(BaseModel):
    session_id: str
    stream_token: str = Field(description="Use as `/v1/stream?token=...`; bound to this session.")
    expires_in_s: int
    stream_path: str


@router.post("", status_code=201, response_model=StreamGrant, responses=UNAUTHORIZED)
async def create_session(services: Services, principal: Caller) -> StreamGrant:
    """Reserve a session and issue a short-lived stream token bound to it, so a browser
    keeps its long-lived API key out of WebSocket URLs."""
    session_id = new_session_id()
    await services.store.reserve(
        session_id, tenant=principal.tenant, ttl_s=services.auth.token_ttl_s
    )
    return await _grant(services, principal, session_id)


@router.post(
    "/{session_id}/token",
    status_code=201,
    response_model=StreamGrant,
    responses={**UNAUTHORIZED, **NOT_FOUND},
)
async def renew_token(session_id: SessionId, services: Services, caller: Caller) -> StreamGrant:
    """A new stream token for a session the caller's tenant already has: a browser that
    reconnects after its first token expired (a long visit, a reload) resumes with it."""
    await _record_or_404(services, session_id, caller)
    return await _grant(services, caller, session_id)


async def _grant(services: ProcessServices, principal: Principal, session_id: str) -> StreamGrant:
    """A stream token for ``session_id``, bound to it and to ``principal``'s tenant."""
    ttl = services.auth.token_ttl_s
    token = await tokens.issue(services.store.client, principal, session_id, ttl_s=ttl)
    return StreamGrant(
        session_id=session_id,
        stream_token=token,
        expires_in_s=ttl,
        stream_path=f"/v1/stream?token={token}",
    )


@router.get("/{session_id}", response_model=SessionView, responses=NOT_FOUND)
async def get_session(session_id: SessionId, services: Services, caller: Caller) -> SessionView:
    """Status, note, transcript and audio location of one session."""
    record = await _record_or_404(services, session_id, caller)
    snapshot = await services.store.snapshot(session_id)
    if snapshot is None:
        raise HTTPException(status_code=404, detail="session not found")
    return SessionView(
        session_id=session_id,
        status=record.status,
        created_at=record.created_at,
        chunks=record.next_seq,
        duration_s=round(record.elapsed_s, 3),
        note_version=snapshot.note_version,
        note=snapshot.note,
        transcript=snapshot.segments,
        audio=record.audio_location(services.audio.uri),
    )


@router.get(
    "/{session_id}/audio",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The combined recording (WAV)."},
        **NOT_FOUND,
        409: {"model": Problem, "description": "The session has not finished yet."},
    },
)
async def get_audio(session_id: SessionId, services: Services, caller: Caller) -> StreamingResponse:
    """The combined recording, streamed."""
    key = (await _record_or_404(services, session_id, caller)).final_audio_key
    if not key:
        raise HTTPException(status_code=409, detail="session not finished: no recording yet")
    blocks = services.audio.iter_final(key)
    try:
        first = await anext(blocks)
    except (AudioNotFound, SessionTakenOver, StopAsyncIteration) as exc:
        # SessionTakenOver: its data key is gone (erased): nothing can be opened any more.
        raise HTTPException(status_code=404, detail="recording not found") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for block in blocks:
            yield block

    return StreamingResponse(
        body(),
        media_type="audio/wav",
        headers={"Content-Disposition": f'attachment; filename="{session_id}.wav"'},
    )


@router.delete("/{session_id}", status_code=204, responses=NOT_FOUND)
async def delete_session(session_id: SessionId, services: Services, caller: Caller) -> Response:
    """Erase the session: its state and every audio object (the right to erasure). A live
    connection on it is fenced out and can write nothing back."""
    record = await _record_or_404(services, session_id, caller)
    final_keys = [record.final_audio_key] if record.final_audio_key else []
    await services.store.take(session_id, instance=f"{services.instance_id}:erase")  # fence out
    # The data key first: from here on every copy of the content (Redis persistence,
    # backups, object versions) is unreadable, whatever the steps below manage.
    await services.store.keys_of.destroy(session_id)
    await services.audio.delete_session(session_id, final_keys)  # retryable
    await services.store.delete(session_id)
    return Response(status_code=204)
