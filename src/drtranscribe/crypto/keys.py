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
  deleted key is gone, and with a lifecycle rule that deletes keys older than the session
  TTL: a session that simply expires is shredded as well.

Keys expire with their sessions (``session_ttl_s``): the local store sweeps its directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import OrderedDict
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
    async def put(self, session_id: str, key: bytes) -> None:
        """Store a new key durably (before any data sealed with it is)."""

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

    async def put(self, session_id: str, key: bytes) -> None:
        try:
            await asyncio.to_thread(_write_private, self._path(session_id), key)
        except OSError as exc:
            raise KeyStoreError(f"key store: cannot write ({exc.strerror})") from exc

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

    async def expire(self, older_than_s: float) -> int:
        """Delete keys written more than ``older_than_s`` ago (their sessions expired)."""
        cutoff = time.time() - older_than_s

        def sweep() -> int:
            gone = 0
            for path in self.root.glob("*.key"):
                try:
                    if path.stat().st_mtime < cutoff:
                        _unlink_synced(path)
                        gone += 1
                except FileNotFoundError:
                    continue
            return gone

        return await asyncio.to_thread(sweep)

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

    async def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except gexc.NotFound:
            raise
        except (gexc.GoogleAPIError, OSError) as exc:
            raise KeyStoreError(f"key store: {what} failed ({type(exc).__name__})") from exc

    async def put(self, session_id: str, key: bytes) -> None:
        blob = self._blob(session_id)
        await self._call(
            "put", blob.upload_from_string, key, content_type="application/octet-stream",
            if_generation_match=0,
        )  # fmt: skip

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
    """The data key of each session: made at session start, cached while in use."""

    def __init__(self, store: KeyStore, *, cache_size: int = 4096) -> None:
        self.store = store
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    async def create(self, session_id: str) -> bytes:
        key = new_key()
        await self.store.put(session_id, key)
        self._remember(session_id, key)
        return key

    async def get(self, session_id: str) -> bytes:
        """The session's key; :class:`SessionKeyMissing` once it was destroyed."""
        key = self._cache.get(session_id)
        if key is not None:
            self._cache.move_to_end(session_id)
            return key
        key = await self.store.get(session_id)
        if key is None or len(key) != KEY_BYTES:
            raise SessionKeyMissing("no data key for this session (erased or expired)")
        self._remember(session_id, key)
        return key

    async def destroy(self, session_id: str) -> None:
        self._cache.pop(session_id, None)
        await self.store.delete(session_id)
        log.info("session.key_destroyed")

    def forget(self, session_id: str) -> None:
        """Drop the cached key (another instance may destroy it)."""
        self._cache.pop(session_id, None)

    def _remember(self, session_id: str, key: bytes) -> None:
        self._cache[session_id] = key
        self._cache.move_to_end(session_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
