import struct

import numpy as np
import pytest

from drtranscribe.audio.decode import decode_chunk
from drtranscribe.audio.pcm import PcmAudio, resample_mono
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.errors import AudioError
from drtranscribe.protocol import AudioFormat

pytestmark = pytest.mark.unit


def _tone(seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> PcmAudio:
    t = np.arange(int(seconds * rate)) / rate
    wave = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    return PcmAudio(samples=np.repeat(wave[:, None], channels, axis=1), sample_rate=rate)


def _wav(body: bytes, *, tag: int, channels: int, rate: int, bits: int) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(body))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(body))
        + body
    )


def test_pcm16_round_trip_keeps_every_sample() -> None:
    audio = _tone(channels=2, rate=44100)
    decoded = decode_wav(encode_wav(audio))
    assert decoded.sample_rate == 44100
    assert decoded.channels == 2
    np.testing.assert_array_equal(decoded.samples, audio.samples)


@pytest.mark.parametrize("bits", [8, 24, 32])
def test_other_integer_widths_convert_to_pcm16(bits: int) -> None:
    ref = _tone().samples[:, 0].astype(np.int32)
    if bits == 8:
        body = ((ref >> 8) + 128).astype(np.uint8).tobytes()
    elif bits == 24:
        as24 = (ref << 8).astype("<i4").tobytes()
        body = b"".join(as24[i : i + 3] for i in range(0, len(as24), 4))
    else:
        body = (ref << 16).astype("<i4").tobytes()
    decoded = decode_wav(_wav(body, tag=1, channels=1, rate=16000, bits=bits))
    tolerance = 256 if bits == 8 else 0
    assert np.max(np.abs(decoded.samples[:, 0].astype(np.int32) - ref)) <= tolerance


def test_float_wav_is_accepted_and_nan_is_refused() -> None:
    floats = np.linspace(-0.5, 0.5, 1600, dtype="<f4")
    decoded = decode_wav(_wav(floats.tobytes(), tag=3, channels=1, rate=16000, bits=32))
    assert decoded.frames == 1600
    assert decoded.samples[0, 0] == pytest.approx(-0.5 * 32767, abs=1)
    floats[10] = np.nan
    with pytest.raises(AudioError) as info:
        decode_wav(_wav(floats.tobytes(), tag=3, channels=1, rate=16000, bits=32))
    assert info.value.code == "audio_undecodable"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "RIFF"),
        (b"not a wav file at all", "RIFF"),
        (b"RIFF\x00\x00\x00\x00WAVE", "no fmt"),
    ],
)
def test_garbage_is_a_clear_error(data: bytes, fragment: str) -> None:
    with pytest.raises(AudioError, match=fragment) as info:
        decode_wav(data)
    assert info.value.code == "audio_undecodable"


def test_lying_data_size_is_refused() -> None:
    good = encode_wav(_tone())
    lying = good[:40] + struct.pack("<I", len(good) * 10) + good[44:]
    with pytest.raises(AudioError, match="declares"):
        decode_wav(lying)


def test_block_align_that_does_not_match_is_refused() -> None:
    bad = _wav(b"\0" * 100, tag=1, channels=2, rate=16000, bits=16)
    bad = bad[:32] + struct.pack("<H", 3) + bad[34:]
    with pytest.raises(AudioError, match="block align"):
        decode_wav(bad)


def test_unsupported_encoding_is_named() -> None:
    with pytest.raises(AudioError, match="format tag"):
        decode_wav(_wav(b"\0" * 100, tag=0x55, channels=1, rate=16000, bits=16))


def test_pcm_frames_must_be_whole_samples() -> None:
    fmt = AudioFormat(encoding="pcm_s16le", sample_rate=16000, channels=2)
    with pytest.raises(AudioError, match="whole number"):
        decode_chunk(b"\0" * 6, fmt, expect=None, max_seconds=30)


def test_chunk_limits_and_session_layout_are_enforced() -> None:
    wav = AudioFormat(encoding="wav")
    chunk = encode_wav(_tone(seconds=2.0))
    with pytest.raises(AudioError) as too_long:
        decode_chunk(chunk, wav, expect=None, max_seconds=1.0)
    assert too_long.value.code == "chunk_too_long"
    with pytest.raises(AudioError) as mismatch:
        decode_chunk(chunk, wav, expect=(48000, 1), max_seconds=30)
    assert mismatch.value.code == "audio_format_mismatch"
    assert decode_chunk(chunk, wav, expect=(16000, 1), max_seconds=30).duration_s == 2.0


def test_resampling_keeps_duration_and_pitch() -> None:
    audio = _tone(seconds=1.0, rate=48000, channels=2)
    mono = resample_mono(audio, 16000)
    assert abs(mono.size - 16000) < 64
    spectrum = np.abs(np.fft.rfft(mono[:16000] if mono.size >= 16000 else mono))
    peak_hz = np.argmax(spectrum) * 16000 / (2 * (spectrum.size - 1))
    assert abs(peak_hz - 440) < 5


def test_quiet_tail_detection() -> None:
    loud = _tone(seconds=1.0)
    assert loud.tail_rms_dbfs(0.3) > -20
    silent = PcmAudio(samples=np.zeros((16000, 1), dtype=np.int16), sample_rate=16000)
    assert silent.tail_rms_dbfs(0.3) == float("-inf")
