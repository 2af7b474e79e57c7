from datetime import date
from pathlib import Path

import numpy as np
import pytest

from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.crypto.keys import SessionKeys
from drtranscribe.crypto.sealing import MAGIC
from drtranscribe.storage.base import chunk_key, final_key
from drtranscribe.storage.local import LocalAudioStore

pytestmark = pytest.mark.unit


def test_key_layout_matches_cloud_storage() -> None:
    assert chunk_key("s_abc", 7) == "s_abc/chunk_0007.wav"
    assert final_key("s_abc", date(2026, 11, 30)) == "2026-11-30/s_abc_final.wav"


async def test_combined_audio_holds_every_chunk_once_in_order(
    tmp_path: Path, session_keys: SessionKeys
) -> None:
    store = LocalAudioStore(tmp_path, keys=session_keys)
    await session_keys.create("s1")
    rng = np.random.default_rng(7)
    chunks = [
        PcmAudio(
            samples=rng.integers(-3000, 3000, (8000 + i, 2), dtype=np.int16), sample_rate=22050
        )
        for i in range(4)
    ]
    for seq, chunk in enumerate(chunks):
        await store.put_chunk("s1", seq, encode_wav(chunk))
    uri = await store.combine(
        "s1", range(4), final_key("s1", date(2026, 1, 1)), sample_rate=22050, channels=2
    )
    assert uri.startswith("file://")
    stored = (tmp_path / "2026-01-01" / "s1_final.wav").read_bytes()
    assert stored.startswith(MAGIC)  # sealed on disk
    combined = decode_wav(await store.open_final(final_key("s1", date(2026, 1, 1))))
    assert combined.sample_rate == 22050
    np.testing.assert_array_equal(combined.samples, np.concatenate([c.samples for c in chunks]))


async def test_delete_erases_chunks_and_final(tmp_path: Path, session_keys: SessionKeys) -> None:
    store = LocalAudioStore(tmp_path, keys=session_keys)
    await session_keys.create("s2")
    audio = PcmAudio(samples=np.zeros((160, 1), dtype=np.int16), sample_rate=16000)
    await store.put_chunk("s2", 0, encode_wav(audio))
    key = final_key("s2", date(2026, 1, 1))
    await store.combine("s2", [0], key, sample_rate=16000, channels=1)
    await store.delete_session("s2", [key])
    assert not (tmp_path / "s2").exists()
    assert not (tmp_path / key).exists()


def test_keys_cannot_escape_the_root(tmp_path: Path, session_keys: SessionKeys) -> None:
    with pytest.raises(ValueError, match="escapes"):
        LocalAudioStore(tmp_path, keys=session_keys).uri("../../etc/passwd")
