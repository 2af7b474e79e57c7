"""The right to erasure holds on disk: a consultation's words are never in the data
directory in the clear (Redis's append-only file, the audio), and after ``DELETE`` its data
key is gone, so the ciphertext that Redis persistence still holds opens for nobody."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.wav import encode_wav
from drtranscribe.client import stream_audio
from drtranscribe.crypto.keys import LocalKeyStore
from drtranscribe.state.store import SEALED_PREFIX
from tests.conftest import SpeechFixture, start_server, stop_server
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e

SECRET_METADATA = "MRN-58213-Jane-Roe"


def _phrases(text: str) -> set[str]:
    words = re.findall(r"[a-z']+", text.lower())
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


def _on_disk(data_dir: Path) -> bytes:
    """Every byte under the data directory (Redis files, audio, keys), lower-cased."""
    return b"\n".join(p.read_bytes().lower() for p in sorted(data_dir.rglob("*")) if p.is_file())


async def test_a_consultation_is_sealed_on_disk_and_shredded_by_erasure(
    tmp_path: Path, speech: dict[str, SpeechFixture]
) -> None:
    fixture = speech["consult_long"]
    data_dir = tmp_path / "data"
    env = {"DRT_DATA_DIR": str(data_dir)}  # the offline default: embedded Redis, local disk

    server = start_server(data_dir, env)
    try:
        audio = load_audio_file(fixture.path)
        events = [
            e
            async for e in stream_audio(
                server.ws_url, audio, realtime=False, metadata={"encounter": SECRET_METADATA}
            )
        ]
    finally:
        stop_server(server)  # the embedded Redis writes its append-only file out
    final = events[-1].message
    sid = final["session_id"]
    spoken = " ".join(s["text"] for s in final["transcript"])
    secrets = {p.encode() for p in _phrases(spoken) | _phrases(fixture.text)}
    secrets |= {m["name"].encode() for m in final["note"]["medications"]}
    secrets.add(SECRET_METADATA.lower().encode())
    assert {b"chest pain", b"insulin"} <= secrets  # the search looks for real content

    pcm = audio.to_s16le()
    samples = [pcm[i : i + 2000] for i in (100_000, len(pcm) // 2, len(pcm) - 50_000)]
    disk = _on_disk(data_dir)
    assert not [s for s in samples if s.lower() in disk]  # no audio in the clear
    assert sid.lower().encode() in disk  # the session is on disk ...
    assert disk.count(SEALED_PREFIX.encode()) >= len(final["transcript"])  # ... sealed
    assert sorted(s.decode() for s in secrets if s in disk) == []  # never in the clear
    key_file = data_dir / "keys" / f"{sid}.key"
    assert key_file.is_file()

    server = start_server(data_dir, env)
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            assert (await http.get(f"/v1/sessions/{sid}/audio")).status_code == 200
            assert (await http.delete(f"/v1/sessions/{sid}")).status_code == 204
            assert (await http.get(f"/v1/sessions/{sid}")).status_code == 404
    finally:
        stop_server(server)

    assert not key_file.exists()
    assert await LocalKeyStore(data_dir / "keys").get(sid) is None
    disk = _on_disk(data_dir)
    assert sorted(s.decode() for s in secrets if s in disk) == []
    # Whatever the append-only file still holds of the session is ciphertext whose key is
    # destroyed; and no other copy of the key exists under the data directory.
    assert not list(data_dir.rglob(f"*{sid}*.key"))


async def test_erasing_a_live_session_stops_its_stream(
    tmp_path: Path, speech: dict[str, SpeechFixture]
) -> None:
    """DELETE while the consultation streams: the next chunk is refused, the connection is
    closed as taken over, and nothing of the session can be read any more."""
    audio = load_audio_file(speech["consult_short"].path)
    chunks = [encode_wav(c) for c in split_chunks(audio, 5.0)]
    server = start_server(tmp_path, {})
    try:
        async with (
            connect(server.ws_url) as ws,
            httpx.AsyncClient(base_url=server.http_url) as http,
        ):
            conv = Conversation(ws)
            sid = (await conv.start())["session_id"]
            assert await conv.send_chunk(chunks[0]) == {"type": "ack", "seq": 0}
            assert (await http.delete(f"/v1/sessions/{sid}")).status_code == 204
            await ws.send(chunks[1])
            refused = await conv.until("error")
            assert refused["code"] == "session_taken_over"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4001
            assert (await http.get(f"/v1/sessions/{sid}")).status_code == 404
            assert (await http.get(f"/v1/sessions/{sid}/audio")).status_code == 404
    finally:
        stop_server(server)
    assert not (tmp_path / "keys" / f"{sid}.key").exists()
