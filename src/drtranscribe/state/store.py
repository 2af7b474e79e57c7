"""Session state in Redis: metadata, chunks, transcript segments, the note, the lease.

Keys (the ``{sid}`` hash tag keeps a session's keys in one cluster slot; every write
refreshes the session TTL on all of them)::

    drt:{sid}:meta      hash   status, encoding, language, next_seq, elapsed_s, layout,
                               resume token hash, created_at, final_audio_key, ...
    drt:{sid}:chunks    hash   seq -> {"start_s", "duration_s"}
    drt:{sid}:done      set    seqs whose audio has been transcribed ("seq/channel" per
                               channel when channels are transcribed apart)
    drt:{sid}:segments  hash   segment id -> Segment JSON
    drt:{sid}:captions  hash   segment id -> the caption's newest revision (CaptionRecord)
    drt:{sid}:note      hash   version, note (JSON), through (segment id -> text it reflects)
    drt:{sid}:client    hash   "sealed": the client's metadata as one sealed JSON (never logged)
    drt:{sid}:fence     string the fencing token of the current writer (INCR on takeover)
    drt:{sid}:lease     string which instance holds the session, and with which token

Patient content is sealed (AES-256-GCM, :mod:`drtranscribe.crypto`) with the session's own
data key, which lives in a key store apart from Redis: the ``client`` values, the
``segments`` and ``captions`` values, the meta's ``speakers`` (names) and the note's
``note`` and ``through`` fields are ciphertext, so the
append-only file, snapshots and backups never hold the words, and erasing the key makes
every copy unreadable. Counters, seqs, timings, status and the fence stay plain.

One writer per session: an instance takes the session with :meth:`SessionStore.take`,
which increments the fence; every write goes through a Lua script that first checks the
fence, so a paused or half-dead previous writer cannot overwrite anything once a new one
has taken over (its writes fail with :class:`SessionTakenOver`).

Timeouts are explicit (redis-py's defaults are a 5 s socket timeout and several
retries); every failure surfaces as :class:`StateStoreError`, so nothing is acked.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from drtranscribe.crypto.keys import SessionKeyMissing, SessionKeys
from drtranscribe.crypto.sealing import open_sealed, seal
from drtranscribe.domain.note import ClinicalNote, Speaker
from drtranscribe.domain.transcript import Segment, transcript_order
from drtranscribe.errors import SessionTakenOver, StateStoreError
from drtranscribe.state.record import CaptionRecord, SessionRecord, hash_token

T = TypeVar("T")

#: Marks a sealed value (base64 of nonce, ciphertext and tag).
SEALED_PREFIX = "s1:"

_PARTS = (
    "meta", "chunks", "done", "segments", "captions", "note", "client", "fence", "lease"
)  # fmt: skip

# KEYS[1] fence, KEYS[2..] every key of the session (touched with the TTL)
# ARGV[1] expected token, ARGV[2] ttl, ARGV[3] JSON list of commands
_FENCED_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED')
end
for _, cmd in ipairs(cjson.decode(ARGV[3])) do
  redis.call(unpack(cmd))
end
for i = 2, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class ChunkRecord:
    seq: int
    start_s: float
    duration_s: float
    transcribed: bool
    lanes_done: frozenset[int] = frozenset()  # channels transcribed (two-channel audio)

    def transcribed_by(self, lane: int | None) -> bool:
        return self.transcribed if lane is None else lane in self.lanes_done


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything a new writer needs to carry a session on."""

    meta: dict[str, str]
    chunks: list[ChunkRecord]
    segments: list[Segment]
    captions: list[CaptionRecord]
    speakers: dict[str, Speaker]
    note_version: int
    note: ClinicalNote
    extracted_through: dict[str, str]


def key(session_id: str, part: str) -> str:
    return f"drt:{{{session_id}}}:{part}"


def connect(url: str, *, socket_timeout_s: float) -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=socket_timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        decode_responses=True,
    )
    return client


class SessionStore:
    def __init__(self, client: aioredis.Redis, *, ttl_s: int, keys: SessionKeys) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.keys_of = keys  # the sessions' data keys (a store apart from Redis)
        self._fenced_write = client.register_script(_FENCED_WRITE)

    async def ensure_key(self, session_id: str) -> None:
        """The session's data key, made now for a session created before sealing existed
        (its meta lacks ``sealed``): what it writes from now on is sealed. A session whose
        key is gone otherwise was erased: :class:`SessionTakenOver`."""
        try:
            await self.keys_of.get(session_id)
            return
        except SessionKeyMissing:
            pass
        meta = await self.meta(session_id)
        if not meta or meta.get("sealed"):  # erased (or erasing): fenced out for good
            raise SessionTakenOver("this session was erased")
        await self.keys_of.create(session_id)

        async def mark_sealed() -> None:
            await self.client.hset(key(session_id, "meta"), "sealed", "1")  # type: ignore[misc]

        await self._run(mark_sealed)

    async def _seal(self, session_id: str, where: str, value: str) -> str:
        await self.ensure_key(session_id)
        data_key = await self.keys_of.get(session_id)
        sealed = seal(data_key, value.encode("utf-8"), f"{session_id}:{where}")
        return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")

    async def _open(self, session_id: str, where: str, value: str) -> str:
        if not value.startswith(SEALED_PREFIX):
            return value  # written before sealing existed (docs/deploy.md, "Rolling out")
        data_key = await self.keys_of.get(session_id)
        sealed = base64.b64decode(value[len(SEALED_PREFIX) :])
        return open_sealed(data_key, sealed, f"{session_id}:{where}").decode("utf-8")

    async def _run(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            return await op()
        except ResponseError as exc:
            if "FENCED" in str(exc):
                raise SessionTakenOver("another instance has taken this session over") from exc
            raise StateStoreError("session store error") from exc
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError("session store unavailable") from exc

    def keys(self, session_id: str) -> list[str]:
        return [key(session_id, p) for p in _PARTS]

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    # ------------------------------------------------------------------ ownership

    async def create(
        self,
        session_id: str,
        meta: Mapping[str, str | int | float],
        client_meta: Mapping[str, str],
        *,
        resume_token: str,
        instance: str,
        speakers: Mapping[str, Speaker] | None = None,
    ) -> int:
        """Create a session owned by ``instance``; returns its fencing token (1). Its data
        key is made and stored first: nothing is written that it does not seal."""
        await self.keys_of.create(session_id)
        named = {}
        if speakers:  # display names: sealed, in the same write
            named = {
                "speakers": await self._seal(session_id, "speakers", json.dumps(dict(speakers)))
            }
        # The client's metadata as one sealed value: its field names may say something too.
        sealed_client = await self._seal(session_id, "client", json.dumps(dict(client_meta)))
        empty_note = await self._seal(session_id, "note", "{}")

        async def op() -> int:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    key(session_id, "meta"),
                    mapping={
                        **meta,
                        "sealed": 1,
                        "created_at": time.time(),
                        "resume_token_sha256": hash_token(resume_token),
                        **named,
                    },
                )
                if client_meta:
                    pipe.hset(key(session_id, "client"), "sealed", sealed_client)
                pipe.hset(key(session_id, "note"), mapping={"version": 0, "note": empty_note})
                pipe.set(key(session_id, "fence"), 1)
                pipe.set(key(session_id, "lease"), f"{instance}:1")
                for k in self.keys(session_id):
                    pipe.expire(k, self.ttl_s)
                await pipe.execute()
            return 1

        return await self._run(op)

    async def reserve(self, session_id: str, *, tenant: str, ttl_s: int) -> None:
        """A session announced by ``POST /v1/sessions``: visible (status ``reserved``) until
        its stream token expires, started by the WebSocket ``start`` that redeems it."""

        async def op() -> None:
            meta = key(session_id, "meta")
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    meta,
                    mapping={
                        "status": "reserved",
                        "tenant": tenant,
                        "created_at": time.time(),
                        "next_seq": 0,
                    },
                )
                pipe.expire(meta, ttl_s)
                await pipe.execute()

        await self._run(op)

    async def take(self, session_id: str, *, instance: str) -> int:
        """Become the session's writer: a new fencing token, fencing out any previous one."""

        async def op() -> int:
            token = int(await self.client.incr(key(session_id, "fence")))
            await self.client.set(key(session_id, "lease"), f"{instance}:{token}", ex=self.ttl_s)
            return token

        return await self._run(op)

    async def check_resume_token(self, session_id: str, token: str) -> bool:
        record = await self.record(session_id)
        return record is not None and record.opens_with(token)

    # ------------------------------------------------------------------ fenced writes

    async def _write(self, session_id: str, token: int, commands: Sequence[Sequence[Any]]) -> None:
        keys = [key(session_id, "fence"), *self.keys(session_id)]
        args: list[str | int] = [
            token,
            self.ttl_s,
            json.dumps([list(map(_arg, c)) for c in commands]),
        ]
        await self._run(lambda: self._fenced_write(keys=keys, args=args))

    async def update_meta(
        self, session_id: str, token: int, fields: Mapping[str, str | int | float]
    ) -> None:
        flat = [x for kv in fields.items() for x in kv]
        await self._write(session_id, token, [["HSET", key(session_id, "meta"), *flat]])

    async def record_chunk(
        self,
        session_id: str,
        token: int,
        chunk: ChunkRecord,
        meta: Mapping[str, str | int | float],
    ) -> None:
        """Record a stored chunk and advance ``next_seq``, atomically."""
        record = json.dumps({"start_s": chunk.start_s, "duration_s": chunk.duration_s})
        flat = [x for kv in {"next_seq": chunk.seq + 1, **meta}.items() for x in kv]
        await self._write(
            session_id,
            token,
            [
                ["HSET", key(session_id, "chunks"), chunk.seq, record],
                ["HSET", key(session_id, "meta"), *flat],
            ],
        )

    async def record_caption(
        self, session_id: str, token: int, caption: CaptionRecord, *, advance: bool
    ) -> None:
        """Store a caption's newest revision; with ``advance``, ``next_seq`` moves past
        the message that made it, in the same write (a new message, not a finalisation)."""
        sealed = await self._seal(
            session_id, f"caption:{caption.segment_id}", caption.model_dump_json()
        )
        commands: list[list[Any]] = [
            ["HSET", key(session_id, "captions"), caption.segment_id, sealed]
        ]
        if advance:
            commands.append(["HSET", key(session_id, "meta"), "next_seq", caption.seq + 1])
        await self._write(session_id, token, commands)

    async def save_speakers(
        self, session_id: str, token: int, roles: Mapping[str, Speaker]
    ) -> None:
        """The speakers' roles named by the client (their names sealed)."""
        sealed = await self._seal(session_id, "speakers", json.dumps(dict(roles)))
        await self._write(
            session_id, token, [["HSET", key(session_id, "meta"), "speakers", sealed]]
        )

    async def mark_transcribed(
        self, session_id: str, token: int, seqs: Sequence[int], *, lane: int | None = None
    ) -> None:
        if seqs:
            marks = list(seqs) if lane is None else [f"{seq}/{lane}" for seq in seqs]
            await self._write(session_id, token, [["SADD", key(session_id, "done"), *marks]])

    async def save_segment(self, session_id: str, token: int, segment: Segment) -> None:
        sealed = await self._seal(session_id, f"segment:{segment.id}", segment.model_dump_json())
        await self._write(
            session_id, token, [["HSET", key(session_id, "segments"), segment.id, sealed]]
        )

    async def save_note(
        self,
        session_id: str,
        token: int,
        version: int,
        note: ClinicalNote,
        *,
        extracted_through: Mapping[str, str],
    ) -> None:
        """Store note ``version`` together with the segment texts it reflects."""
        sealed_note = await self._seal(session_id, "note", note.model_dump_json())
        sealed_through = await self._seal(
            session_id, "through", json.dumps(dict(extracted_through))
        )
        await self._write(
            session_id,
            token,
            [
                [
                    "HSET",
                    key(session_id, "note"),
                    "version",
                    version,
                    "note",
                    sealed_note,
                    "through",
                    sealed_through,
                ]
            ],
        )

    # ------------------------------------------------------------------ reads

    async def meta(self, session_id: str) -> dict[str, str]:
        result: dict[str, str] = await self._run(
            lambda: self.client.hgetall(key(session_id, "meta"))  # type: ignore[arg-type,return-value]
        )
        return result

    async def chunks(self, session_id: str) -> list[ChunkRecord]:
        async def op() -> tuple[dict[str, str], set[str]]:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(key(session_id, "chunks"))
                pipe.smembers(key(session_id, "done"))
                raw, done = await pipe.execute()
            return raw, done

        raw, done = await self._run(op)
        lanes: dict[str, set[int]] = {}  # seq -> channels done, parsed once
        for mark in done:
            seq, _, lane = mark.partition("/")
            if lane:
                lanes.setdefault(seq, set()).add(int(lane))
        out = [
            ChunkRecord(
                seq=int(seq),
                start_s=float(json.loads(v)["start_s"]),
                duration_s=float(json.loads(v)["duration_s"]),
                transcribed=seq in done,
                lanes_done=frozenset(lanes.get(seq, ())),
            )
            for seq, v in raw.items()
        ]
        return sorted(out, key=lambda c: c.seq)

    async def _opened(self, session_id: str, part: str, where: str) -> list[str]:
        """Every value of the sealed hash ``part``, opened (each sealed as ``where:field``)."""
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(key(session_id, part))  # type: ignore[arg-type,return-value]
        )
        return [await self._open(session_id, f"{where}:{k}", v) for k, v in raw.items()]

    async def segments(self, session_id: str) -> list[Segment]:
        opened = await self._opened(session_id, "segments", "segment")
        segs = [Segment.model_validate_json(v) for v in opened]
        return sorted(segs, key=transcript_order)

    async def captions(self, session_id: str) -> list[CaptionRecord]:
        opened = await self._opened(session_id, "captions", "caption")
        records = [CaptionRecord.model_validate_json(v) for v in opened]
        return sorted(records, key=lambda c: (c.first_seq, c.segment_id))

    async def speakers(self, session_id: str, meta: Mapping[str, str]) -> dict[str, Speaker]:
        """The roles in ``meta`` (the session's meta hash, as read)."""
        if not meta.get("speakers"):
            return {}
        roles: dict[str, Speaker] = json.loads(
            await self._open(session_id, "speakers", meta["speakers"])
        )
        return roles

    async def note(self, session_id: str) -> tuple[int, ClinicalNote]:
        version, note, _ = await self._note(session_id)
        return version, note

    async def _note(self, session_id: str) -> tuple[int, ClinicalNote, dict[str, str]]:
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(key(session_id, "note"))  # type: ignore[arg-type,return-value]
        )
        if not raw:
            return 0, ClinicalNote(), {}
        through: dict[str, str] = {}
        if raw.get("through"):
            through = dict(json.loads(await self._open(session_id, "through", raw["through"])))
        note = ClinicalNote.model_validate_json(await self._open(session_id, "note", raw["note"]))
        return int(raw["version"]), note, through

    async def extracted_through(self, session_id: str) -> dict[str, str]:
        return (await self._note(session_id))[2]

    async def snapshot(self, session_id: str) -> SessionSnapshot | None:
        """None when the session does not exist, or was erased (its key is gone)."""
        meta = await self.meta(session_id)
        if not meta:
            return None
        try:
            version, note, through = await self._note(session_id)
        except SessionKeyMissing:
            return None
        return SessionSnapshot(
            meta=meta,
            chunks=await self.chunks(session_id),
            segments=await self.segments(session_id),
            captions=await self.captions(session_id),
            speakers=await self.speakers(session_id, meta),
            note_version=version,
            note=note,
            extracted_through=through,
        )

    async def record(self, session_id: str) -> SessionRecord | None:
        """The session's metadata, typed; None when there is no such session."""
        return SessionRecord.of(await self.meta(session_id))

    async def client_meta(self, session_id: str) -> dict[str, str]:
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(key(session_id, "client"))  # type: ignore[arg-type,return-value]
        )
        if "sealed" in raw:
            opened: dict[str, str] = json.loads(
                await self._open(session_id, "client", raw["sealed"])
            )
            return opened
        return raw  # written before sealing existed

    async def delete(self, session_id: str) -> int:
        """Erase the session (fencing out a live writer first): its data key is destroyed
        first, so every copy of its content, wherever Redis or a backup keeps one, is
        unreadable from then on; then its keys. Returns the Redis keys deleted."""
        await self.keys_of.destroy(session_id)

        async def op() -> int:
            await self.client.incr(key(session_id, "fence"))
            deleted: int = await self.client.delete(*self.keys(session_id))
            return deleted

        return await self._run(op)

    async def aclose(self) -> None:
        await self.client.aclose()


def _arg(value: Any) -> str:
    """Commands travel as JSON strings: Lua would print floats with 14 digits only."""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)
