"""Secret values that are not real secrets, refused outside development.

Outside ``development`` (see :data:`PLACEHOLDERS_ALLOWED_IN`) a secret value
is refused, with a :class:`~drtranscribe.errors.ConfigError` that names the secret and
the rule but never the value, when it is:

* empty or only whitespace;
* a placeholder word once case, spaces and punctuation are dropped: one of
  :data:`PLACEHOLDER_VALUES` (``changeme``, ``CHANGE_ME``, ``placeholder``, ``secret``,
  ``test``, ``TODO``, ``your-api-key``...), or only ``x`` characters (``xxx``, ``XXXX``),
  or no letter or digit at all (``****``);
* an unfilled template: ``<...>``, ``${...}``, ``{{...}}``;
* for an API key, shorter than :data:`MIN_API_KEY_LENGTH` (16) characters. A secret is an
  API key when its name ends in ``api-key`` or ``api-keys`` (any of ``-``, ``_``, ``.``
  or nothing between the words); a value may list several keys separated by commas
  or whitespace (``drtranscribe-api-keys``), and each one is checked.

In ``development`` anything goes, so a laptop runs with ``DRT_SECRET_GROQ_API_KEY=test``.
"""

from __future__ import annotations

import re

from drtranscribe.errors import ConfigError

PLACEHOLDERS_ALLOWED_IN: frozenset[str] = frozenset({"development"})
MIN_API_KEY_LENGTH = 16
PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {
        "changeme",
        "changeit",
        "replaceme",
        "placeholder",
        "secret",
        "password",
        "test",
        "testing",
        "todo",
        "tbd",
        "fixme",
        "dummy",
        "example",
        "sample",
        "fake",
        "default",
        "none",
        "null",
        "undefined",
        "apikey",
        "yourapikey",
        "yourkey",
        "yoursecret",
        "yourkeyhere",
        "insertkeyhere",
    }
)
"""Lower-case, letters and digits only: a value is compared after the same folding."""

_TEMPLATE = re.compile(r"<[^<>]*>|\$\{[^{}]*\}|\{\{.*\}\}", re.DOTALL)
_API_KEY_NAME = re.compile(r"api[-_.]?keys?$", re.IGNORECASE)
_KEY_SEPARATORS = re.compile(r"[,\s]+")


def placeholder_reason(secret: str, value: str | None) -> str | None:
    """Why ``value`` looks like a placeholder for ``secret`` (no value in it), or None."""
    stripped = (value or "").strip()
    if not stripped:
        return "empty"
    reason = _value_reason(stripped)
    if reason is not None or not _is_api_key(secret):
        return reason
    for key in filter(None, _KEY_SEPARATORS.split(stripped)):
        reason = _value_reason(key)
        if reason is not None:
            return reason
        if len(key) < MIN_API_KEY_LENGTH:
            return f"an API key shorter than {MIN_API_KEY_LENGTH} characters"
    return None


def _is_api_key(secret: str) -> bool:
    return _API_KEY_NAME.search(secret) is not None


def _value_reason(value: str) -> str | None:
    if _TEMPLATE.fullmatch(value):
        return "an unfilled template"
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    if not folded:
        return "without a letter or digit"
    if folded in PLACEHOLDER_VALUES or re.fullmatch(r"x+", folded):
        return "a placeholder word"
    return None


def reject_placeholders(secret: str, value: str | None, environment: str) -> None:
    """ConfigError when ``value`` is a placeholder and ``environment`` is not development."""
    if environment in PLACEHOLDERS_ALLOWED_IN:
        return
    reason = placeholder_reason(secret, value)
    if reason is not None:
        raise ConfigError(
            f"secret {secret!r} looks like a placeholder ({reason}), which is not allowed "
            f"in {environment}: set a real value (placeholders pass only in development)"
        )
