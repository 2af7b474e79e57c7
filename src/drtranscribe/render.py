"""The clinical note as plain text, for terminals."""

from __future__ import annotations

from drtranscribe.domain.note import ClinicalNote, NoteItem


def _line(item: NoteItem) -> str:
    data = item.model_dump(exclude={"id", "evidence", "speaker"}, exclude_defaults=True)
    main = next(iter(data.values()), "") if data else ""
    rest = [f"{k}: {v}" for k, v in list(data.items())[1:]]
    return f"  - {main}" + (f" ({'; '.join(str(r) for r in rest)})" if rest else "")


def render_note(note: ClinicalNote) -> str:
    lines: list[str] = []
    for field in ClinicalNote.model_fields:
        items = note.items(field)
        if not items:
            continue
        lines.append(f"{field.replace('_', ' ').capitalize()}:")
        lines += [_line(i) for i in items]
    return "\n".join(lines) if lines else "(empty note)"
