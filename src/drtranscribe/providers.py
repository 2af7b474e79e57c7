"""Which configured provider names can actually be built, from settings and environment.

A chain in ``settings.yaml`` lists providers in order, e.g. ``[groq, gemini, openai,
local_whisper]``. A cloud provider without a key is skipped (and logged once at start),
so the same settings file serves production and the offline default: with no keys the
chain is just the local provider.

Keys come from ``providers.<name>.api_key`` (``DRT_PROVIDERS__GROQ__API_KEY``) or, when that
is unset, the provider's conventional variable (``GROQ_API_KEY``, ``OPENAI_API_KEY``,
``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``, ``AZURE_OPENAI_API_KEY`` with
``AZURE_OPENAI_ENDPOINT``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar

import structlog
from pydantic import SecretStr

from drtranscribe.config import ProviderSettings, Settings
from drtranscribe.errors import ConfigError

log = structlog.get_logger(__name__)
T = TypeVar("T")

LOCAL = {"local_whisper", "local"}
KEYLESS = {"openai_compatible"}  # Ollama, vLLM, llama.cpp: a base URL is enough

_ENV_KEYS: dict[str, tuple[str, ...]] = {
    "groq": ("GROQ_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "azure_openai": ("AZURE_OPENAI_API_KEY",),
}
_ENV_URLS: dict[str, tuple[str, ...]] = {
    "azure_openai": ("AZURE_OPENAI_ENDPOINT",),
    "openai_compatible": ("OPENAI_COMPATIBLE_BASE_URL",),
}


def provider_settings(settings: Settings, name: str) -> ProviderSettings:
    configured = settings.providers.get(name, ProviderSettings())
    updates: dict[str, object] = {}
    if configured.api_key is None:
        key = next((os.environ[v] for v in _ENV_KEYS.get(name, ()) if os.environ.get(v)), None)
        if key:
            updates["api_key"] = SecretStr(key)
    if configured.base_url is None:
        url = next((os.environ[v] for v in _ENV_URLS.get(name, ()) if os.environ.get(v)), None)
        if url:
            updates["base_url"] = url
    return configured.model_copy(update=updates) if updates else configured


def is_usable(settings: Settings, name: str) -> bool:
    if name in LOCAL:
        return True
    config = provider_settings(settings, name)
    if name in KEYLESS:
        return config.base_url is not None
    if name == "azure_openai":
        return config.configured and config.base_url is not None
    return config.configured


def build_members(
    settings: Settings,
    names: list[str],
    builders: Mapping[str, Callable[[Settings, ProviderSettings], T]],
    *,
    chain: str,
) -> list[T]:
    """The providers of one chain in order, minus cloud providers that have no key."""
    unknown = [n for n in names if n not in builders]
    if unknown:
        raise ConfigError(f"unknown {chain} providers {unknown}; known: {sorted(builders)}")
    members = []
    for name in names:
        if not is_usable(settings, name):
            log.info("provider.not_configured", chain=chain, provider=name)
            continue
        members.append(builders[name](settings, provider_settings(settings, name)))
    if not members:
        raise ConfigError(f"no usable {chain} provider: add a local one or configure a key")
    return members
