"""Build the adapters a process needs from ``Settings``, and close them again.

The app's lifespan and the in-process CLI (``drtranscribe transcribe``) both use this,
so the offline default and production differ only in the adapters chosen here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import structlog

from drtranscribe.auth.keys import ApiKeys
from drtranscribe.auth.state import AuthState
from drtranscribe.config import ChainSettings, Settings
from drtranscribe.crypto.keys import GcsKeyStore, LocalKeyStore, SessionKeys
from drtranscribe.errors import ConfigError, ProviderError
from drtranscribe.metrics import BREAKER_STATE, Metrics
from drtranscribe.resilience.breaker import BreakerState, CircuitBreaker
from drtranscribe.resilience.chain import ChainPolicy, FallbackChain, P
from drtranscribe.resilience.monitor import ProviderMonitor
from drtranscribe.resilience.retry import RetryPolicy
from drtranscribe.secrets.factory import (
    open_secret_source,
    refresh_periodically,
    reject_placeholders,
)
from drtranscribe.services import ProcessServices
from drtranscribe.state.embedded import EmbeddedRedis
from drtranscribe.state.store import SessionStore, connect
from drtranscribe.storage.base import AudioStore
from drtranscribe.storage.local import LocalAudioStore
from drtranscribe.vendors.registry import build_extractors, build_stt

log = structlog.get_logger(__name__)


@asynccontextmanager
async def services_for(
    settings: Settings, *, monitor: bool = True
) -> AsyncIterator[ProcessServices]:
    """Everything a process serves sessions with; ``monitor`` runs background probes."""
    async with AsyncExitStack() as stack:
        redis_url = settings.redis_url
        if redis_url is None:
            embedded = EmbeddedRedis(settings.data_dir / "redis")
            await embedded.start()
            stack.push_async_callback(embedded.stop)
            redis_url = embedded.url
            log.info("redis.embedded", data_dir=str(settings.data_dir))
        keys = await _open_keys(settings, stack)
        store = SessionStore(
            connect(redis_url, socket_timeout_s=settings.redis_socket_timeout_s),
            ttl_s=settings.session_ttl_s,
            keys=keys,
        )
        stack.push_async_callback(store.aclose)
        _sweep_expired_keys(keys, store, settings.session_ttl_s, stack)
        audio = audio_store_for(settings, keys)
        stack.push_async_callback(audio.aclose)

        auth = await _open_auth(settings, stack)
        metrics = Metrics()

        stt = build_stt(settings)
        for provider in stt:
            stack.push_async_callback(provider.aclose)
            await provider.start()
        extractors = build_extractors(settings)
        for extractor in extractors:
            stack.push_async_callback(extractor.aclose)

        services = ProcessServices(
            session=settings.session,
            store=store,
            audio=audio,
            stt=build_chain(stt, "stt", settings.resilience.stt, metrics),
            extraction=build_chain(
                extractors, "extraction", settings.resilience.extraction, metrics
            ),
            auth=auth,
            metrics=metrics,
        )
        if monitor:
            probes = ProviderMonitor(
                [*services.stt.targets(), *services.extraction.targets()],
                interval_s=settings.resilience.probe_interval_s,
            )
            probes.start()
            stack.push_async_callback(probes.stop)
        yield services


async def _open_auth(settings: Settings, stack: AsyncExitStack) -> AuthState:
    """Load API keys from the configured secrets backend; keep them fresh."""
    name = settings.auth.api_keys_secret
    source = await open_secret_source(
        settings.secrets_backend,
        file=settings.secrets_file,
        project=settings.gcp_project,
        endpoint=settings.secret_manager_endpoint,
        names=[name],
    )
    stack.push_async_callback(source.aclose)
    raw = await source.get(name)
    keys = ApiKeys.from_json(raw) if raw else ApiKeys()
    if raw and settings.environment == "production":
        _reject_placeholder_keys(name, raw, settings.environment)
    required = settings.auth.required
    if required is None:
        required = keys.configured or settings.environment == "production"
    if required and not keys.configured:
        raise ConfigError(
            f"authentication is required (environment {settings.environment}) but secret "
            f"{name!r} holds no API keys: add one with `drtranscribe keys add` "
            "(docs/deploy.md, API keys), or run the offline default with "
            "DRT_ENVIRONMENT=development"
        )
    if not required:
        log.warning(
            "auth.disabled",
            message="NO AUTHENTICATION: any client can stream and read sessions. "
            "Development only; configure API keys for anything else.",
        )
    state = AuthState(
        keys=keys,
        required=required,
        allowed_origins=frozenset(settings.auth.allowed_origins),
        token_ttl_s=settings.auth.stream_token_ttl_s,
    )

    async def reload_keys() -> None:
        fresh = await source.get(name)
        if not fresh:
            return
        keys = ApiKeys.from_json(fresh)
        if keys.keys == state.keys.keys:
            return
        before = {k.principal.key_id for k in state.keys.keys}
        after = {k.principal.key_id for k in keys.keys}
        state.replace_keys(keys)
        # Operators see an edit take effect (docs/runbook.md, API keys): ids, never keys.
        log.info(
            "auth.keys_reloaded",
            keys=len(after),
            added=sorted(after - before),
            removed=sorted(before - after),
        )

    task = asyncio.create_task(
        refresh_periodically(source, settings.secrets_refresh_s, after=reload_keys),
        name="secrets-refresh",
    )

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
    return state


def _reject_placeholder_keys(name: str, raw: str, environment: str) -> None:
    """Each plain ``key`` of the (already validated) list is checked as an API key; the
    JSON around them is not a key, and a ``key_sha256`` digest cannot be a placeholder."""
    for entry in json.loads(raw):
        if isinstance(entry.get("key"), str):
            reject_placeholders(f"{name} ({entry.get('id')})", entry["key"], environment)


def audio_store_for(settings: Settings, keys: SessionKeys) -> AudioStore:
    if settings.audio_bucket is None:
        return LocalAudioStore(settings.data_dir / "audio", keys=keys)
    from drtranscribe.storage.gcs import GcsAudioStore, client_for_emulator

    client = client_for_emulator(settings.gcs_endpoint) if settings.gcs_endpoint else None
    return GcsAudioStore(settings.audio_bucket, keys=keys, client=client)


async def _open_keys(settings: Settings, stack: AsyncExitStack) -> SessionKeys:
    """The sessions' data keys: a bucket of their own, or files under data_dir/keys."""
    if settings.keys_bucket is not None:
        from drtranscribe.storage.gcs import client_for_emulator

        client = client_for_emulator(settings.gcs_endpoint) if settings.gcs_endpoint else None
        remote = GcsKeyStore(settings.keys_bucket, client=client)
        stack.push_async_callback(remote.aclose)
        return SessionKeys(remote)
    if settings.audio_bucket is not None:
        raise ConfigError(
            "DRT_AUDIO_BUCKET is set but DRT_KEYS_BUCKET is not: with audio in Cloud Storage "
            "the sessions' data keys must be shared by every instance too (a bucket without "
            "versioning or soft delete: deploy/bootstrap.sh makes PROJECT-drt-keys)"
        )
    return SessionKeys(LocalKeyStore(settings.data_dir / "keys"))


def _sweep_expired_keys(
    keys: SessionKeys, store: SessionStore, ttl_s: float, stack: AsyncExitStack
) -> None:
    """Hourly: delete local keys older than the session TTL whose session is gone from
    Redis (expired): what Redis persistence still holds of it becomes unreadable."""
    local = keys.store
    if not isinstance(local, LocalKeyStore):
        return  # the key bucket's lifecycle rule does it

    async def sweep() -> None:
        while True:
            try:
                expired = 0
                for session_id in await local.older_than(ttl_s):
                    if not await store.meta(session_id):
                        await keys.destroy(session_id)
                        expired += 1
                if expired:
                    log.info("keys.expired", keys=expired)
            except Exception as exc:  # the next round tries again
                log.warning("keys.sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(3600)

    task = asyncio.create_task(sweep(), name="keys-expiry")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def build_chain(
    providers: Sequence[P], kind: str, config: ChainSettings, metrics: Metrics | None = None
) -> FallbackChain[P]:
    policy = ChainPolicy(
        deadline_s=config.deadline_s,
        hedge_after_s=config.hedge_after_s if len(providers) > 1 else None,
        retry=RetryPolicy(
            attempts=config.retry_attempts,
            initial_s=config.backoff_initial_s,
            max_s=config.backoff_max_s,
        ),
    )
    on_failure = None
    last_resort: list[str | None] = [None]  # what the chain last ran on, for transitions

    def on_change(name: str, _: BreakerState, new: BreakerState) -> None:
        if metrics is not None:
            metrics.breaker_state.labels(kind, name).set(BREAKER_STATE[new.value])
        now = chain.last_resort()
        if now == last_resort[0]:
            return
        last_resort[0] = now
        if metrics is not None:
            metrics.chain_last_resort.labels(kind).set(1 if now else 0)
        if now:  # /readiness says "degraded"; the alert policy keys on this event
            log.warning("chain.degraded", chain=kind, running_on=now)
        else:
            log.info("chain.recovered", chain=kind)

    if metrics is not None:

        def on_failure(name: str, error: ProviderError) -> None:
            metrics.provider_failures.labels(kind, name, error.category).inc()

        for p in providers:
            metrics.breaker_state.labels(kind, p.name).set(0)
        metrics.chain_last_resort.labels(kind).set(0)
    breakers = {
        p.name: CircuitBreaker(
            p.name,
            failure_threshold=config.failure_threshold,
            cooldown_s=config.cooldown_s,
            on_change=on_change,
        )
        for p in providers
    }
    chain = FallbackChain(
        providers, kind=kind, policy=policy, breakers=breakers, on_failure=on_failure
    )
    return chain
