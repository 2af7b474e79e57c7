"""The reference caption client: a transcript file replayed as live captions.

Each turn becomes one caption that grows as it is "spoken" (a revision every few words,
the whole text so far, as a meeting's captions do), then a final revision. Paced at the
turn's own times when the file has them (WebVTT cues), else at a speaking rate; with
``realtime=False`` each message goes as soon as the previous one is acked.

Speakers keep the names the file gives them; roles written as labels (``Doctor:``) are
declared at ``start``, and ``clinician`` names the clinician among other names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from drtranscribe.client.stream import ClientEvent, Outgoing, StreamOptions, stream_inputs
from drtranscribe.domain.note import Speaker
from drtranscribe.domain.turns import Turn

WORDS_PER_S = 2.5  # about 150 words a minute: conversational speech
WORDS_PER_REVISION = 4  # a meeting's captions grow a few words at a time


def caption_inputs(
    turns: Sequence[Turn], *, words_per_revision: int = WORDS_PER_REVISION
) -> list[Outgoing]:
    """The caption messages of ``turns``: revisions (growing text), then final. Their
    ``seq`` is their place in the list, as the server numbers what it stores."""
    inputs: list[Outgoing] = []
    clock = 0.0
    for index, turn in enumerate(turns):
        words = turn.text.split()
        start = turn.start if turn.start is not None else clock
        end = turn.end if turn.end is not None else start + len(words) / WORDS_PER_S
        cuts = [*range(words_per_revision, len(words), words_per_revision), len(words)]
        for step, cut in enumerate(cuts):
            final = step == len(cuts) - 1
            said_until = start + (end - start) * cut / max(1, len(words))
            message: dict[str, Any] = {
                "type": "caption",
                "seq": len(inputs),
                "caption_id": f"c{index}",
                "speaker": turn.name,
                "text": turn.text if final else " ".join(words[:cut]),
                "start": round(start, 3),
                "end": round(said_until, 3),
                "final": final,
            }
            summary = {"caption": index, "final": final, "chars": len(message["text"])}
            inputs.append(Outgoing(frame=json.dumps(message), due_s=said_until, summary=summary))
        clock = end
    return inputs


def declared_roles(turns: Sequence[Turn], clinician: str | None = None) -> dict[str, Speaker]:
    """Roles the file states (``Doctor:`` lines), plus ``clinician`` if given."""
    roles: dict[str, Speaker] = {t.name: t.role for t in turns if t.name and t.role}
    if clinician:
        roles[clinician] = "clinician"
    return roles


async def stream_captions(
    url: str | Sequence[str],
    turns: Sequence[Turn],
    *,
    speakers: dict[str, Speaker] | None = None,
    realtime: bool = True,
    language: str = "en",
    metadata: dict[str, str] | None = None,
    on_event: Callable[[ClientEvent], None] | None = None,
    max_reconnects: int = 10,
    api_key: str | None = None,
) -> AsyncIterator[ClientEvent]:
    """Replay ``turns`` as captions; yield every event until the server's ``final``.
    ``speakers`` defaults to the roles the file states (:func:`declared_roles`)."""
    start = {
        "type": "start",
        "input": "captions",
        "language": language,
        "metadata": metadata or {},
        "speakers": speakers if speakers is not None else declared_roles(turns),
    }
    options = StreamOptions(
        realtime=realtime, on_event=on_event, max_reconnects=max_reconnects, api_key=api_key
    )
    async for event in stream_inputs(url, start, caption_inputs(turns), options):
        yield event
