"""WAV (RIFF/WAVE) decoding and encoding, strict about what the client claims.

Accepted: PCM 8/16/24/32-bit integer and 32/64-bit IEEE float, plain or
WAVE_FORMAT_EXTENSIBLE. Everything is converted to 16-bit PCM. A header that lies
(a data chunk larger than the bytes present, a block size that does not match the
sample width) is an ``audio_undecodable`` error, as is non-finite float audio.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import numpy.typing as npt

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.errors import AudioError

_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF  # streaming writers that never patched the header


def _fail(message: str) -> AudioError:
    return AudioError("audio_undecodable", message)


def decode_wav(data: bytes) -> PcmAudio:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _fail("not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int, int] | None = None
    payload: bytes | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        if chunk_id == b"data":
            available = len(data) - body_start
            if size in (0, _UNKNOWN_SIZE):
                size = available
            if size > available:
                raise _fail(f"data chunk declares {size} bytes but {available} are present")
            payload = data[body_start : body_start + size]
            break
        if size > len(data) - body_start:
            raise _fail(f"{chunk_id!r} chunk declares more bytes than the file holds")
        if chunk_id == b"fmt ":
            if size < 16:
                raise _fail("fmt chunk too short")
            tag, channels, rate, _, block_align, bits = struct.unpack_from(
                "<HHIIHH", data, body_start
            )
            if tag == _EXTENSIBLE:
                if size < 40:
                    raise _fail("WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
                (tag,) = struct.unpack_from("<H", data, body_start + 24)
            fmt = (tag, channels, rate, block_align, bits)
        pos = body_start + size + (size & 1)
    if fmt is None:
        raise _fail("no fmt chunk before the data chunk")
    if payload is None:
        raise _fail("no data chunk")
    tag, channels, rate, block_align, bits = fmt
    if not 1 <= channels <= 8:
        raise _fail(f"unsupported channel count {channels}")
    if not 8000 <= rate <= 192000:
        raise _fail(f"unsupported sample rate {rate}")
    if bits not in (8, 16, 24, 32, 64) or block_align != channels * bits // 8:
        raise _fail("block align does not match channels and sample width")
    if len(payload) % block_align:
        payload = payload[: len(payload) - len(payload) % block_align]
    if not payload:
        raise _fail("no audio samples")
    samples = _to_int16(payload, tag, bits)
    return PcmAudio(samples=samples.reshape(-1, channels), sample_rate=rate)


def _to_int16(payload: bytes, tag: int, bits: int) -> npt.NDArray[np.int16]:
    if tag == _PCM:
        if bits == 16:
            return np.frombuffer(payload, dtype="<i2").astype(np.int16)
        if bits == 8:
            u8 = np.frombuffer(payload, dtype=np.uint8).astype(np.int16)
            return ((u8 - 128) << 8).astype(np.int16)
        if bits == 24:
            raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3)
            as32 = (
                raw[:, 0].astype(np.int32)
                | (raw[:, 1].astype(np.int32) << 8)
                | (raw[:, 2].astype(np.int32) << 16)
            )
            as32 = np.where(as32 & 0x800000, as32 - 0x1000000, as32)
            return (as32 >> 8).astype(np.int16)
        if bits == 32:
            return (np.frombuffer(payload, dtype="<i4") >> 16).astype(np.int16)
    elif tag == _FLOAT and bits in (32, 64):
        floats = np.frombuffer(payload, dtype="<f4" if bits == 32 else "<f8")
        if not np.all(np.isfinite(floats)):
            raise _fail("float audio contains NaN or infinity")
        scaled: npt.NDArray[np.int16] = (np.clip(floats, -1.0, 1.0) * 32767.0).astype(np.int16)
        return scaled
    raise _fail(f"unsupported WAV encoding (format tag {tag:#06x}, {bits} bits)")


def wav_header(*, data_bytes: int, sample_rate: int, channels: int) -> bytes:
    """A 44-byte canonical header for 16-bit PCM."""
    block_align = channels * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        _PCM,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        16,
        b"data",
        data_bytes,
    )


WAV_HEADER_BYTES = 44


def encode_wav(audio: PcmAudio) -> bytes:
    body = audio.to_s16le()
    buf = io.BytesIO()
    buf.write(
        wav_header(data_bytes=len(body), sample_rate=audio.sample_rate, channels=audio.channels)
    )
    buf.write(body)
    return buf.getvalue()
