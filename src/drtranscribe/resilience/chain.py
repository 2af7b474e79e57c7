"""The fallback chain both sides use: ordered providers, first success wins.

Speech-to-text and extraction chains are the same mechanism over different calls: a
chain holds providers in configured order and a function that calls one of them. A
provider's failure moves the chain to the next provider at once; when all fail, the
error names every one of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import structlog

from drtranscribe.errors import AllProvidersFailed, ProviderError

log = structlog.get_logger(__name__)


class Named(Protocol):
    name: str


P = TypeVar("P", bound=Named)
R = TypeVar("R")


class FallbackChain(Generic[P]):
    def __init__(self, providers: Sequence[P], *, kind: str) -> None:
        if not providers:
            raise ValueError(f"empty {kind} chain")
        self.providers = list(providers)
        self.kind = kind

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    async def call(self, fn: Callable[[P], Awaitable[R]]) -> R:
        errors: list[ProviderError] = []
        for provider in self.providers:
            try:
                return await fn(provider)
            except ProviderError as exc:
                errors.append(exc)
                log.warning(
                    "chain.provider_failed",
                    chain=self.kind,
                    provider=provider.name,
                    category=exc.category,
                    retryable=exc.retryable,
                )
        raise AllProvidersFailed(errors)
