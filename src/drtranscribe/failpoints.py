"""Failpoints: crash this process at a named point, for the instance-death tests.

``DRT_FAILPOINTS="after_ack=3"`` makes the process SIGKILL itself right after it acks
chunk 3 — only when ``DRT_ENVIRONMENT=test``; production ignores the variable. Points:

* ``before_ack=N``       chunk N's audio is stored, its state not yet recorded or acked
* ``after_ack=N``        chunk N is acked, not yet transcribed
* ``during_extraction=N`` the note update that would produce version N has run, not saved
* ``during_stop``        the combined audio is written, the session not marked finished
* ``caption_stored=N``   caption message N is stored, not yet acked
* ``caption_acked=N``    caption message N is acked, its segment not yet sent
"""

from __future__ import annotations

import os
import signal

_points: dict[str, int | None] | None = None


def _load() -> dict[str, int | None]:
    global _points
    if _points is None:
        _points = {}
        if os.environ.get("DRT_ENVIRONMENT") == "test":
            for item in filter(None, os.environ.get("DRT_FAILPOINTS", "").split(",")):
                name, _, value = item.partition("=")
                _points[name.strip()] = int(value) if value.strip() else None
    return _points


def hit(name: str, value: int | None = None) -> None:
    points = _load()
    if name in points and points[name] in (None, value):
        os.kill(os.getpid(), signal.SIGKILL)
