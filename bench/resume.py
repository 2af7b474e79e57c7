"""Resume time: a client loses its connection and resumes on another instance.

Two servers share one Redis (embedded, started here) and one audio directory. A session
streams a consultation fixture to server A, and the client's connection then dies without
a close handshake (as with a dying instance or network). That session's stored state
(Redis keys and audio) is cloned under N new session ids, so each resume starts from the
same realistic state: segments, a note, an open window whose audio must be reloaded. For
each clone the client connects to server B, sends ``resume``, then the next chunk (1 s of
audio). Measured per resume, on the client over loopback (an upper bound of the
server-side time):

* ``reconnect → session``: TCP + WebSocket handshake + resume (token check, takeover with a
  new fencing token, state snapshot, replay of the transcript and note to the client);
* ``reconnect → first ack``: the above plus storing the next chunk (audio + state).

    .venv/bin/python bench/resume.py --resumes 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import redis.asyncio
import websockets

from drtranscribe.audio.file import load_audio_file, split_chunks
from drtranscribe.audio.pcm import PcmAudio
from drtranscribe.audio.wav import encode_wav
from drtranscribe.state.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # devtools/ is not in the installed package

from devtools import devserver  # noqa: E402


async def _until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if message["type"] == kind:
            return message
        if message["type"] == "error" and kind in ("session", "ack"):
            raise RuntimeError(f"server said {message}")


async def _clone(redis_url: str, audio_root: Path, sid: str, index: int) -> str:
    """Copy a session's keys (DUMP/RESTORE) and audio under a new id."""
    clone = f"{sid}c{index}"
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        for part in ("meta", "chunks", "done", "segments", "note", "client", "fence", "lease"):
            blob = await client.dump(f"drt:{{{sid}}}:{part}")
            if blob is not None:
                await client.restore(f"drt:{{{clone}}}:{part}", 0, blob, replace=True)
    finally:
        await client.aclose()
    shutil.copytree(audio_root / sid, audio_root / clone)
    return clone


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def run(resumes: int, fixture: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="drt-resume-"))
    shared_redis = EmbeddedRedis(tmp / "redis")
    await shared_redis.start()  # shared by both servers
    servers = [
        devserver.start(tmp / "shared", {"DRT_REDIS_URL": shared_redis.url}) for _ in range(2)
    ]
    extra = encode_wav(
        PcmAudio(samples=np.zeros((16000, 1), dtype=np.int16), sample_rate=16000)
    )  # 1 s of silence: acked after storing, transcribed in ~20 ms (VAD)
    to_session: list[float] = []
    to_ack: list[float] = []
    try:
        chunks = [encode_wav(c) for c in split_chunks(load_audio_file(fixture), 5.0)]
        ws = await websockets.connect(servers[0].ws_url, max_size=None)
        await ws.send(json.dumps({"type": "start", "audio": {"encoding": "wav"}}))
        session = await _until(ws, "session")
        for chunk in chunks:
            await ws.send(chunk)
            await _until(ws, "ack")
        while True:  # until the last chunk has been transcribed
            message = json.loads(await ws.recv())
            if (
                message["type"] == "transcript"
                and message["segment"]["chunk_seq"] == len(chunks) - 1
            ):
                break
        await _until(ws, "note")
        ws.transport.abort()  # no close handshake: the connection just dies
        sid, token = session["session_id"], session["resume_token"]
        clones = [
            await _clone(shared_redis.url, tmp / "shared" / "audio", sid, i) for i in range(resumes)
        ]
        for clone in clones:
            began = time.perf_counter()
            ws = await websockets.connect(servers[1].ws_url, max_size=None)
            await ws.send(
                json.dumps({"type": "resume", "session_id": clone, "resume_token": token})
            )
            resumed = await _until(ws, "session")
            to_session.append((time.perf_counter() - began) * 1000)
            assert resumed["resumed"] is True
            await ws.send(extra)
            ack = await _until(ws, "ack")
            to_ack.append((time.perf_counter() - began) * 1000)
            assert ack["seq"] == resumed["next_seq"]
            ws.transport.abort()
        ws = await websockets.connect(servers[0].ws_url, max_size=None)
        await ws.send(json.dumps({"type": "resume", "session_id": sid, "resume_token": token}))
        await _until(ws, "session")
        await ws.send(json.dumps({"type": "stop"}))
        final = await _until(ws, "final")
        await ws.close()
    finally:
        for server in servers:
            server.stop()
        await shared_redis.stop()
    return {
        "resumes": resumes,
        "fixture": fixture.name,
        "segments_at_end": len(final["transcript"]),
        "reconnect_to_session_ms": {
            "p50": round(_pct(to_session, 50), 1),
            "p99": round(_pct(to_session, 99), 1),
            "max": round(max(to_session), 1),
        },
        "reconnect_to_first_ack_ms": {
            "p50": round(_pct(to_ack, 50), 1),
            "p99": round(_pct(to_ack, 99), 1),
            "max": round(max(to_ack), 1),
            "mean": round(statistics.fmean(to_ack), 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resumes", type=int, default=200)
    parser.add_argument("--fixture", type=Path, default=ROOT / "tests/fixtures/consult_long.wav")
    args = parser.parse_args()
    result = asyncio.run(run(args.resumes, args.fixture))
    out = ROOT / "bench/results/resume.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
