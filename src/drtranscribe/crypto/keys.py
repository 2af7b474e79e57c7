"""Per-session data keys, kept apart from the data they protect, destroyed on erasure.

Every session's transcript, note, client metadata and audio are sealed with the session's
own 256-bit data key (:mod:`drtranscribe.crypto.sealing`). The key lives in a key store of
its own, never in Redis or beside the audio, so the copies that Redis persistence (the
append-only file, snapshots, Memorystore backups) and Cloud Storage (object versions, soft
delete) keep of the data are ciphertext. Erasure destroys the key first: every copy
anywhere becomes unreadable at once (crypto-shredding), whatever later rewrites or expiries
do with the ciphertext.

Stores:

* :class:`LocalKeyStore`: one file per session in a directory of its own (the offline
  default: ``data_dir/keys``, beside but apart from the embedded Redis and the audio).
* :class:`GcsKeyStore`: one object per session in a bucket of its own (production), created
  by ``deploy/bootstrap.sh`` without object versioning and without soft delete, so a
  deleted key is gone, and with a lifecycle rule that deletes keys after 3 days: a session
  that simply expires is shredded as well.

Keys expire with their sessions: the runtime deletes local keys older than the session TTL
whose session is gone from Redis; the key bucket's lifecycle rule deletes keys after 3
days (more than any session's data can live: ``session_ttl_s`` after its last write, and a
session writes for at most ``max_session_s`` plus a resume within its TTL).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import structlog

from drtranscribe.crypto.sealing import KEY_BYTES, SealError, new_key
from drtranscribe.errors import StorageError

log = structlog.get_logger(__name__)

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class KeyStoreError(StorageError):
    """The key store failed: nothing that needed the key was stored or served."""


class SessionKeyMissing(SealError):
    """The session has no key: it was erased (or expired), so its data cannot be read."""


class KeyStore(Protocol):
    async def put(self, session_id: str, key: bytes) -> bytes:
        """Store a new key durably (before any data sealed with it is) and return the key
        the session has: the one already stored, if a first attempt got that far."""

    async def get(self, session_id: str) -> bytes | None: ...

    async def delete(self, session_id: str) -> None:
        """Destroy the key (absent: done)."""

    async def aclose(self) -> None: ...


def _checked(session_id: str) -> str:
    if not _SESSION_ID.match(session_id):
        raise ValueError("not a session id")
    return session_id


class LocalKeyStore:
    """Keys as files ``{root}/{session_id}.key`` (mode 0600, fsync'd)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, session_id: str) -> Path:
        return self.root / f"{_checked(session_id)}.key"

    async def put(self, session_id: str, key: bytes) -> bytes:
        if (existing := await self.get(session_id)) is not None:
            return existing
        try:
            await asyncio.to_thread(_write_private, self._path(session_id), key)
        except OSError as exc:
            raise KeyStoreError(f"key store: cannot write ({exc.strerror})") from exc
        return key

    async def get(self, session_id: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(session_id).read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"key store: cannot read ({exc.strerror})") from exc

    async def delete(self, session_id: str) -> None:
        try:
            await asyncio.to_thread(_unlink_synced, self._path(session_id))
        except OSError as exc:
            raise KeyStoreError(f"key store: cannot delete ({exc.strerror})") from exc

    async def older_than(self, age_s: float) -> list[str]:
        """Sessions whose key was written more than ``age_s`` ago."""
        cutoff = time.time() - age_s

        def scan() -> list[str]:
            found = []
            for path in self.root.glob("*.key"):
                try:
                    if path.stat().st_mtime < cutoff:
                        found.append(path.stem)
                except FileNotFoundError:
                    continue
            return found

        return await asyncio.to_thread(scan)

    async def aclose(self) -> None:
        return None


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_directory(path.parent)


def _unlink_synced(path: Path) -> None:
    """Overwrite the key with zeros (best effort: a journal or an SSD may keep old blocks),
    then unlink it, both synced."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        os.write(fd, b"\0" * KEY_BYTES)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GcsKeyStore:
    """Keys as objects ``keys/{session_id}`` in a bucket of their own."""

    def __init__(self, bucket: str, *, client: Any | None = None) -> None:
        import google.cloud.storage as storage

        self._owns_client = client is None
        self._client: Any = client if client is not None else storage.Client()
        self._bucket: Any = self._client.bucket(bucket)

    def _blob(self, session_id: str) -> Any:
        return self._bucket.blob(f"keys/{_checked(session_id)}")

    #: Per request, and for the library's retries of one call: a key store that stalls
    #: fails the session start (retryable) instead of holding it.
    timeout_s = 10.0
    retry_deadline_s = 30.0

    async def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc
        from google.cloud.storage.retry import DEFAULT_RETRY

        kwargs.setdefault("timeout", self.timeout_s)
        kwargs.setdefault("retry", DEFAULT_RETRY.with_timeout(self.retry_deadline_s))
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (gexc.NotFound, gexc.PreconditionFailed):
            raise
        except (gexc.GoogleAPIError, auth_exc.TransportError, OSError) as exc:
            raise KeyStoreError(f"key store: {what} failed ({type(exc).__name__})") from exc

    async def put(self, session_id: str, key: bytes) -> bytes:
        from google.api_core import exceptions as gexc

        blob = self._blob(session_id)
        try:
            await self._call(
                "put", blob.upload_from_string, key, content_type="application/octet-stream",
                if_generation_match=0,
            )  # fmt: skip
        except gexc.PreconditionFailed:  # a first attempt (or a retried start) stored one
            existing = await self.get(session_id)
            if existing is None:
                raise KeyStoreError("key store: put failed (precondition)") from None
            return existing
        return key

    async def get(self, session_id: str) -> bytes | None:
        from google.api_core import exceptions as gexc

        try:
            data: bytes = await self._call("get", self._blob(session_id).download_as_bytes)
        except gexc.NotFound:
            return None
        return data

    async def delete(self, session_id: str) -> None:
        from google.api_core import exceptions as gexc

        try:
            await self._call("delete", self._blob(session_id).delete)
        except gexc.NotFound:
            return

    async def aclose(self) -> None:
        if self._owns_client:
            await asyncio.to_thread(self._client.close)


class SessionKeys:
    """The data key of each session: made at session start, cached briefly while in use.

    The cache holds a key for at most ``cache_ttl_s``: a session erased through another
    instance stops opening here within that time, whatever this instance was doing with it
    (its writes are fenced out at once). A key destroyed here is never cached again.
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        cache_size: int = 4096,
        cache_ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._cache: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s
        self._clock = clock
        self._destroyed: set[str] = set()  # here, since start: never served again

    async def create(self, session_id: str) -> bytes:
        key = new_key()
        stored = await self.store.put(session_id, key)
        self._remember(session_id, stored)
        return stored

    async def get(self, session_id: str) -> bytes:
        """The session's key; :class:`SessionKeyMissing` once it was destroyed."""
        cached = self._cache.get(session_id)
        if cached is not None and self._clock() - cached[1] < self._cache_ttl_s:
            self._cache.move_to_end(session_id)
            return cached[0]
        key = await self.store.get(session_id)
        if key is None or len(key) != KEY_BYTES or session_id in self._destroyed:
            self._cache.pop(session_id, None)
            raise SessionKeyMissing("no data key for this session (erased or expired)")
        self._remember(session_id, key)
        return key

    async def destroy(self, session_id: str) -> None:
        self._destroyed.add(session_id)
        self._cache.pop(session_id, None)
        await self.store.delete(session_id)
        self._cache.pop(session_id, None)  # a read that raced the delete cached nothing
        log.info("session.key_destroyed")

    def forget(self, session_id: str) -> None:
        """Drop the cached key: the session is no longer served here."""
        self._cache.pop(session_id, None)

    def _remember(self, session_id: str, key: bytes) -> None:
        if session_id in self._destroyed:
            return
        self._cache[session_id] = (key, self._clock())
        self._cache.move_to_end(session_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
