"""Session state in Redis: metadata, chunks, transcript segments, the note.

Keys (all with the session TTL, refreshed on every write; the ``{id}`` hash tag keeps a
session's keys in one slot of a cluster)::

    drt:{sid}:meta      hash   status, format, language, next_seq, created_at, ...
    drt:{sid}:chunks    hash   seq -> {"duration_s", "start_s", "transcribed"}
    drt:{sid}:segments  hash   segment id -> Segment JSON
    drt:{sid}:note      hash   version, note (JSON)
    drt:{sid}:client    hash   client metadata (never logged)

Timeouts are explicit (redis-py's defaults are a 5 s socket timeout and several
retries); every failure surfaces as :class:`StateStoreError` so the caller does not ack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from drtranscribe.errors import StateStoreError
from drtranscribe.extraction.note import ClinicalNote
from drtranscribe.transcript import Segment

T = TypeVar("T")


@dataclass(frozen=True)
class ChunkRecord:
    seq: int
    start_s: float
    duration_s: float
    transcribed: bool


def _key(session_id: str, part: str) -> str:
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
    def __init__(self, client: aioredis.Redis, *, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s

    async def _run(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            return await op()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateStoreError("session store unavailable") from exc

    def _keys(self, session_id: str) -> list[str]:
        return [_key(session_id, p) for p in ("meta", "chunks", "segments", "note", "client")]

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def create(
        self, session_id: str, meta: Mapping[str, str | int | float], client_meta: Mapping[str, str]
    ) -> None:
        async def op() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(_key(session_id, "meta"), mapping={**meta, "created_at": time.time()})
                if client_meta:
                    pipe.hset(_key(session_id, "client"), mapping=dict(client_meta))
                pipe.hset(_key(session_id, "note"), mapping={"version": 0, "note": "{}"})
                for key in self._keys(session_id):
                    pipe.expire(key, self.ttl_s)
                await pipe.execute()

        await self._run(op)

    async def meta(self, session_id: str) -> dict[str, str]:
        result: dict[str, str] = await self._run(
            lambda: self.client.hgetall(_key(session_id, "meta"))  # type: ignore[arg-type,return-value]
        )
        return result

    async def update_meta(self, session_id: str, fields: Mapping[str, str | int | float]) -> None:
        async def op() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(_key(session_id, "meta"), mapping=dict(fields))
                self._touch(pipe, session_id)
                await pipe.execute()

        await self._run(op)

    def _touch(self, pipe: Any, session_id: str) -> None:
        for key in self._keys(session_id):
            pipe.expire(key, self.ttl_s)

    async def record_chunk(
        self, session_id: str, chunk: ChunkRecord, extra: Mapping[str, Any]
    ) -> None:
        """Record a stored chunk and advance ``next_seq``, atomically."""

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    _key(session_id, "chunks"),
                    str(chunk.seq),
                    json.dumps(
                        {
                            "start_s": chunk.start_s,
                            "duration_s": chunk.duration_s,
                            "transcribed": chunk.transcribed,
                        }
                    ),
                )
                pipe.hset(_key(session_id, "meta"), mapping={"next_seq": chunk.seq + 1, **extra})
                self._touch(pipe, session_id)
                await pipe.execute()

        await self._run(op)

    async def mark_transcribed(self, session_id: str, seqs: list[int]) -> None:
        async def op() -> None:
            raw = await self.client.hmget(_key(session_id, "chunks"), [str(s) for s in seqs])  # type: ignore[misc]
            updates = {}
            for seq, value in zip(seqs, raw, strict=True):
                if value is None:
                    continue
                record = json.loads(value)
                record["transcribed"] = True
                updates[str(seq)] = json.dumps(record)
            if updates:
                await self.client.hset(_key(session_id, "chunks"), mapping=updates)  # type: ignore[misc]

        await self._run(op)

    async def chunks(self, session_id: str) -> list[ChunkRecord]:
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(_key(session_id, "chunks"))  # type: ignore[arg-type,return-value]
        )
        out = []
        for seq, value in raw.items():
            record = json.loads(value)
            out.append(
                ChunkRecord(
                    seq=int(seq),
                    start_s=float(record["start_s"]),
                    duration_s=float(record["duration_s"]),
                    transcribed=bool(record["transcribed"]),
                )
            )
        return sorted(out, key=lambda c: c.seq)

    async def save_segment(self, session_id: str, segment: Segment) -> None:
        async def op() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(_key(session_id, "segments"), segment.id, segment.model_dump_json())
                self._touch(pipe, session_id)
                await pipe.execute()

        await self._run(op)

    async def segments(self, session_id: str) -> list[Segment]:
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(_key(session_id, "segments"))  # type: ignore[arg-type,return-value]
        )
        segs = [Segment.model_validate_json(v) for v in raw.values()]
        return sorted(segs, key=lambda s: (s.first_chunk_seq, s.id))

    async def note(self, session_id: str) -> tuple[int, ClinicalNote]:
        raw: dict[str, str] = await self._run(
            lambda: self.client.hgetall(_key(session_id, "note"))  # type: ignore[arg-type,return-value]
        )
        if not raw:
            return 0, ClinicalNote()
        return int(raw["version"]), ClinicalNote.model_validate_json(raw["note"])

    async def save_note(
        self,
        session_id: str,
        version: int,
        note: ClinicalNote,
        *,
        extracted_through: Mapping[str, str],
    ) -> None:
        """Store note ``version`` together with the segment revisions it reflects."""

        async def op() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    _key(session_id, "note"),
                    mapping={
                        "version": version,
                        "note": note.model_dump_json(),
                        "through": json.dumps(dict(extracted_through)),
                    },
                )
                self._touch(pipe, session_id)
                await pipe.execute()

        await self._run(op)

    async def extracted_through(self, session_id: str) -> dict[str, str]:
        raw = await self._run(
            lambda: self.client.hget(_key(session_id, "note"), "through")  # type: ignore[arg-type,return-value]
        )
        return dict(json.loads(raw)) if raw else {}

    async def client_meta(self, session_id: str) -> dict[str, str]:
        result: dict[str, str] = await self._run(
            lambda: self.client.hgetall(_key(session_id, "client"))  # type: ignore[arg-type,return-value]
        )
        return result

    async def delete(self, session_id: str) -> int:
        result: int = await self._run(lambda: self.client.delete(*self._keys(session_id)))
        return result

    async def aclose(self) -> None:
        await self.client.aclose()
