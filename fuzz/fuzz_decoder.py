"""Fuzz the WebSocket message decoder (atheris / libFuzzer).

Every text frame a client sends goes through ``parse_client_message``. It must return a
message or raise ``ProtocolError`` with a documented code and a non-empty message; any other
exception is a crash. A message it accepts must also be storable: it serialises to strict
UTF-8 JSON and decodes again.

    .venv/bin/python fuzz/fuzz_decoder.py -max_total_time=120 -print_final_stats=1

It found BUG-1 (``{"type": []}``: TypeError) and BUG-3 (a lone surrogate accepted in
``metadata``), both fixed. See fuzz/README.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

# Heavy dependencies first, uninstrumented: coverage feedback is wanted for our code only.
import pydantic
from pydantic import BaseModel

with atheris.instrument_imports(include=["drtranscribe"]):
    from drtranscribe.errors import ProtocolError
    from drtranscribe.protocol import CLIENT_MESSAGES, ERROR_CODES, dump, parse_client_message


#: Prefixes that steer the fuzzer into the validation code (a mode byte picks one).
TEMPLATES = [
    "",
    '{"type":"start","audio":',
    '{"type":"start","audio":{"encoding":"pcm_s16le","sample_rate":',
    '{"type":"start","audio":{"encoding":"wav"},"metadata":',
    '{"type":"start","audio":{"encoding":"wav"},"language":',
    '{"type":"resume","session_id":',
    '{"type":"resume","session_id":"s","resume_token":',
    '{"type":"stop",',
    '{"type":',
]

SEEDS = [
    b'{"type":"start","audio":{"encoding":"wav"}}',
    b'{"type":"start","protocol":1,"audio":{"encoding":"pcm_s16le","sample_rate":16000,'
    b'"channels":1},"language":"en","metadata":{"encounter":"e-1"}}',
    b'{"type":"resume","session_id":"abc","resume_token":"tok"}',
    b'{"type":"stop"}',
    b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    b'{"type":"start","audio":{"encoding":"wav"},"metadata":{"k":"\\u00e9"}}',
]


def _switch(name: str, values: list[str]) -> Callable[[str], int]:
    """An instrumented ``if v == values[0] ... elif ...`` chain: one coverage edge per value."""
    body = "".join(f"    if v == {v!r}:\n        return {i}\n" for i, v in enumerate(values))
    namespace: dict[str, Any] = {}
    exec(f"def {name}(v):\n{body}    return -1\n", namespace)  # noqa: S102 (constant source)
    fn: Callable[[str], int] = atheris.instrument_func(namespace[name])
    return fn


# JSON parsing (C) and validation (pydantic-core, Rust) give libFuzzer no coverage: their
# outcomes are turned into edges here, so an input reaching a new one is kept in the corpus.
_PYDANTIC_ERRORS = [
    "missing", "extra_forbidden", "literal_error", "union_tag_invalid", "string_type",
    "string_unicode", "string_too_short", "string_too_long", "int_type", "int_parsing",
    "int_from_float", "greater_than_equal", "less_than_equal", "dict_type", "too_long",
    "model_type", "model_attributes_type", "value_error", "bool_type", "finite_number",
]  # fmt: skip
_outcome = _switch("_outcome", [*ERROR_CODES, *CLIENT_MESSAGES])
_error_type = _switch("_error_type", _PYDANTIC_ERRORS)
_FIELD_NAMES = [
    "audio", "encoding", "sample_rate", "channels", "protocol", "language", "metadata",
    "session_id", "resume_token", "type", "start", "resume", "stop",
]  # fmt: skip
_error_field = _switch("_error_field", _FIELD_NAMES)


def _feedback(result: BaseModel | ProtocolError) -> None:
    if isinstance(result, ProtocolError):
        _outcome(result.code)
        cause = result.__cause__
        if isinstance(cause, pydantic.ValidationError):
            for error in cause.errors():
                _error_type(error["type"])
                for part in error["loc"]:
                    _error_field(str(part))
    else:
        _outcome(str(getattr(result, "type", "")))
        for name in result.model_fields_set:
            _error_field(name)


def check(raw: str | bytes) -> None:
    try:
        message = parse_client_message(raw)
    except ProtocolError as exc:
        _feedback(exc)
        if exc.code not in ERROR_CODES or not exc.message.strip():
            raise AssertionError(f"undocumented error {exc.code!r}: {exc.message!r}") from exc
        exc.message.encode("utf-8")
        return
    _feedback(message)
    encoded = dump(message).encode("utf-8")
    again = parse_client_message(encoded)
    if type(again) is not type(message):
        raise AssertionError("a decoded message does not decode again")


def _text(data: bytes, how: int) -> str:
    if how == 0:
        return data.decode("latin-1")  # every byte a code point: JSON syntax mutates well
    if how == 1:
        return data.decode("utf-8", "replace")
    # UTF-16 code units: any code point, lone surrogates included (JSON escapes give them too)
    return data[: len(data) & ~1].decode("utf-16-le", "surrogatepass")


#: Values for the structured mode; byte-derived strings are added to these.
VALUES: list[object] = [
    None, True, False, 0, 1, -1, 2, 1.0, 1.5, 8000, 7999, 16000, 192000, 192001, 2**31,
    2**32 - 1, 2**63, 10**30, float("inf"), float("nan"), "", "en", "wav", "pcm_s16le",
    "start", "stop", "resume", "x" * 300, [], {}, [1], {"a": 1}, {"encoding": "wav"},
    {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
]  # fmt: skip
TYPES = ["start", "resume", "stop", "Start", "", "final", "session"]
FIELDS = ["audio", "protocol", "language", "metadata", "session_id", "resume_token", "type"]
AUDIO_FIELDS = ["encoding", "sample_rate", "channels", "bits"]


class _Bytes:
    """A cursor over the fuzzer's bytes: small choices and strings, 0 once exhausted."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1] if self.pos <= len(self.data) else 0

    def text(self) -> str:
        n = self.byte() % 16 * 2
        chunk = self.data[self.pos : self.pos + n]
        chunk = chunk[: len(chunk) & ~1]  # whole UTF-16 code units at the end of the data
        self.pos += n
        return chunk.decode("utf-16-le", "surrogatepass")  # lone surrogates included

    def value(self, depth: int = 0) -> object:
        pick = self.byte()
        if pick < 40:
            return self.text()
        if pick < 60 and depth < 3:
            return {self.text(): self.value(depth + 1) for _ in range(self.byte() % 4)}
        if pick < 70 and depth < 3:
            return [self.value(depth + 1) for _ in range(self.byte() % 4)]
        return VALUES[pick % len(VALUES)]


VALID: list[dict[str, object]] = [
    {"type": "start", "audio": {"encoding": "wav"}},
    {"type": "start", "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}},
    {"type": "resume", "session_id": "s_abc", "resume_token": "t"},
    {"type": "stop"},
]


def _structured(payload: bytes) -> str:
    """A valid message with up to three fields changed (set, replaced or added) from the
    bytes: so that most inputs are one or two mistakes away from a valid message."""
    cur = _Bytes(payload)
    message = dict(VALID[cur.byte() % len(VALID)])
    for _ in range(cur.byte() % 4):
        name = FIELDS[cur.byte() % len(FIELDS)]
        how = cur.byte() % 4
        if how == 0:
            message.pop(name, None)
        elif how == 1:
            message[name] = cur.value()
        elif name == "audio":
            message[name] = {f: cur.value() for f in AUDIO_FIELDS if cur.byte() % 2}
        elif name == "metadata":
            message[name] = {cur.text(): cur.text() for _ in range(cur.byte() % 40)}
        elif name == "type":
            message[name] = TYPES[cur.byte() % len(TYPES)]
        else:
            message[name] = cur.text()
    if cur.byte() % 8 == 7:
        message[cur.text()] = cur.value()
    return json.dumps(message, ensure_ascii=bool(cur.byte() % 2))


def TestOneInput(data: bytes) -> None:
    """Byte 0 picks the mode, byte 1 its option; the rest is the payload."""
    if len(data) < 2:
        return
    mode, option, payload = data[0] % 5, data[1], data[2:]
    raw: str | bytes
    if mode == 0:  # the raw bytes (UTF-8/16/32 detection, invalid UTF-8)
        raw = payload
    elif mode == 1:  # arbitrary text (what a text frame becomes)
        raw = _text(payload, option % 3)
    elif mode == 2:  # a template prefix + fuzzed tail
        raw = TEMPLATES[option % len(TEMPLATES)] + _text(payload, 0)
    elif mode == 4:  # a message-shaped object, serialised by json.dumps
        raw = _structured(payload)
    else:  # deep nesting of a chosen shape, depth from two payload bytes (x4: up to 262 140)
        depth = int.from_bytes(payload[:2].ljust(2, b"\0"), "little") * 4
        unit = ["[", '{"a":', '{"type":'][option % 3]
        raw = TEMPLATES[(option // 3) % len(TEMPLATES)] + unit * depth + _text(payload[2:], 0)
    check(raw)


#: libFuzzer dictionary: the protocol's words and JSON's corner cases.
DICTIONARY = [
    *(f'"{w}"' for w in ["type", "start", "resume", "stop", "audio", "encoding", "wav"]),
    *(f'"{w}"' for w in ["pcm_s16le", "sample_rate", "channels", "language", "metadata"]),
    *(f'"{w}"' for w in ["session_id", "resume_token", "protocol"]),
    *["\\ud800", "\\udfff", "\\u0000", "\\ud83d\\ude00", "1e999", "-1e999", "NaN"],
    *["Infinity", "-0", "1.0", "null", "true", "false", "16000", "192001", "4294967295"],
    *["[", "]", "{", "}", ":", ",", '""', "\\"],
]


def _with_seed_corpus(argv: list[str]) -> list[str]:
    """Add a dictionary unless one is given; without a corpus directory on the command line,
    start from a temporary seeded one."""
    workdir = Path(tempfile.mkdtemp(prefix="drt-fuzz-decoder-"))
    if not any(a.startswith("-dict=") for a in argv[1:]):
        entries = (json.dumps(token) for token in DICTIONARY)
        (workdir / "decoder.dict").write_text("".join(f"{e}\n" for e in entries))
        argv = [*argv, f"-dict={workdir / 'decoder.dict'}"]
    if any(not a.startswith("-") for a in argv[1:]):
        return argv
    corpus = workdir / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed-{i}-raw").write_bytes(b"\x00\x00" + seed)
        (corpus / f"seed-{i}-text").write_bytes(b"\x01\x00" + seed)
        (corpus / f"seed-{i}-utf16").write_bytes(b"\x01\x02" + seed.decode().encode("utf-16-le"))
    for t in range(len(TEMPLATES)):
        (corpus / f"template-{t}").write_bytes(b"\x02" + bytes([t]) + b'"x"}')
    (corpus / "nested").write_bytes(b"\x03\x00\x10\x27")
    (corpus / "structured").write_bytes(b"\x04\x00" + bytes(range(64)))
    return [*argv, str(corpus)]


def main() -> None:
    json.loads("{}")  # warm the C scanner
    atheris.Setup(_with_seed_corpus(sys.argv), TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
