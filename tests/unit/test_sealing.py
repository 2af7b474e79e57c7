"""Sealing: what goes in comes out, only with the right key, in the right place."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drtranscribe.crypto.sealing import (
    MAGIC,
    FrameReader,
    ObjectSeal,
    SealError,
    new_key,
    open_sealed,
    open_stream,
    seal,
    seal_frame,
    seal_stream,
)

pytestmark = pytest.mark.unit

KEY = new_key()


def test_a_value_opens_only_with_its_key_and_its_place() -> None:
    sealed = seal(KEY, b"chest pain since Tuesday", "s_1:segment:seg-0001")
    assert b"chest" not in sealed
    assert open_sealed(KEY, sealed, "s_1:segment:seg-0001") == b"chest pain since Tuesday"
    with pytest.raises(SealError):
        open_sealed(new_key(), sealed, "s_1:segment:seg-0001")  # the key was destroyed
    with pytest.raises(SealError):
        open_sealed(KEY, sealed, "s_1:segment:seg-0002")  # moved to another field
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(SealError):
        open_sealed(KEY, bytes(flipped), "s_1:segment:seg-0001")  # altered


def test_the_same_value_seals_differently_each_time() -> None:
    assert seal(KEY, b"same", "a") != seal(KEY, b"same", "a")


@given(
    parts=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=1, max_value=97), max_size=40),
)
def test_a_stream_read_in_blocks_of_any_size_opens_whole(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = seal_stream(KEY, parts, "2026-01-01/s_1_final.wav")
    reader = FrameReader(KEY, "2026-01-01/s_1_final.wav")
    opened: list[bytes] = []
    position = 0
    for size in [*cuts, len(data)]:
        opened += reader.feed(data[position : position + size])
        position += size
    opened.append(reader.close())
    assert opened == parts


def test_frames_cannot_be_reordered_dropped_or_cut() -> None:
    frames = [seal_frame(KEY, f"part {i}".encode(), "obj", i, last=i == 2) for i in range(3)]
    assert open_stream(KEY, MAGIC + b"".join(frames), "obj") == b"part 0part 1part 2"
    for tampered in (
        MAGIC + frames[1] + frames[0] + frames[2],  # reordered
        MAGIC + frames[0] + frames[2],  # one dropped from the middle
        MAGIC + frames[0] + frames[1],  # the last one dropped: cut at a frame boundary
        MAGIC,  # nothing but the magic
    ):
        with pytest.raises(SealError):
            open_stream(KEY, tampered, "obj")
    with pytest.raises(SealError, match="truncated"):
        open_stream(KEY, MAGIC + b"".join(frames)[:-5], "obj")
    with pytest.raises(SealError, match="not a sealed stream"):
        open_stream(KEY, b"RIFF" + b"".join(frames), "obj")
    with pytest.raises(SealError, match="longer than any"):
        open_stream(KEY, MAGIC + b"\xff\xff\xff\xff" + b"x" * 10, "obj")


def test_a_recording_header_frame_has_the_announced_size() -> None:
    header = ObjectSeal(KEY).header("2026-01-01/s_1_final.wav", b"\0" * 44, last=False)
    assert len(header) == ObjectSeal.HEADER_BYTES


def test_a_chunk_stored_before_sealing_existed_opens_as_it_is() -> None:
    wav = b"RIFF" + b"\0" * 40
    assert ObjectSeal(KEY).open_chunk("s_1/chunk_0000.wav", wav) == wav
