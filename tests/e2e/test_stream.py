"""The service end to end: a uvicorn server, a real Redis, local Whisper, real WebSockets."""

from __future__ import annotations

import asyncio
import copy
import re
from pathlib import Path
from urllib.parse import urlparse

import jsonpatch
import numpy as np
import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosedOK

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import decode_wav, encode_wav
from drtranscribe.crypto.keys import LocalKeyStore, SessionKeys
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.state.store import SEALED_PREFIX, SessionStore
from tests.conftest import ServerProcess, SpeechFixture, open_recording
from tests.e2e.wsclient import Conversation, connect

pytestmark = pytest.mark.e2e


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _wav_chunks(path: Path, seconds: float = 5.0) -> list[bytes]:
    return [encode_wav(c) for c in split_chunks(load_audio_file(path), seconds)]


async def test_a_consultation_streams_to_a_note(
    server: ServerProcess, speech: dict[str, SpeechFixture], redis_client: aioredis.Redis
) -> None:
    fixture = speech["consult_long"]
    chunks = _wav_chunks(fixture.path)
    assert len(chunks) >= 6
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        session = await conv.start(language="en", metadata={"encounter": "E-1"})
        sid = session["session_id"]
        assert session["next_seq"] == 0
        assert session["limits"]["max_frame_bytes"] > 0
        for expected_seq, chunk in enumerate(chunks):
            answer = await conv.send_chunk(chunk)
            assert answer == {"type": "ack", "seq": expected_seq}
        final = await conv.stop()
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1000

    # Transcript events: interim results in chunk order; every segment ends final.
    transcripts = [m["segment"] for m in conv.of_type("transcript")]
    interim_seqs = [s["chunk_seq"] for s in transcripts if not s["final"]]
    assert interim_seqs == sorted(interim_seqs)
    assert len(set(interim_seqs)) == len(interim_seqs)
    by_id: dict[str, list[dict[str, object]]] = {}
    for seg in transcripts:
        by_id.setdefault(str(seg["id"]), []).append(seg)
    for seg_id, versions in by_id.items():
        assert versions[-1]["final"] is True, seg_id
        assert all(v["final"] is False for v in versions[:-1]), seg_id
        assert versions[-1]["provider"] == "local_whisper"
    assert len(by_id) >= 2  # 29 s of speech cannot fit one 28 s window

    # Every acked chunk arrived before the first transcript of it.
    kinds = [
        (m["type"], m.get("seq"), m.get("segment", {}).get("chunk_seq")) for m in conv.received
    ]
    for seq in range(len(chunks)):
        ack_at = kinds.index(("ack", seq, None))
        first = next((i for i, k in enumerate(kinds) if k[0] == "transcript" and k[2] == seq), None)
        assert first is None or ack_at < first

    # The final transcript holds the fixture's words.
    text = _words(" ".join(s["text"] for s in final["transcript"]))
    for word in fixture.keywords:
        assert _words(word) in text, word
    assert all(s["final"] for s in final["transcript"])
    starts = [s["start"] for s in final["transcript"]]
    assert starts == sorted(starts)

    # The note: medications spoken are in it, and the patch stream rebuilds it exactly.
    note = ClinicalNote.model_validate(final["note"])
    names = " ".join(m.name.lower() for m in note.medications)
    for med in fixture.medications:
        assert med in names
    rebuilt = ClinicalNote().model_dump(mode="json")
    versions = []
    for message in conv.of_type("note"):
        versions.append(message["version"])
        ops = [{k: v for k, v in op.items() if k != "evidence"} for op in message["patch"]]
        assert all(isinstance(op["evidence"], list) for op in message["patch"])
        rebuilt = jsonpatch.apply_patch(copy.deepcopy(rebuilt), ops)
    assert versions == list(range(1, len(versions) + 1))
    assert final["note_version"] == versions[-1]
    assert rebuilt == final["note"]
    segment_ids = {s["id"] for s in final["transcript"]}
    for med in note.medications:
        assert med.evidence
        assert set(med.evidence) <= segment_ids

    # The combined audio holds every chunk's samples once, in order.
    audio_path = Path(urlparse(final["audio"]["uri"]).path)
    assert audio_path.name == f"{sid}_final.wav"
    combined = decode_wav(open_recording(server.data_dir, final["audio"]["uri"]))
    expected = np.concatenate([decode_wav(c).samples for c in chunks])
    np.testing.assert_array_equal(combined.samples, expected)
    for seq in range(len(chunks)):
        assert (audio_path.parent.parent / sid / f"chunk_{seq:04d}.wav").is_file()

    # Redis still holds the session after the connection closed.
    meta = await redis_client.hgetall(f"drt:{{{sid}}}:meta")
    assert meta["status"] == "finished"
    assert int(meta["next_seq"]) == len(chunks)
    stored = await redis_client.hgetall(f"drt:{{{sid}}}:segments")
    assert set(stored) == segment_ids
    sealed_note = (await redis_client.hgetall(f"drt:{{{sid}}}:note"))["note"]
    assert sealed_note.startswith(SEALED_PREFIX)  # ciphertext in Redis ...
    keys = SessionStore(
        redis_client, ttl_s=60, keys=SessionKeys(LocalKeyStore(server.data_dir / "keys"))
    )
    assert (await keys.note(sid))[1].model_dump(mode="json") == final["note"]  # ... the note
    assert await redis_client.ttl(f"drt:{{{sid}}}:meta") > 0


async def test_raw_pcm_and_silence(server: ServerProcess, speech: dict[str, SpeechFixture]) -> None:
    short = load_audio_file(speech["consult_short"].path)
    silence = load_audio_file(speech["silence_2s"].path)
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        await conv.start({"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1})
        assert (await conv.send_chunk(silence.to_s16le()))["seq"] == 0
        for chunk in split_chunks(short, 4.0):
            assert (await conv.send_chunk(chunk.to_s16le()))["type"] == "ack"
        final = await conv.stop()
    transcripts = [m["segment"] for m in conv.of_type("transcript")]
    assert all(s["chunk_seq"] != 0 for s in transcripts)  # silence yields no invented text
    text = _words(" ".join(s["text"] for s in final["transcript"]))
    for word in speech["consult_short"].keywords:
        assert _words(word) in text
    assert final["audio"]["duration_s"] == pytest.approx(2.0 + short.duration_s, abs=0.01)
    assert final["transcript"][0]["start"] >= 2.0


async def test_protocol_errors_are_reported_and_the_connection_keeps_working(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    chunk = _wav_chunks(speech["consult_short"].path)[0]
    async with connect(server.ws_url) as ws:
        conv = Conversation(ws)
        assert (await conv.send_chunk(chunk))["code"] == "protocol_order"
        await ws.send("{this is not json")
        assert (await conv.until("error"))["code"] == "invalid_json"
        await conv.send_json({"type": "subscribe"})
        assert (await conv.until("error"))["code"] == "unknown_message_type"
        await conv.send_json({"type": "start", "audio": {"encoding": "pcm_s16le"}})
        assert (await conv.until("error"))["code"] == "invalid_message"
        await conv.send_json({"type": "stop"})
        assert (await conv.until("error"))["code"] == "protocol_order"

        session = await conv.start()
        await conv.send_json({"type": "start", "audio": {"encoding": "wav"}})
        assert (await conv.until("error"))["code"] == "protocol_order"
        assert (await conv.send_chunk(b"RIFF....WAVEjunk"))["code"] == "audio_undecodable"
        big = session["limits"]["max_frame_bytes"] + 1
        too_big = await conv.send_chunk(b"\0" * big)
        assert too_big["code"] == "frame_too_large"
        assert too_big["retryable"] is False
        assert await conv.send_chunk(chunk) == {"type": "ack", "seq": 0}
        other_rate = encode_wav(PcmAudio(samples=decode_wav(chunk).samples, sample_rate=8000))
        assert (await conv.send_chunk(other_rate))["code"] == "audio_format_mismatch"
        await ws.send("x" * (session["limits"]["max_text_bytes"] + 10))
        assert (await conv.until("error"))["code"] == "frame_too_large"
        # Nothing accepted was lost: chunk 0 is in the result, the rejected ones took no seq.
        assert await conv.send_chunk(chunk) == {"type": "ack", "seq": 1}
        final = await conv.stop()
    assert final["audio"]["duration_s"] == pytest.approx(2 * decode_wav(chunk).duration_s, abs=0.01)
    assert "headache" in _words(" ".join(s["text"] for s in final["transcript"]))


async def test_one_clients_garbage_does_not_disturb_another_session(
    server: ServerProcess, speech: dict[str, SpeechFixture]
) -> None:
    chunks = _wav_chunks(speech["consult_short"].path)

    async def good() -> dict[str, object]:
        async with connect(server.ws_url) as ws:
            conv = Conversation(ws)
            await conv.start()
            for chunk in chunks:
                assert (await conv.send_chunk(chunk))["type"] == "ack"
            return await conv.stop()

    async def bad() -> None:
        async with connect(server.ws_url) as ws:
            conv = Conversation(ws)
            await conv.start()
            for payload in (b"\x00" * 1000, b"RIFF", "nonsense", b"\xff" * 50_000):
                await ws.send(payload)
                assert (await conv.until("error"))["type"] == "error"
        # and vanish without stop

    final, _ = await asyncio.gather(good(), bad())
    text = _words(" ".join(s["text"] for s in final["transcript"]))  # type: ignore[union-attr]
    assert "headache" in text


async def test_health(server: ServerProcess) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=server.http_url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/readiness")
        assert ready.status_code == 200
        assert ready.json()["redis"] is True
        assert ready.json()["stt"]["providers"][0] == {
            "name": "local_whisper", "state": "closed", "available": True,
            "misconfigured": False, "retry_in_s": 0.0,
        }  # fmt: skip
