"""Secrets from environment variables.

A secret's variable is its name upper-cased, every character that is not an ASCII letter
or digit replaced by ``_``, behind the prefix ``DRT_SECRET_``::

    drtranscribe-api-keys   →  DRT_SECRET_DRTRANSCRIBE_API_KEYS
    groq-api-key            →  DRT_SECRET_GROQ_API_KEY
    azure.openai/key        →  DRT_SECRET_AZURE_OPENAI_KEY

So ``a-b`` and ``a_b`` share one variable: name secrets so that they stay apart.
A variable that is set but empty counts as unset (``get`` returns None), as in a
``docker run -e NAME=`` or a compose file with a blank value.

The ``DRT_SECRET_*`` variables are read once, when the source is built, and again on
every ``refresh()``; a running process rarely sees its environment change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

ENV_PREFIX = "DRT_SECRET_"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def env_var_name(secret: str) -> str:
    """The environment variable that holds ``secret`` (see the module docstring)."""
    return ENV_PREFIX + _NOT_ALNUM.sub("_", secret).upper()


class EnvSecrets:
    """Secrets in ``DRT_SECRET_*`` environment variables."""

    name = "env"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """``environ`` defaults to ``os.environ`` (read again on each ``refresh()``)."""
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._cache: dict[str, str] = {}
        self._snapshot()

    def _snapshot(self) -> None:
        self._cache = {
            key: value
            for key, value in self._environ.items()
            if key.startswith(ENV_PREFIX) and value
        }

    async def start(self) -> None:
        """Nothing to load: the variables were read when the source was built."""

    async def get(self, secret: str) -> str | None:
        return self._cache.get(env_var_name(secret))

    async def refresh(self) -> None:
        self._snapshot()

    async def aclose(self) -> None:
        self._cache = {}
