"""Vital signs, spoken or read out: "blood pressure is 140 over 90" -> 140/90 mmHg.

Numbers arrive as digits (see :mod:`numerals`): "temp of thirty eight point five" is
"temp of 38.5" here. Each kind has a plausible range; a number outside it is not
that vital ("fever for 3 days" is no temperature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drtranscribe.domain.note import VitalKind

_GAP = r"[^0-9.?!;]{0,30}?"  # words between the label and the number
_NUM = r"(\d{1,3}(?:\.\d+)?)"


@dataclass(frozen=True, slots=True)
class VitalReading:
    kind: VitalKind
    value: str
    unit: str
    start: int = 0


_BP = re.compile(
    rf"\b(?:blood pressures?|bp|pressures?)\b{_GAP}\b(\d{{2,3}}) ?(?:over|/|on) ?(\d{{2,3}})\b"
)
_BP_BARE = re.compile(r"\b(\d{2,3}) ?(?:over|/) ?(\d{2,3})\b(?! (?:days?|weeks?|years?))")
_HR = re.compile(
    rf"\b(?:heart rate|pulse(?: rate)?|hr|heart beat|heartbeat)\b{_GAP}\b{_NUM}\b"
    r"(?! (?:days?|weeks?|years?|minutes?|hours?|times?|%))"
)
_HR_UNIT = re.compile(rf"\b{_NUM} ?(?:beats (?:per|a|an) minute|bpm|beats per min)\b")
_TEMP = re.compile(
    rf"\b(?:temperature|temp|fever|febrile|temps)\b{_GAP}\b{_NUM}\b ?"
    r"(?P<unit>degrees? (?:celsius|centigrade|c|fahrenheit|f)\b|degrees?|c\b|f\b)?"
)
_TEMP_UNIT = re.compile(rf"\b{_NUM} ?degrees? ?(?P<unit>celsius|centigrade|c|fahrenheit|f)?\b")
_SPO2 = re.compile(
    r"\b(?:oxygen saturations?|oxygen sats?|saturations?|saturating|sats?|spo2|sp o2|"
    r"oxygen levels?|oxygen|pulse ox(?:imetry|imeter)?|pulse oximetry|o2 sats?|sating)\b"
    rf"{_GAP}\b{_NUM}\b ?(%)?"
)
_RR = re.compile(
    rf"\b(?:respiratory rate|resp(?:iratory)? rate|respirations?|breathing rate|"
    rf"rr)\b{_GAP}\b{_NUM}\b"
)
_RR_UNIT = re.compile(rf"\b{_NUM} ?breaths? (?:per|a|an) minute\b")
_WEIGHT = re.compile(
    rf"\b(?:weigh(?:s|ed|ing)?|weight(?: is| was| of| today)?)\b{_GAP}\b{_NUM}\b ?"
    r"(?P<unit>kg|lb|stone)?"
)
_NOT_A_VALUE = re.compile(r"^ ?(?:days?|weeks?|months?|years?|hours?|minutes?|times?|mg|mcg)\b")


def _ok(norm: str, end: int) -> bool:
    return _NOT_A_VALUE.match(norm[end : end + 10]) is None


def _fmt(value: str) -> str:
    return value.rstrip("0").rstrip(".") if "." in value else value


def find_vitals(norm: str) -> list[VitalReading]:
    """Readings in one sentence; of a kind said twice, the later one comes later."""
    out: list[VitalReading] = []
    bp_spans: list[tuple[int, int]] = []
    for m in _BP.finditer(norm):
        sys_, dia = int(m.group(1)), int(m.group(2))
        if 60 <= sys_ <= 260 and 30 <= dia <= 160 and sys_ > dia:
            out.append(VitalReading("blood_pressure", f"{sys_}/{dia}", "mmHg", m.start(1)))
            bp_spans.append((m.start(1), m.end()))
    for m in _BP_BARE.finditer(norm):
        if any(s <= m.start() < e for s, e in bp_spans):
            continue
        sys_, dia = int(m.group(1)), int(m.group(2))
        if 80 <= sys_ <= 260 and 40 <= dia <= 160 and sys_ > dia:
            out.append(VitalReading("blood_pressure", f"{sys_}/{dia}", "mmHg", m.start(1)))
            bp_spans.append((m.start(1), m.end()))

    def in_bp(pos: int) -> bool:
        return any(s <= pos < e for s, e in bp_spans)

    for pattern in (_HR, _HR_UNIT):
        for m in pattern.finditer(norm):
            v = float(m.group(1))
            if 25 <= v <= 250 and not in_bp(m.start(1)) and _ok(norm, m.end(1)):
                out.append(VitalReading("heart_rate", _fmt(m.group(1)), "bpm", m.start(1)))
    for pattern in (_TEMP, _TEMP_UNIT):
        for m in pattern.finditer(norm):
            v = float(m.group(1))
            unit = (m.group("unit") or "").split(" ")[-1]
            if unit in ("fahrenheit", "f") or (not unit.startswith("c") and 90 <= v <= 110):
                if 90 <= v <= 110:
                    out.append(VitalReading("temperature", _fmt(m.group(1)), "°F", m.start(1)))
            elif 33 <= v <= 43 and _ok(norm, m.end(1)):
                out.append(VitalReading("temperature", _fmt(m.group(1)), "°C", m.start(1)))
    for m in _SPO2.finditer(norm):
        v = float(m.group(1))
        if 60 <= v <= 100 and not in_bp(m.start(1)) and _ok(norm, m.end(1)):
            out.append(VitalReading("spo2", _fmt(m.group(1)), "%", m.start(1)))
    for pattern in (_RR, _RR_UNIT):
        for m in pattern.finditer(norm):
            v = float(m.group(1))
            if 4 <= v <= 70 and not in_bp(m.start(1)) and _ok(norm, m.end(1)):
                out.append(VitalReading("respiratory_rate", _fmt(m.group(1)), "/min", m.start(1)))
    for m in _WEIGHT.finditer(norm):
        v = float(m.group(1))
        unit = m.group("unit")
        if unit is None:
            unit = "kg" if v < 150 else "lb"
        if unit == "stone":
            continue
        if 2 <= v <= 700:
            out.append(VitalReading("weight", _fmt(m.group(1)), unit, m.start(1)))
    # one reading per (kind, position); order of appearance
    seen: set[tuple[str, int]] = set()
    uniq: list[VitalReading] = []
    for r in sorted(out, key=lambda r: r.start):
        if (r.kind, r.start) not in seen:
            seen.add((r.kind, r.start))
            uniq.append(r)
    return uniq
