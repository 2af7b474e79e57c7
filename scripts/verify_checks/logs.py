"""(e) The logs of the servers that served (b) and (d): every line of a session's work
names the session, and no line carries what was said or noted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from verify_checks.common import CheckResult, ServedSession, log_records

NAME = "(e) session logs carry session_id, no PHI"
SESSION_WORK = ("session.", "stt.", "note.", "extract.", "chain.")
REQUIRED = (
    "session.started",
    "stt.chunk_transcribed",
    "note.updated",
    "extract.done",
    "session.finished",
)
RULE = (
    "rule: a session's lines = its server's JSON lines from its session.started up to the "
    "next session.started on that server (sessions there never overlap),",
    "from drtranscribe.* loggers, with an event session.*, stt.*, note.*, extract.* or "
    "chain.*. Not session work: uvicorn access/connection lines, breaker.* (shared "
    'provider state), and background probes\' lines (they carry "probe": provider).',
    "PHI: every line of those servers vs word pairs of the fixture text and final "
    "transcript, and the note's medication names.",
)


def check(sessions: Sequence[ServedSession], expected: int) -> CheckResult:
    if len(sessions) < expected:
        return CheckResult(NAME, False, f"only {len(sessions)} of {expected} sessions ran", RULE)
    problems: list[str] = []
    events: Counter[str] = Counter()
    for session in sessions:
        lines = session_lines(session)
        events.update(str(r["event"]) for r in lines)
        problems += _unnamed(session, lines)
        missing = [e for e in REQUIRED if not any(r["event"] == e for r in lines)]
        if missing:
            problems.append(f"{session.label}: no {', '.join(missing)} line (vacuous check)")
    problems += _phi_hits(sessions)
    servers = {id(s.lines): s.lines for s in sessions}
    scanned = sum(len(lines) for lines in servers.values())
    detail = (
        f"{sum(events.values())} session lines of {len(sessions)} sessions all named "
        f"({_summary(events)}); PHI in 0 of {scanned} lines of {len(servers)} servers"
        if not problems
        else f"{len(problems)} problem(s) in {len(sessions)} sessions, {scanned} lines"
    )
    return CheckResult(NAME, not problems, detail, tuple(problems[:20]) + RULE)


def session_lines(session: ServedSession) -> list[dict[str, Any]]:
    """The lines of ``session``'s work, by the rule in :data:`RULE`."""
    records = log_records(session.lines)
    window = _window(records, session.session_id)
    return [records[i] for i in window if _is_session_work(records[i])]


def _window(records: list[dict[str, Any]], session_id: str) -> range:
    starts = [i for i, r in enumerate(records) if r.get("event") == "session.started"]
    own = [i for i in starts if records[i].get("session_id") == session_id]
    if not own:
        return range(0)
    later = [i for i in starts if i > own[0]]
    return range(own[0], later[0] if later else len(records))


def _is_session_work(record: dict[str, Any]) -> bool:
    if "probe" in record:  # a background probe's synthetic call, not a session's
        return False
    logger = str(record.get("logger", ""))
    return logger.startswith("drtranscribe.") and str(record.get("event", "")).startswith(
        SESSION_WORK
    )


def _unnamed(session: ServedSession, lines: list[dict[str, Any]]) -> list[str]:
    wrong = Counter(str(r["event"]) for r in lines if r.get("session_id") != session.session_id)
    return [
        f"{session.label}: {n} {event} line(s) without session_id={session.session_id}"
        for event, n in sorted(wrong.items())
    ]


def _phi_hits(sessions: Sequence[ServedSession]) -> list[str]:
    hits: set[str] = set()
    for session in sessions:
        for line in session.lines:
            lowered = line.lower()
            if found := sorted(p for p in session.content if p in lowered):
                event = log_records([line])[0].get("event", line[:60])
                hits.add(f"{session.label}: a {event!r} line contains {', '.join(found)}")
    return sorted(hits)


def _summary(events: Counter[str]) -> str:
    return ", ".join(f"{events[e]} {e}" for e in REQUIRED if events[e])
