"""Short-lived stream tokens: a browser gets one from ``POST /v1/sessions`` (with its API key
in a header) and puts only the token in the WebSocket URL, so the long-lived key never
appears in a URL. A token is bound to one session id and one tenant, lives in Redis (so
any instance accepts it) as a SHA-256 digest, and expires after ``ttl_s``.
"""

from __future__ import annotations

import hashlib
import json
import secrets

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from drtranscribe.auth.keys import Principal
from drtranscribe.errors import StateStoreError

TOKEN_PREFIX = "st_"  # noqa: S105 - a prefix, not a secret


def _key(token: str) -> str:
    return "drt:token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue(
    client: aioredis.Redis, principal: Principal, session_id: str, *, ttl_s: int
) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = {
        "key_id": principal.key_id,
        "tenant": principal.tenant,
        "origins": list(principal.origins),
        "max_session_s": principal.max_session_s,
        "session_id": session_id,
    }
    try:
        await client.set(_key(token), json.dumps(record), ex=ttl_s)
    except (RedisError, OSError) as exc:
        raise StateStoreError("could not store the stream token") from exc
    return token


async def redeem(client: aioredis.Redis, token: str | None) -> tuple[Principal, str] | None:
    """The principal and the session id the token is bound to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    try:
        raw = await client.get(_key(token))
    except (RedisError, OSError) as exc:
        raise StateStoreError("could not check the stream token") from exc
    if raw is None:
        return None
    record = json.loads(raw)
    principal = Principal(
        key_id=record["key_id"],
        tenant=record["tenant"],
        origins=tuple(record.get("origins", [])),
        max_session_s=record.get("max_session_s"),
    )
    return principal, str(record["session_id"])
