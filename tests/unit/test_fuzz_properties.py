"""Bad input, tried for real: property-based tests of the two entry points a client reaches.

* ``parse_client_message`` (every WebSocket text frame) either returns a valid message or
  raises :class:`ProtocolError` with a code from ``ERROR_CODES`` and a non-empty message.
* ``decode_wav`` / ``decode_chunk`` / ``PcmAudio.from_s16le`` (every binary frame) either
  return PCM that keeps its invariants, with memory bounded by the input size, or raise
  :class:`AudioError` with a documented code.

Any other exception is a crash: in the server it escapes the connection loop and drops the
connection without an ``error`` message. The three crashes these tests found (BUG-1..3, now
fixed) are kept as the ``test_fixed_bug_*`` regressions at the end.

Figures and the fuzzing (atheris) counterpart: docs/security.md, fuzz/README.md.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import tracemalloc
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drtranscribe.audio.decode import decode_chunk
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.errors import AudioError, ProtocolError
from drtranscribe.protocol import (
    ERROR_CODES,
    AudioFormat,
    ResumeMessage,
    StartMessage,
    StopMessage,
    dump,
    parse_client_message,
)

pytestmark = pytest.mark.unit

#: Examples per property. The deadline is generous (shared 2-core CI box): it is there to
#: catch a hang, not to measure speed.
EXAMPLES = 300
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

AUDIO_CODES = {"audio_undecodable", "audio_format_mismatch", "chunk_too_long"}
MIN_RATE, MAX_RATE = 8000, 192000
MAX_CHANNELS = 8


# =========================================================================== checkers


def _assert_documented(exc: ProtocolError, allowed: set[str] | None = None) -> None:
    assert exc.code in ERROR_CODES, f"undocumented error code {exc.code!r}"
    if allowed is not None:
        assert exc.code in allowed, f"unexpected code {exc.code!r} here"
    assert isinstance(exc.message, str)
    assert exc.message.strip(), "an error needs a message"
    exc.message.encode("utf-8")  # it is sent to the client as JSON
    # The pydantic report (which quotes the input) must not reach the client.
    assert "input_value" not in exc.message
    assert "pydantic" not in exc.message


def check_message(raw: str | bytes) -> StartMessage | ResumeMessage | StopMessage | ProtocolError:
    """Decode ``raw``: a valid message, or a documented ProtocolError, nothing else."""
    try:
        message = parse_client_message(raw)
    except ProtocolError as exc:
        _assert_documented(exc)
        return exc
    assert isinstance(message, StartMessage | ResumeMessage | StopMessage)
    # What the decoder accepts must be storable and sendable: strict UTF-8 JSON (BUG-3).
    encoded = dump(message).encode("utf-8")
    assert type(parse_client_message(encoded)) is type(message)  # and it decodes again
    return message


def check_pcm(audio: PcmAudio, data: bytes) -> None:
    """Invariants of any decoded chunk, with ``data`` the frame it came from."""
    assert isinstance(audio, PcmAudio)
    assert audio.samples.dtype == np.int16
    assert audio.samples.ndim == 2
    assert 1 <= audio.channels <= MAX_CHANNELS
    assert MIN_RATE <= audio.sample_rate <= MAX_RATE
    assert audio.frames >= 1
    assert audio.frames * audio.channels == audio.samples.size
    # Memory: 8-bit audio doubles in size, nothing else grows.
    assert audio.samples.nbytes <= 2 * len(data)
    # Every frame took at least one byte per channel from the input.
    assert audio.frames * audio.channels <= len(data)
    assert math.isfinite(audio.duration_s)
    assert 0 < audio.duration_s <= len(data) / (audio.sample_rate * audio.channels)
    # The stored form (re-encoded 16-bit WAV) decodes back to the same audio.
    again = decode_wav(encode_wav(audio))
    assert again.sample_rate == audio.sample_rate
    np.testing.assert_array_equal(again.samples, audio.samples)


def check_wav(data: bytes) -> PcmAudio | AudioError:
    try:
        audio = decode_wav(data)
    except AudioError as exc:
        _assert_documented(exc, {"audio_undecodable"})
        return exc
    check_pcm(audio, data)
    return audio


# =========================================================================== strategies

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 2**31, 2**32 - 1, 2**63, 10**40, 1.5, -0.0])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
# Type values: the real ones, near misses, junk; lists and objects too (BUG-1).
type_values = (
    st.sampled_from(
        ["start", "resume", "stop", "START", "Start", "stop ", "", "final", "session", "error"]
    )
    | json_scalars
    | json_values
)
odd_rates = st.sampled_from(
    [0, 1, 7999, 8000, 11025, 16000, 44100, 48000, 192000, 192001, 2**31, 2**32 - 1, -16000]
)
audio_objects = st.fixed_dictionaries(
    {},
    optional={
        "encoding": st.sampled_from(["wav", "pcm_s16le", "WAV", "mp3", "opus", ""]) | json_values,
        "sample_rate": odd_rates | st.sampled_from([16000.0, 16000.5, "16000", None, True]),
        "channels": st.sampled_from([0, 1, 2, 8, 9, -1, 65535, 1.0, "1", None]) | json_values,
        "bits": json_values,
    },
)
# Lone surrogates only: all high (D800-DBFF) or all low (DC00-DFFF), so no valid pair forms.
surrogates = st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDBFF), min_size=1
) | st.text(st.characters(min_codepoint=0xDC00, max_codepoint=0xDFFF), min_size=1)


@st.composite
def message_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Objects shaped like client messages, right or wrong in every field."""
    out: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        out["type"] = draw(type_values)
    optional = {
        "audio": audio_objects | json_values,
        "protocol": st.sampled_from([1, 2, 0, "1", 1.0, True, None]),
        "language": st.text(max_size=20) | json_values,
        "metadata": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=40)
        | st.dictionaries(st.text(max_size=10), json_values, max_size=4)
        | json_values,
        "session_id": st.text(max_size=80) | json_values,
        "resume_token": st.text(max_size=300) | json_values,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            out[key] = draw(strategy)
    out.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=3)))
    return out


def _encode(value: Any, how: str) -> str | bytes:
    text = json.dumps(value, ensure_ascii=how != "unicode")
    if how in ("ascii", "unicode"):
        return text
    if how == "utf-8":
        return text.encode("utf-8")
    return text.encode(how, "surrogatepass")  # utf-16 / utf-32 (json.loads detects them)


encodings = st.sampled_from(["ascii", "unicode", "utf-8", "utf-16", "utf-32"])
INVALID_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\x80",  # overlong NUL
    b"\xe0\x80\x80",  # overlong
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xe2\x82",  # truncated sequence
    b"\xf8\x88\x80\x80\x80",  # 5-byte form
]


# =========================================================================== the message decoder


@PROPERTY
@given(st.binary(max_size=2048))
@example(b"")
@example(b"\x00\x00\x00{")
@example(b"\xef\xbb\xbf{}")  # UTF-8 BOM
@example(b"\xff\xfe{\x00}\x00")  # UTF-16 BOM
def test_decoder_random_bytes(raw: bytes) -> None:
    check_message(raw)


@PROPERTY
@given(st.text(max_size=2048))
def test_decoder_random_text(raw: str) -> None:
    check_message(raw)


@PROPERTY
@given(message_dicts(), encodings)
@example({"type": "start", "audio": {"encoding": "wav"}, "protocol": 1e999}, "ascii")
def test_decoder_message_shaped_objects(value: dict[str, Any], how: str) -> None:
    result = check_message(_encode(value, how))
    if isinstance(result, ProtocolError) and value.get("type") in ("start", "resume", "stop"):
        assert result.code == "invalid_message", result.code


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"start","audio":{"encoding":"pcm_s16le","sample_rate":' + "9" * 5000 + "}}",
        '{"type":"stop","x":' + "1" * 100_000 + "}",
        '{"type":"stop","x":"' + "\\u0000" * 10_000 + '"}',
        '{"type":"start","audio":{"encoding":"wav"},"protocol":1e999}',
        '{"type":"start","audio":{"encoding":"wav"},"protocol":NaN}',
        '{"type":"stop"}' + " " * 60_000,
        '{"type":"stop","type":"start"}',
        '{"type":"start","audio":{"encoding":"wav"},"metadata":{'
        + ",".join(f'"k{i}":"v"' for i in range(33))
        + "}}",
    ],
    ids=[
        "int-5000-digits",
        "int-100k-digits",
        "nul-escapes",
        "inf",
        "nan",
        "trailing-ws",
        "duplicate-key",
        "33-metadata-keys",
    ],
)
def test_decoder_edge_cases(raw: str) -> None:
    check_message(raw)


@PROPERTY
@given(json_values, encodings)
def test_decoder_any_json_value(value: Any, how: str) -> None:
    result = check_message(_encode(value, how))
    if not isinstance(value, dict):
        assert isinstance(result, ProtocolError)
        assert result.code == "invalid_json"


@PROPERTY
@given(message_dicts(), st.sampled_from(INVALID_UTF8), st.data())
def test_decoder_invalid_utf8_is_invalid_json(
    value: dict[str, Any], bad: bytes, data: st.DataObject
) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8")
    at = data.draw(st.integers(1, len(raw)), label="at")  # keep '{' first: UTF-8 is detected
    result = check_message(raw[:at] + bad + raw[at:])
    assert isinstance(result, ProtocolError)
    assert result.code == "invalid_json"


@PROPERTY
@given(message_dicts(), st.data())
def test_decoder_utf8_encoded_surrogates(value: dict[str, Any], data: st.DataObject) -> None:
    """``b"\xed\xa0\x80"`` (a surrogate, UTF-8 encoded; not valid UTF-8). ``json.loads``
    decodes bytes with ``surrogatepass``, so this is not always ``invalid_json``; it must still
    never crash. (The server passes text frames as ``str``, so bytes never reach it there.)"""
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8")
    at = data.draw(st.integers(1, len(raw)), label="at")
    check_message(raw[:at] + b"\xed\xa0\x80" + raw[at:])


@PROPERTY
@given(
    st.sampled_from(
        ["metadata-key", "metadata-value", "language", "session_id", "resume_token", "type"]
    ),
    surrogates,
)
def test_decoder_lone_surrogates(where: str, junk: str) -> None:
    """JSON escapes like ``\\ud800`` decode to lone surrogates: they must never be accepted
    (a text frame on the wire is valid UTF-8, but an escape inside it need not be)."""
    start: dict[str, Any] = {"type": "start", "audio": {"encoding": "wav"}}
    value: dict[str, Any]
    if where == "metadata-key":
        value = {**start, "metadata": {junk: "x"}}
    elif where == "metadata-value":
        value = {**start, "metadata": {"encounter": junk}}
    elif where == "language":
        value = {**start, "language": "en" + junk}
    elif where == "session_id":
        value = {"type": "resume", "session_id": junk, "resume_token": "t"}
    elif where == "resume_token":
        value = {"type": "resume", "session_id": "s", "resume_token": junk}
    else:
        value = {"type": junk}
    raw = json.dumps(value)  # ASCII with \udXXX escapes, as a browser could send
    result = check_message(raw)
    assert isinstance(result, ProtocolError)


@settings(PROPERTY, max_examples=200)
@given(
    depth=st.integers(1, 200_000),
    prefix=st.sampled_from(
        [
            ("", ""),
            ('{"type":"start","audio":', "}"),
            ('{"type":"stop","x":', "}"),
            ('{"type":"start","audio":{"encoding":"wav"},"metadata":', "}"),
            ('{"type":"resume","session_id":"s","resume_token":', "}"),
        ]
    ),
    unit=st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"type":', "}")]),
    closed=st.booleans(),
)
@example(depth=100_000, prefix=("", ""), unit=("[", "]"), closed=False)
@example(depth=100_000, prefix=("", ""), unit=("[", "]"), closed=True)
@example(depth=sys.getrecursionlimit(), prefix=("", ""), unit=('{"a":', "}"), closed=True)
def test_decoder_deeply_nested_json(
    depth: int, prefix: tuple[str, str], unit: tuple[str, str], closed: bool
) -> None:
    """Any nesting depth: a clean error (invalid_json once too deep), never a RecursionError."""
    inner = unit[0] * depth + ("0" + unit[1] * depth if closed else "")
    raw = prefix[0] + inner + (prefix[1] if closed else "")
    result = check_message(raw)
    assert isinstance(result, ProtocolError)  # nothing here is a valid message
    if not closed or depth >= sys.getrecursionlimit():
        assert result.code == "invalid_json", (depth, result.code)


# =========================================================================== WAV


def _fmt(
    *, tag: int, channels: int, rate: int, byte_rate: int, block_align: int, bits: int
) -> bytes:
    return struct.pack("<HHIIHH", tag, channels, rate, byte_rate, block_align, bits)


def _chunk(cid: bytes, body: bytes, declared: int | None = None) -> bytes:
    size = len(body) if declared is None else declared
    return cid + struct.pack("<I", size) + body + (b"\x00" if len(body) % 2 else b"")


def _riff(chunks: bytes, declared: int | None = None) -> bytes:
    size = 4 + len(chunks) if declared is None else declared
    return b"RIFF" + struct.pack("<I", size) + b"WAVE" + chunks


def _float_body(values: list[float], bits: int) -> bytes:
    return np.asarray(values, dtype="<f4" if bits == 32 else "<f8").tobytes()


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
float_samples = st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), max_size=600)


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """WAV files whose every header field may lie: format tag, channels, rate, byte rate,
    block align, bits, fmt size, data size, RIFF size, chunk order, then truncation and
    byte overwrites."""
    tag = draw(st.sampled_from([1, 3, 0xFFFE, 0, 2, 6, 7, 0x55]) | u16)
    channels = draw(st.sampled_from([0, 1, 2, 3, 6, 8, 9, 255, 0xFFFF]) | u16)
    rate = draw(odd_rates.filter(lambda r: r >= 0) | u32)
    bits = draw(st.sampled_from([0, 8, 16, 24, 32, 64, 4, 12, 20, 7, 33, 128, 0xFFFF]) | u16)
    consistent = (channels * bits // 8) & 0xFFFF
    block_align = draw(st.just(consistent) | st.sampled_from([0, 1, 2, 3, 4]) | u16)
    byte_rate = draw(st.just((rate * block_align) & 0xFFFFFFFF) | u32)
    fmt = _fmt(
        tag=tag,
        channels=channels,
        rate=rate,
        byte_rate=byte_rate,
        block_align=block_align,
        bits=bits,
    )
    if tag == 0xFFFE or draw(st.booleans()):  # WAVE_FORMAT_EXTENSIBLE tail (22 bytes + cbSize)
        sub = draw(st.sampled_from([1, 3, 0xFFFE, 0, 2]) | u16)
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", sub) + bytes(14)
        fmt = fmt[: draw(st.sampled_from([16, 18, 24, 26, 39, 40]) | st.just(len(fmt)))]
    fmt_declared = draw(
        st.none() | st.sampled_from([0, 1, 15, 16, 18, 39, 40, 0xFFFFFFFF, 0xFFFFFFFE]) | u32
    )

    if draw(st.booleans()):
        samples = draw(float_samples)
        body = _float_body(samples, 64 if bits == 64 else 32)
        if draw(st.booleans()) and body:
            body = body[: draw(st.integers(0, len(body)))]
    else:
        body = draw(st.binary(max_size=4096))
    data_declared = draw(
        st.none()
        | st.sampled_from(
            [0, 1, 0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, len(body) + 1, max(0, len(body) - 1)]
        )
        | u32
    )

    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from([b"LIST", b"fact", b"JUNK", b"fmt ", b"data", b"\x00\x00\x00\x00"])
                | st.binary(min_size=4, max_size=4),
                st.binary(max_size=24),
                st.none() | u32,
            ),
            max_size=3,
        )
    )
    parts = [_chunk(b"fmt ", fmt, fmt_declared), _chunk(b"data", body, data_declared)]
    for cid, payload, declared in extra:
        parts.insert(draw(st.integers(0, len(parts))), _chunk(cid, payload, declared))
    if draw(st.integers(0, 9)) == 0:
        parts.reverse()
    out = _riff(b"".join(parts), draw(st.none() | u32))

    if draw(st.integers(0, 3)) == 0:  # truncate anywhere
        out = out[: draw(st.integers(0, len(out)))]
    for _ in range(draw(st.integers(0, 3))):  # overwrite a few bytes, mostly in the header
        if not out:
            break
        at = draw(st.integers(0, min(len(out) - 1, 80)))
        out = out[:at] + bytes([draw(st.integers(0, 255))]) + out[at + 1 :]
    return out


@st.composite
def valid_wavs(draw: st.DrawFn) -> bytes:
    """Consistent headers: what a well-behaved client sends (PCM 8/16/24/32, float 32/64)."""
    tag, bits = draw(st.sampled_from([(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)]))
    channels = draw(st.integers(1, MAX_CHANNELS))
    rate = draw(st.sampled_from([8000, 16000, 22050, 44100, 48000, 96000, 192000]))
    frames = draw(st.integers(1, 64))
    block = channels * bits // 8
    if tag == 3:
        values = draw(
            st.lists(
                st.floats(-2.0, 2.0, width=32),
                min_size=frames * channels,
                max_size=frames * channels,
            )
        )
        body = _float_body(values, bits)
    else:
        body = draw(st.binary(min_size=frames * block, max_size=frames * block))
    fmt = _fmt(
        tag=tag, channels=channels, rate=rate, byte_rate=rate * block, block_align=block, bits=bits
    )
    return _riff(_chunk(b"fmt ", fmt) + _chunk(b"data", body))


ODD_VALUES = {
    "tag": [0, 2, 3, 0xFFFE, 0x55, 0xFFFF],
    "channels": [0, 9, 255, 0xFFFF],
    "rate": [0, 1, 7999, 192001, 2**31, 2**32 - 1],
    "byte_rate": [0, 1, 2**32 - 1],
    "block_align": [0, 1, 3, 0xFFFF],
    "bits": [0, 1, 4, 7, 12, 33, 48, 128, 0xFFFF],
    "fmt_size": [0, 15, 17, 18, 40, 2**31, 2**32 - 1],
    "data_size": [0, 1, 2**31, 2**32 - 2, 2**32 - 1],
    "riff_size": [0, 4, 2**32 - 1],
}


@st.composite
def header_lies(draw: st.DrawFn) -> bytes:
    """A valid WAV with one to three header fields set to an odd value; half the time the
    block align and byte rate are then recomputed, so that the lie is self-consistent."""
    tag, bits = draw(st.sampled_from([(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)]))
    h = {
        "tag": tag,
        "bits": bits,
        "channels": draw(st.integers(1, MAX_CHANNELS)),
        "rate": draw(st.sampled_from([8000, 16000, 44100, 48000, 192000])),
    }
    frames = draw(st.integers(1, 64))
    body = draw(st.binary(min_size=frames * 64, max_size=frames * 64))  # any width fits
    h["block_align"] = h["channels"] * bits // 8
    h["byte_rate"] = h["rate"] * h["block_align"]
    sizes: dict[str, int | None] = {"fmt_size": None, "data_size": None, "riff_size": None}
    for field in draw(st.lists(st.sampled_from(sorted(ODD_VALUES)), min_size=1, max_size=3)):
        value = draw(st.sampled_from(ODD_VALUES[field]))
        if field in sizes:
            sizes[field] = value
        else:
            h[field] = value
    if draw(st.booleans()):
        h["block_align"] = (h["channels"] * h["bits"] // 8) & 0xFFFF
        h["byte_rate"] = (h["rate"] * h["block_align"]) & 0xFFFFFFFF
    fmt = _fmt(
        tag=h["tag"],
        channels=h["channels"],
        rate=h["rate"],
        byte_rate=h["byte_rate"],
        block_align=h["block_align"],
        bits=h["bits"],
    )
    chunks = _chunk(b"fmt ", fmt, sizes["fmt_size"]) + _chunk(b"data", body, sizes["data_size"])
    return _riff(chunks, sizes["riff_size"])


@settings(PROPERTY, max_examples=500)
@given(header_lies())
def test_wav_header_lies_one_at_a_time(data: bytes) -> None:
    check_wav(data)


@PROPERTY
@given(st.binary(max_size=4096))
def test_wav_random_bytes(data: bytes) -> None:
    check_wav(data)


@PROPERTY
@given(st.binary(max_size=512))
def test_wav_random_bytes_after_a_riff_header(rest: bytes) -> None:
    check_wav(b"RIFF" + struct.pack("<I", 4 + len(rest)) + b"WAVE" + rest)


@settings(PROPERTY, max_examples=500)
@given(wav_files())
def test_wav_lying_headers(data: bytes) -> None:
    check_wav(data)


@PROPERTY
@given(valid_wavs())
def test_wav_valid_files_decode(data: bytes) -> None:
    result = check_wav(data)
    assert isinstance(result, PcmAudio), result


@PROPERTY
@given(valid_wavs(), st.data())
def test_wav_truncated_valid_files(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data) - 1), label="cut")
    check_wav(data[:cut])


@PROPERTY
@given(
    bits=st.sampled_from([32, 64]),
    channels=st.integers(1, MAX_CHANNELS),
    values=st.lists(st.floats(-1.0, 1.0, width=32), min_size=1, max_size=200),
    bad=st.lists(st.sampled_from([math.nan, math.inf, -math.inf]), min_size=1, max_size=5),
    data=st.data(),
)
def test_wav_non_finite_float_audio_is_refused(
    bits: int, channels: int, values: list[float], bad: list[float], data: st.DataObject
) -> None:
    for value in bad:
        values.insert(data.draw(st.integers(0, len(values)), label="at"), value)
    values += [0.0] * (-len(values) % channels)  # whole frames: nothing is cut off
    block = channels * bits // 8
    fmt = _fmt(
        tag=3, channels=channels, rate=16000, byte_rate=16000 * block, block_align=block, bits=bits
    )
    wav = _riff(_chunk(b"fmt ", fmt) + _chunk(b"data", _float_body(values, bits)))
    result = check_wav(wav)
    assert isinstance(result, AudioError)
    assert "NaN" in result.message


@PROPERTY
@given(
    field=st.sampled_from(["data", "fmt", "riff", "other"]),
    declared=st.sampled_from([0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]) | u32,
)
def test_wav_huge_declared_sizes_allocate_nothing(field: str, declared: int) -> None:
    """A header that claims gigabytes: a quick answer, memory bounded by the bytes present."""
    fmt = _fmt(tag=1, channels=1, rate=16000, byte_rate=32000, block_align=2, bits=16)
    body = bytes(3200)
    chunks = [
        _chunk(b"fmt ", fmt, declared if field == "fmt" else None),
        _chunk(b"data", body, declared if field == "data" else None),
    ]
    if field == "other":
        chunks.insert(0, _chunk(b"LIST", b"INFO", declared))
    data = _riff(b"".join(chunks), declared if field == "riff" else None)
    tracemalloc.start()
    try:
        check_wav(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 16 * len(data) + 256 * 1024, peak


@settings(PROPERTY, max_examples=200)
@given(wav_files())
def test_wav_memory_is_bounded_by_the_input(data: bytes) -> None:
    tracemalloc.start()
    try:
        check_wav(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 16 * len(data) + 256 * 1024, (peak, len(data))


# =========================================================================== decode_chunk / s16le

session_formats = st.sampled_from(["wav", "pcm_s16le"]).flatmap(
    lambda enc: (
        st.just(AudioFormat(encoding="wav"))
        if enc == "wav"
        else st.builds(
            AudioFormat,
            encoding=st.just("pcm_s16le"),
            sample_rate=st.sampled_from([MIN_RATE, 16000, 44100, 48000, MAX_RATE])
            | st.integers(MIN_RATE, MAX_RATE),
            channels=st.integers(1, MAX_CHANNELS),
        )
    )
)
expected_layouts = st.none() | st.tuples(
    st.sampled_from([8000, 16000, 44100, 48000]), st.integers(1, 2)
)


@PROPERTY
@given(
    fmt=session_formats,
    data=st.binary(max_size=4096) | wav_files() | valid_wavs(),
    expect=expected_layouts,
    max_seconds=st.sampled_from([0.0, 0.01, 0.05, 30.0]) | st.floats(0.0, 60.0),
)
def test_decode_chunk(
    fmt: AudioFormat, data: bytes, expect: tuple[int, int] | None, max_seconds: float
) -> None:
    try:
        audio = decode_chunk(data, fmt, expect=expect, max_seconds=max_seconds)
    except AudioError as exc:
        _assert_documented(exc, AUDIO_CODES)
        return
    check_pcm(audio, data)
    assert audio.duration_s <= max_seconds
    if expect is not None:
        assert (audio.sample_rate, audio.channels) == expect
    if fmt.encoding == "pcm_s16le":
        assert (audio.sample_rate, audio.channels) == (fmt.sample_rate, fmt.channels)
        assert audio.samples.nbytes == len(data)


@PROPERTY
@given(
    data=st.binary(max_size=4096),
    rate=st.integers(MIN_RATE, MAX_RATE),
    channels=st.integers(1, MAX_CHANNELS),
)
def test_pcm_s16le_frames(data: bytes, rate: int, channels: int) -> None:
    try:
        audio = PcmAudio.from_s16le(data, sample_rate=rate, channels=channels)
    except AudioError as exc:
        _assert_documented(exc, {"audio_undecodable"})
        assert len(data) == 0 or len(data) % (2 * channels)
        return
    check_pcm(audio, data)
    assert audio.to_s16le() == data


# =========================================================================== bugs found, fixed
# Found by these properties and the atheris runs (docs/security.md); kept as regressions.


@pytest.mark.parametrize("raw", ['{"type": []}', '{"type": {}}', '{"type": [["start"]]}'])
def test_fixed_bug_1_unhashable_type_is_a_protocol_error(raw: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    _assert_documented(info.value, {"unknown_message_type", "invalid_message"})


@pytest.mark.parametrize("tag", [1, 3])
def test_fixed_bug_2_zero_bits_wav_is_undecodable(tag: int) -> None:
    fmt = _fmt(tag=tag, channels=1, rate=16000, byte_rate=0, block_align=0, bits=0)
    data = _riff(_chunk(b"fmt ", fmt) + _chunk(b"data", bytes(16)))
    assert len(data) == 60
    with pytest.raises(AudioError) as info:
        decode_wav(data)
    _assert_documented(info.value, {"audio_undecodable"})


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"start","audio":{"encoding":"wav"},"metadata":{"encounter":"\\ud800"}}',
        '{"type":"start","audio":{"encoding":"wav"},"metadata":{"\\udfff":"x"}}',
    ],
)
def test_fixed_bug_3_lone_surrogate_metadata_is_invalid_message(raw: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    _assert_documented(info.value, {"invalid_message"})
