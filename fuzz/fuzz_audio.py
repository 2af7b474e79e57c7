"""Fuzz the audio validator (atheris / libFuzzer).

Every binary frame a client sends goes through ``decode_chunk`` (``decode_wav`` for WAV
sessions, ``PcmAudio.from_s16le`` for raw PCM). It must return PCM that keeps its
invariants, with memory bounded by the frame size, or raise ``AudioError`` with a documented
code; any other exception is a crash.

    .venv/bin/python fuzz/fuzz_audio.py -max_total_time=120 -print_final_stats=1

Byte 0 of an input picks the mode: 0 raw bytes to ``decode_wav``; 1 a WAV built from fuzzed
header fields (every field may lie) + fuzzed body; 2 raw ``pcm_s16le``; 3 ``decode_chunk``
with a fuzzed session format, expected layout and duration limit. It found BUG-2 (bits 0,
block align 0: ZeroDivisionError), fixed. See fuzz/README.md.
"""

from __future__ import annotations

import math
import struct
import sys
import tempfile
from pathlib import Path

import atheris

# Heavy dependencies first, uninstrumented: coverage feedback is wanted for our code only.
import numpy as np
import pydantic  # noqa: F401

with atheris.instrument_imports(include=["drtranscribe"]):
    from drtranscribe.audio.decode import decode_chunk
    from drtranscribe.audio.pcm import PcmAudio
    from drtranscribe.audio.wav import decode_wav, encode_wav
    from drtranscribe.errors import AudioError
    from drtranscribe.protocol import ERROR_CODES, AudioFormat

AUDIO_CODES = {"audio_undecodable", "audio_format_mismatch", "chunk_too_long"}

TAGS = [1, 3, 0xFFFE, 0, 2, 6, 7, 0x55]
RATES = [0, 1, 7999, 8000, 16000, 44100, 48000, 192000, 192001, 2**31, 2**32 - 1]
BITS = [0, 8, 16, 24, 32, 64, 4, 12, 7, 33, 0xFFFF]
SIZES = [0, 1, 15, 16, 18, 39, 40, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]
# struct of the mode-1 header: see _structured_wav
_FIELDS = struct.Struct("<BBHBIBHBBIBIBIB")


def _pick(table: list[int], selector: int, raw: int) -> int:
    """Half the time a value from the table of interesting ones, else the raw fuzzed value."""
    return table[(selector >> 1) % len(table)] if selector & 1 else raw


def _structured_wav(payload: bytes) -> bytes:
    head = payload[: _FIELDS.size].ljust(_FIELDS.size, b"\0")
    body = payload[_FIELDS.size :]
    (
        tag_sel,
        ch_sel,
        channels,
        rate_sel,
        rate,
        bits_sel,
        block_align,
        ba_sel,
        fmtsz_sel,
        fmt_size,
        datasz_sel,
        data_size,
        flags,
        riff_size,
        sub_sel,
    ) = _FIELDS.unpack(head)
    tag = _pick(TAGS, tag_sel, tag_sel * 0x101)
    channels = _pick([0, 1, 2, 8, 9, 0xFFFF], ch_sel, channels)
    rate = _pick(RATES, rate_sel, rate)
    bits = _pick(BITS, bits_sel, bits_sel * 0x101 & 0xFFFF)
    if ba_sel & 1:
        block_align = (channels * bits // 8) & 0xFFFF
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate, (rate * block_align) & 0xFFFFFFFF, block_align, bits
    )
    if tag == 0xFFFE or flags & 1:  # WAVE_FORMAT_EXTENSIBLE tail
        sub = _pick(TAGS, sub_sel, sub_sel)
        fmt += struct.pack("<HHIH", 22, bits, 0, sub) + bytes(14)
    if flags & 2 and body:  # float body: reinterpret the body bytes, NaN/inf included
        body = body[: len(body) // 4 * 4]
    fmt_declared = _pick(SIZES, fmtsz_sel, fmt_size) if fmtsz_sel & 2 else len(fmt)
    data_declared = _pick(SIZES, datasz_sel, data_size) if datasz_sel & 2 else len(body)
    chunks = b"fmt " + struct.pack("<I", fmt_declared) + fmt
    data = b"data" + struct.pack("<I", data_declared) + body
    if flags & 4:
        chunks = b"LIST" + struct.pack("<I", 4) + b"INFO" + chunks
    chunks = data + chunks if flags & 8 else chunks + data
    riff = riff_size if flags & 16 else 4 + len(chunks)
    return b"RIFF" + struct.pack("<I", riff) + b"WAVE" + chunks


def _check_error(exc: AudioError, allowed: set[str]) -> None:
    if exc.code not in ERROR_CODES or exc.code not in allowed or not exc.message.strip():
        raise AssertionError(f"undocumented error {exc.code!r}: {exc.message!r}") from exc


def _check_pcm(audio: PcmAudio, data: bytes) -> None:
    s = audio.samples
    ok = (
        s.dtype == np.int16
        and s.ndim == 2
        and 1 <= audio.channels <= 8
        and 8000 <= audio.sample_rate <= 192000
        and audio.frames >= 1
        and audio.frames * audio.channels == s.size
        and s.nbytes <= 2 * len(data)
        and math.isfinite(audio.duration_s)
        and audio.duration_s <= len(data) / (audio.sample_rate * audio.channels)
    )
    if not ok:
        raise AssertionError(
            f"bad PCM: shape {s.shape} {s.dtype}, {audio.sample_rate} Hz, from {len(data)} bytes"
        )
    again = decode_wav(encode_wav(audio))  # the stored form decodes to the same audio
    if again.sample_rate != audio.sample_rate or not np.array_equal(again.samples, s):
        raise AssertionError("re-encoded chunk does not decode to the same audio")


def _run(mode: int, option: int, payload: bytes) -> None:
    if mode == 2:
        rate = 8000 + int.from_bytes(payload[:3].ljust(3, b"\0"), "little") % 184001
        channels = 1 + option % 8
        data = payload[3:]
        try:
            audio = PcmAudio.from_s16le(data, sample_rate=rate, channels=channels)
        except AudioError as exc:
            _check_error(exc, {"audio_undecodable"})
            return
        _check_pcm(audio, data)
        return
    data = _structured_wav(payload) if mode == 1 else payload
    if mode in (0, 1):
        try:
            audio = decode_wav(data)
        except AudioError as exc:
            _check_error(exc, {"audio_undecodable"})
            return
        _check_pcm(audio, data)
        return
    # mode 3: decode_chunk. option bits: encoding, expected layout, limit
    if option & 1:
        fmt = AudioFormat(encoding="pcm_s16le", sample_rate=16000, channels=1 + (option >> 5) % 2)
    else:
        fmt = AudioFormat(encoding="wav")
    expect = None if option & 2 else (16000, 1 + (option >> 6) % 2)
    max_seconds = [0.0, 0.01, 1.0, 30.0][(option >> 2) % 4]
    if option & 16:
        data = _structured_wav(payload)
    try:
        audio = decode_chunk(data, fmt, expect=expect, max_seconds=max_seconds)
    except AudioError as exc:
        _check_error(exc, AUDIO_CODES)
        return
    _check_pcm(audio, data)
    if audio.duration_s > max_seconds or (
        expect is not None and (audio.sample_rate, audio.channels) != expect
    ):
        raise AssertionError("decode_chunk let a chunk through its limits")


def TestOneInput(data: bytes) -> None:
    if len(data) < 2:
        return
    _run(data[0] % 4, data[1], data[2:])


def _seed_wav(tag: int, bits: int, channels: int, rate: int, body: bytes) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


#: libFuzzer dictionary: RIFF chunk ids and the header values that matter.
DICTIONARY = [
    b"RIFF",
    b"WAVE",
    b"fmt ",
    b"data",
    b"LIST",
    b"fact",
    b"\xfe\xff",  # WAVE_FORMAT_EXTENSIBLE
    b"\x03\x00",  # IEEE float
    b"\xff\xff\xff\xff",
    b"\x80\x3e\x00\x00",  # 16000
    b"\x40\x1f\x00\x00",  # 8000
    b"\x00\xee\x02\x00",  # 192000
    b"\x00\x00\xc0\x7f",  # NaN (float32)
    b"\x00\x00\x80\x7f",  # +inf (float32)
]


def _with_seed_corpus(argv: list[str]) -> list[str]:
    """Add a dictionary unless one is given; without a corpus directory on the command line,
    start from a temporary seeded one."""
    workdir = Path(tempfile.mkdtemp(prefix="drt-fuzz-audio-"))
    if not any(a.startswith("-dict=") for a in argv[1:]):
        lines = ('"' + "".join(f"\\x{b:02x}" for b in token) + '"\n' for token in DICTIONARY)
        (workdir / "audio.dict").write_text("".join(lines))
        argv = [*argv, f"-dict={workdir / 'audio.dict'}"]
    if any(not a.startswith("-") for a in argv[1:]):
        return argv
    corpus = workdir / "corpus"
    corpus.mkdir()
    tone = (np.sin(np.arange(160) / 3) * 8000).astype("<i2")
    seeds = {
        "pcm16": _seed_wav(1, 16, 1, 16000, tone.tobytes()),
        "pcm8": _seed_wav(1, 8, 1, 8000, ((tone >> 8) + 128).astype(np.uint8).tobytes()),
        "pcm24": _seed_wav(1, 24, 2, 48000, bytes(range(240))),
        "pcm32": _seed_wav(1, 32, 1, 44100, (tone.astype("<i4") << 16).tobytes()),
        "f32": _seed_wav(3, 32, 1, 16000, (tone / 32768).astype("<f4").tobytes()),
        "f64": _seed_wav(3, 64, 2, 16000, (tone / 32768).astype("<f8").tobytes()),
    }
    for name, wav in seeds.items():
        (corpus / f"raw-{name}").write_bytes(b"\x00\x00" + wav)
        (corpus / f"chunk-{name}").write_bytes(b"\x03\x0c" + wav)
    (corpus / "structured").write_bytes(b"\x01\x00" + bytes(40) + tone.tobytes())
    (corpus / "s16le").write_bytes(b"\x02\x01" + b"\x80\x3e\x00" + tone.tobytes())
    return [*argv, str(corpus)]


def main() -> None:
    atheris.Setup(_with_seed_corpus(sys.argv), TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
