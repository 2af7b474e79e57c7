"""Audio in Cloud Storage, with the key layout of :mod:`drtranscribe.storage.base`.

Objects::

    {session_id}/chunk_{seq:04d}.wav          one per acked chunk (canonical PCM16 WAV)
    {session_id}/combine_{token}_*.part       temporaries of a running ``combine``
    {date}/{session_id}_final.wav             the combined recording

Threads. The ``google-cloud-storage`` client is blocking. Every call runs on a dedicated
:class:`~concurrent.futures.ThreadPoolExecutor` of ``max_concurrent_uploads`` threads,
behind an :class:`asyncio.Semaphore` of the same size: waiting happens on the event loop
(cancellable), and even a cancelled await cannot push the number of requests in flight
above the bound, because the executor has no more threads than that.

Retries. The library's ``DEFAULT_RETRY`` (429, 5xx, connection resets, with backoff), with
a short budget and a per-request timeout on the live path (``put_chunk``, ``get_chunk``)
and the full default budget for the rest. Every write is made safe to retry: chunk
uploads carry ``if_generation_match``, temporaries are written with
``if_generation_match=0``, the final compose is idempotent (same sources, same result)
and deletes treat 404 as done.

Re-sent chunks. ``put_chunk`` first uploads with ``if_generation_match=0``. A 412 means
the object exists: with the same bytes (MD5, else CRC32C) that is success and nothing is
written, so a resuming client that re-sends a chunk, or a retry whose first attempt
succeeded but lost its response, is idempotent. With different bytes the new upload
replaces it, conditioned on the generation just read (so two writers cannot both win
unnoticed): a seq is committed only once the session has recorded and acked it, and the
session re-uses the seq of a chunk it failed to ack, so an object with other bytes under
that name is the leftover of an attempt that never counted. ``LocalAudioStore`` replaces
too (``os.replace``); the two stores behave alike.

Combining. Chunk objects are whole WAV files, so a ``compose`` of them would put a
44-byte header (22 garbage samples: a click) between every two chunks, and GCS cannot
compose byte ranges. Keeping a headerless copy of each chunk would double the writes on
the live path. Instead ``combine`` streams: it downloads the chunks in order (a few ahead,
each checked against its checksum by the whole-object download) and writes their PCM
bodies through one resumable upload into a temporary object, so memory holds a few chunks
and one upload buffer, never the recording. The body's size is known only at the end
(a non-canonical chunk is decoded, as ``LocalAudioStore`` does), so the real 44-byte
header goes into a second temporary and one server-side ``compose`` of ``[header, body]``
writes the final object; the temporaries are then deleted. This is the spec's
"compose, then fix the WAV header" with only two sources, so the 32-source limit of
``compose`` never applies, whatever the number of chunks.

Lifecycle (``deploy/gcs-lifecycle.json``). Lifecycle conditions cannot look at metadata
and ``matchesPrefix`` cannot match a variable session id, but ``matchesSuffix`` can
tell the names apart: a chunk's name always ends in a digit and ``.wav``
(``chunk_0042.wav``), a final's in ``_final.wav``, a temporary's in ``.part``. The rule
deletes objects ending in ``0.wav`` … ``9.wav`` or ``.part`` one day after creation
and never touches finals.

Errors: :class:`~drtranscribe.errors.AudioStoreError` (``retryable``, ``status``) when
Cloud Storage fails or refuses, :class:`~drtranscribe.errors.AudioNotFound` for a missing
object or bucket.

Messages name the operation, the key and the status, never a response body.

Emulator. :func:`client_for_emulator` points a client at fake-gcs-server. The library
also honours ``STORAGE_EMULATOR_HOST`` (an URL with its scheme) when no ``api_endpoint``
is given, and then uses anonymous credentials by itself.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import functools
import hashlib
import http.client
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import google.cloud.storage as storage
import google_crc32c
import structlog
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage.exceptions import (
    DataCorruption,
    InvalidResponse,
)
from google.cloud.storage.retry import DEFAULT_RETRY

from drtranscribe.audio.wav import wav_header
from drtranscribe.crypto.keys import SessionKeys
from drtranscribe.crypto.sealing import ObjectSeal
from drtranscribe.errors import AudioNotFound, AudioStoreError
from drtranscribe.storage.base import chunk_key, session_of_final
from drtranscribe.storage.local import pcm_body
from drtranscribe.storage.sealed import open_chunk, open_recording, seal_chunk, seal_of

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Objects are sealed WAVs (drtranscribe.crypto.sealing): not playable as they are.
SEALED_CONTENT_TYPE = "application/vnd.drtranscribe.sealed"
TEMP_SUFFIX = ".part"
_WRITER_CHUNK_BYTES = 4 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads need
_PUT_ATTEMPTS = 3
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    api_exceptions.GoogleAPIError,  # GoogleAPICallError (HTTP statuses) and RetryError
    auth_exceptions.TransportError,
    InvalidResponse,
    DataCorruption,
    http.client.HTTPException,
    OSError,  # requests' exceptions, ConnectionError, TimeoutError
)


def client_for_emulator(endpoint: str, project: str = "test") -> storage.Client:
    """A client for fake-gcs-server or another emulator, e.g. at ``http://127.0.0.1:4443``."""
    return storage.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )


class GcsAudioStore:
    """The :class:`~drtranscribe.storage.base.AudioStore` on a Cloud Storage bucket."""

    #: Retry policy and per-request timeout while a client waits for its ack.
    live_retry: Retry | None = DEFAULT_RETRY.with_timeout(30.0)
    live_timeout_s: float = 10.0
    #: Retry policy and per-request timeout for combining and erasure.
    bulk_retry: Retry | None = DEFAULT_RETRY
    bulk_timeout_s: float = 60.0

    def __init__(
        self,
        bucket: str,
        *,
        keys: SessionKeys,
        client: storage.Client | None = None,
        max_concurrent_uploads: int = 8,
        project: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("bucket name is empty")
        if max_concurrent_uploads < 1:
            raise ValueError("max_concurrent_uploads must be at least 1")
        self.bucket_name = bucket
        self.keys = keys
        self.max_concurrent_uploads = max_concurrent_uploads
        self._owns_client = client is None
        if client is None:  # default credentials; an explicit None would mean "no project"
            client = storage.Client(project=project) if project else storage.Client()
        self._client: Any = client
        self._bucket: Any = self._client.bucket(bucket)
        self._slots = asyncio.Semaphore(max_concurrent_uploads)
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_uploads, thread_name_prefix="gcs-audio"
        )

    # ------------------------------------------------------------------ the port

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{_checked_key(key)}"

    async def _seal(self, session_id: str) -> ObjectSeal:
        return await seal_of(self.keys, session_id)

    async def put_chunk(self, session_id: str, seq: int, wav: bytes) -> None:
        key = chunk_key(_checked_session(session_id), seq)
        sealed = await seal_chunk(await self._seal(session_id), key, wav)
        await self._run("put_chunk", key, self._put_blocking, key, sealed)

    async def get_chunk(self, session_id: str, seq: int) -> bytes:
        key = chunk_key(_checked_session(session_id), seq)
        seal = await self._seal(session_id)
        stored = await self._run(
            "get_chunk", key, self._download_blocking, key, self.live_retry, self.live_timeout_s
        )
        return await open_chunk(seal, key, stored)

    async def combine(
        self, session_id: str, seqs: Sequence[int], key: str, *, sample_rate: int, channels: int
    ) -> str:
        _checked_session(session_id)
        _checked_key(key)
        seal = await self._seal(session_id)
        token = uuid.uuid4().hex
        body_key = f"{session_id}/combine_{token}_body{TEMP_SUFFIX}"
        header_key = f"{session_id}/combine_{token}_header{TEMP_SUFFIX}"
        try:
            total = await self._stream_bodies(session_id, seqs, body_key, key, seal)
            header = wav_header(data_bytes=total, sample_rate=sample_rate, channels=channels)
            sealed_header = seal.header(key, header, last=not seqs)
            await self._run(
                "combine", header_key, self._put_new_blocking, header_key, sealed_header
            )
            await self._run("combine", key, self._compose_blocking, key, [header_key, body_key])
        finally:
            await self._delete_temporaries([header_key, body_key])
        return self.uri(key)

    async def open_final(self, key: str) -> bytes:
        return b"".join([block async for block in self.iter_final(key)])

    async def iter_final(self, key: str, block_bytes: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The combined recording in ranged reads of ``block_bytes``, opened frame by
        frame: never all in memory."""
        _checked_key(key)
        seal = await self._seal(session_of_final(key))
        size = await self._run("iter_final", key, self._size_blocking, key)

        async def blocks() -> AsyncIterator[bytes]:
            for start in range(0, size, block_bytes):
                end = min(size, start + block_bytes) - 1  # inclusive, as the API's Range is
                yield await self._run("iter_final", key, self._range_blocking, key, start, end)

        async for plain in open_recording(seal, key, blocks()):
            yield plain

    async def delete_session(self, session_id: str, final_keys: Sequence[str]) -> None:
        """Erase every object (every generation) under ``{session_id}/`` and the finals."""
        prefix = f"{_checked_session(session_id)}/"
        finals = [_checked_key(k) for k in final_keys]
        found: list[tuple[str, int | None]] = list(
            await self._run("delete_session", prefix, self._list_blocking, prefix)
        )
        for key in finals:
            versions = await self._run("delete_session", key, self._list_blocking, key)
            found += [(name, gen) for name, gen in versions if name == key]
        await asyncio.gather(
            *(
                self._run("delete_session", name, self._delete_blocking, name, gen)
                for name, gen in found
            )
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        if self._owns_client:
            self._client.close()

    # ------------------------------------------------------------------ plumbing

    async def _run(self, op: str, key: str, fn: Callable[..., T], *args: Any) -> T:
        """Run one blocking call on the store's threads, within the concurrency bound."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
            except _TRANSPORT_ERRORS as exc:
                raise _map_error(exc, op, key) from exc

    async def _stream_bodies(
        self, session_id: str, seqs: Sequence[int], body_key: str, final: str, seal: ObjectSeal
    ) -> int:
        """Write the chunks' PCM bodies, in order, into ``body_key`` as frames 1..n of the
        sealed recording ``final``; return the plain byte count.

        Downloads run a few chunks ahead of the writer; an error cancels the resumable
        upload (never finalised, so no object appears) and the look-ahead.
        """
        writer = await self._run("combine", body_key, self._open_writer_blocking, body_key)
        keys = iter([chunk_key(session_id, seq) for seq in seqs])
        ahead: collections.deque[tuple[str, asyncio.Task[bytes]]] = collections.deque()

        def fetch_next() -> None:
            if (key := next(keys, None)) is not None:
                task = asyncio.ensure_future(
                    self._run(
                        "combine",
                        key,
                        self._download_blocking,
                        key,
                        self.bulk_retry,
                        self.bulk_timeout_s,
                    )
                )
                ahead.append((key, task))

        total = 0
        index = 0
        try:
            for _ in range(max(1, self.max_concurrent_uploads // 2)):
                fetch_next()
            while ahead:
                key, task = ahead.popleft()
                data = await task
                fetch_next()
                body = pcm_body(key, await open_chunk(seal, key, data))
                index += 1
                frame = seal.body(final, index, bytes(body), last=index == len(seqs))
                await self._run("combine", body_key, writer.write, frame)
                total += len(body)
            await self._run("combine", body_key, writer.close)
        except BaseException:
            # Cancel the resumable upload: a writer left open would finalise the partial
            # body when it is garbage-collected (IOBase.__del__ closes it).
            with contextlib.suppress(AudioStoreError):
                await self._run("combine", body_key, writer.terminate)
            raise
        finally:
            for _, task in ahead:
                task.cancel()
            await asyncio.gather(*(task for _, task in ahead), return_exceptions=True)
        return total

    async def _delete_temporaries(self, keys: list[str]) -> None:
        for key in keys:
            try:
                await self._run("combine", key, self._delete_blocking, key, None)
            except AudioStoreError:
                # The lifecycle rule (".part") and delete_session remove it later.
                log.warning("audio.temporary_not_deleted", key=key)

    # --------------------------------------------------- blocking calls (threads)

    def _put_blocking(self, key: str, data: bytes) -> None:
        """Upload a chunk once; see the module docstring for re-sent chunks."""
        generation = 0
        for _ in range(_PUT_ATTEMPTS):
            try:
                self._bucket.blob(key).upload_from_string(
                    data,
                    content_type=SEALED_CONTENT_TYPE,
                    if_generation_match=generation,
                    retry=self.live_retry,
                    timeout=self.live_timeout_s,
                )
                return
            except api_exceptions.PreconditionFailed:
                existing = self._bucket.get_blob(
                    key, retry=self.live_retry, timeout=self.live_timeout_s
                )
                if existing is None:
                    generation = 0
                elif _same_content(existing, data):
                    return
                else:
                    generation = int(existing.generation)
        raise AudioStoreError(
            f"put_chunk {key}: the object kept changing during the upload", retryable=True
        )

    def _put_new_blocking(self, key: str, data: bytes) -> None:
        self._bucket.blob(key).upload_from_string(
            data,
            content_type="application/octet-stream",
            if_generation_match=0,
            retry=self.bulk_retry,
            timeout=self.bulk_timeout_s,
        )

    def _download_blocking(self, key: str, retry: Retry | None, timeout: float) -> bytes:
        return bytes(self._bucket.blob(key).download_as_bytes(retry=retry, timeout=timeout))

    def _size_blocking(self, key: str) -> int:
        blob = self._bucket.get_blob(key, retry=self.bulk_retry, timeout=self.bulk_timeout_s)
        if blob is None:
            raise api_exceptions.NotFound(f"{key} not found")  # type: ignore[no-untyped-call]
        return int(blob.size)

    def _range_blocking(self, key: str, start: int, end: int) -> bytes:
        return bytes(
            self._bucket.blob(key).download_as_bytes(
                start=start, end=end, retry=self.bulk_retry, timeout=self.bulk_timeout_s
            )
        )

    def _open_writer_blocking(self, key: str) -> Any:
        return self._bucket.blob(key).open(
            "wb",
            chunk_size=_WRITER_CHUNK_BYTES,
            content_type="application/octet-stream",
            if_generation_match=0,
            retry=self.bulk_retry,
            timeout=self.bulk_timeout_s,
        )

    def _compose_blocking(self, key: str, sources: list[str]) -> None:
        final = self._bucket.blob(key)
        final.content_type = SEALED_CONTENT_TYPE
        final.compose(
            [self._bucket.blob(s) for s in sources],
            retry=self.bulk_retry,  # same sources, same result: safe without a precondition
            timeout=self.bulk_timeout_s,
        )

    def _list_blocking(self, prefix: str) -> list[tuple[str, int | None]]:
        blobs = self._client.list_blobs(
            self._bucket,
            prefix=prefix,
            versions=True,
            retry=self.bulk_retry,
            timeout=self.bulk_timeout_s,
        )
        return [(str(b.name), b.generation) for b in blobs]

    def _delete_blocking(self, key: str, generation: int | None) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self._bucket.delete_blob(
                key, generation=generation, retry=self.bulk_retry, timeout=self.bulk_timeout_s
            )


# ---------------------------------------------------------------------- helpers


def _checked_session(session_id: str) -> str:
    """A session id is one safe path segment that cannot alias a date folder of finals."""
    if not _SESSION_ID.fullmatch(session_id) or _DATE_FOLDER.fullmatch(session_id):
        raise ValueError("invalid session id for an object key")
    return session_id


def _checked_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\n" in key or "\r" in key:
        raise ValueError("invalid object key")
    return key


def _same_content(blob: Any, data: bytes) -> bool:
    if blob.size is not None and int(blob.size) != len(data):
        return False
    if blob.md5_hash:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        return bool(blob.md5_hash == base64.b64encode(digest).decode("ascii"))
    if blob.crc32c:
        checksum = google_crc32c.value(data).to_bytes(4, "big")
        return bool(blob.crc32c == base64.b64encode(checksum).decode("ascii"))
    return False


def _map_error(exc: BaseException, op: str, key: str) -> AudioStoreError:
    """The most specific :class:`AudioStoreError` for a library or transport failure."""
    where = f"{op} {key}"
    if isinstance(exc, api_exceptions.NotFound):
        return AudioNotFound(f"{where}: not found", retryable=False, status=404)
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        status = exc.code
        retryable = status is None or status >= 500 or status in (408, 429)
        return AudioStoreError(f"{where}: HTTP {status}", retryable=retryable, status=status)
    if isinstance(exc, api_exceptions.RetryError):
        return AudioStoreError(f"{where}: retries exhausted", retryable=True)
    if isinstance(exc, DataCorruption):
        return AudioStoreError(f"{where}: checksum mismatch", retryable=True)
    if isinstance(exc, InvalidResponse):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        retryable = not isinstance(status, int) or status >= 500 or status in (408, 429)
        return AudioStoreError(f"{where}: HTTP {status}", retryable=retryable, status=status)
    return AudioStoreError(f"{where}: {type(exc).__name__}", retryable=True)
