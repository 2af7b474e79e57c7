"""Extractors by configured name. A plain dict: nothing registers on import, and a
provider's module (and its SDK) is imported only when a chain names it."""

from __future__ import annotations

from collections.abc import Callable

from drtranscribe.config import Settings
from drtranscribe.errors import ConfigError
from drtranscribe.extraction.base import Extractor


def _local(settings: Settings) -> Extractor:
    from drtranscribe.extraction.local import LocalExtractor

    return LocalExtractor()


PROVIDERS: dict[str, Callable[[Settings], Extractor]] = {
    "local": _local,
}


def build_extractors(settings: Settings) -> list[Extractor]:
    unknown = [n for n in settings.extraction_chain if n not in PROVIDERS]
    if unknown:
        raise ConfigError(f"unknown extraction providers {unknown}; known: {sorted(PROVIDERS)}")
    return [PROVIDERS[name](settings) for name in settings.extraction_chain]
