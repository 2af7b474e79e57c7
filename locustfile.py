"""Load test: clinicians streaming consultations to drTranscribe, as its clients do.

Two kinds of user, each running one visit after another over protocol v1
(docs/protocol.md) with a stream token from ``POST /v1/sessions``:

* ``AudioVisit``: real speech (a committed consultation fixture, 16 kHz mono PCM) sent in
  5 s chunks in real time, each sent once the previous one was acked, as the browser
  client does;
* ``CaptionsVisit``: a meeting's live captions, each turn revised a few words at a time at
  a speaking rate, then final, as the Chrome extension sends them.

What it reports, per name (locust's table and ``--csv``):

* ``ack``: from a chunk (or caption) sent to its ack: storage and the service's own work;
* ``first transcript``: from a chunk sent to the first transcript event of that chunk
  (includes the speech-to-text provider's time);
* ``final``: from ``stop`` to the ``final`` message;
* ``visit``: a whole visit (a failure here: an error message or a lost connection).

Against any service (staging on Cloud Run, a laptop), with an API key if it needs one:

    .venv/bin/locust -f locustfile.py --host https://drtranscribe-staging.example \\
        --drt-key "$DRT_API_KEY" --headless -u 20 -r 2 -t 5m AudioVisit

``make load`` starts a fake speech-to-text provider, the service and a headless run, and
prints the capacity table (bench/load.py).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent
import websocket
from gevent.event import Event
from locust import User, between, events, task

ROOT = Path(__file__).resolve().parent
CHUNK_S = 5.0
RATE = 16000


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--drt-key", default=os.environ.get("DRT_API_KEY", ""), help="API key")
    parser.add_argument("--drt-chunks", type=int, default=24, help="5 s chunks per audio visit")
    parser.add_argument("--drt-turns", type=int, default=20, help="caption turns per visit")
    parser.add_argument(
        "--drt-audio",
        default=str(ROOT / "tests" / "fixtures" / "consult_long.wav"),
        help="speech to send (any file ffmpeg decodes)",
    )


def _pcm_chunks(path: str) -> list[bytes]:
    """The file as 5 s chunks of 16 kHz mono PCM16 (decoded once per process)."""
    from drtranscribe.audio.file import load_audio_file

    audio = load_audio_file(Path(path))
    samples = audio.samples[:, 0].astype("<i2")
    step = int(CHUNK_S * RATE)
    return [samples[i : i + step].tobytes() for i in range(0, samples.size - step + 1, step)]


TURNS = [
    ("Dr. Rivera", "Good morning. What brings you in today?"),
    ("Maria Lopez", "I have had a dry cough and a fever for three days."),
    ("Dr. Rivera", "Any shortness of breath or chest pain?"),
    ("Maria Lopez", "No chest pain, a little short of breath on the stairs."),
    ("Dr. Rivera", "Do you take any medication?"),
    ("Maria Lopez", "I take lisinopril ten milligrams every morning."),
]


class _Visit(User):  # type: ignore[misc]
    abstract = True
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.options = self.environment.parsed_options

    # -- protocol ---------------------------------------------------------------------

    def _open(self, hello: dict[str, Any]) -> tuple[websocket.WebSocket, dict[str, Any]]:
        import httpx

        key = self.options.drt_key
        headers = {"authorization": f"Bearer {key}"} if key else {}
        grant = httpx.post(f"{self.host}/v1/sessions", headers=headers, timeout=30).json()
        url = self.host.replace("http", "ws", 1) + grant["stream_path"]
        ws = websocket.create_connection(url, timeout=60)
        ws.send(json.dumps(hello))
        session = json.loads(ws.recv())
        if session.get("type") != "session":
            raise RuntimeError(f"start refused: {session.get('code')}")
        return ws, session

    def _record(self, name: str, started: float, error: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _visit(self, hello: dict[str, Any], send_inputs: Any) -> None:
        started = time.perf_counter()
        try:
            ws, _ = self._open(hello)
        except Exception as exc:  # a refused or failed start is the visit's failure
            self._record("visit", started, exc)
            return
        reader = _Reader(ws, self)
        try:
            send_inputs(ws, reader)
            stop = time.perf_counter()
            ws.send(json.dumps({"type": "stop"}))
            reader.final.wait(timeout=300)
            if reader.error:
                raise RuntimeError(reader.error)
            if not reader.final.ready():
                raise TimeoutError("no final")
            self._record("final", stop)
            self._record("visit", started)
        except Exception as exc:  # reported to locust as the visit's failure
            self._record("visit", started, exc)
        finally:
            reader.close()


class _Reader:
    """Reads the service's messages in the background: acks wake the sender, each chunk's
    first transcript event is timed, ``final`` ends the visit."""

    def __init__(self, ws: websocket.WebSocket, user: _Visit) -> None:
        self.ws = ws
        self.user = user
        self.acks: dict[int, Event] = {}
        self.sent_at: dict[int, float] = {}
        self.transcribed: set[int] = set()
        self.final = Event()
        self.error: str | None = None
        self.greenlet = gevent.spawn(self._run)

    def expect_ack(self, seq: int) -> Event:
        self.sent_at[seq] = time.perf_counter()
        return self.acks.setdefault(seq, Event())

    def _run(self) -> None:
        try:
            while not self.final.ready():
                message = json.loads(self.ws.recv())
                kind = message.get("type")
                if kind == "ack":
                    self.user._record("ack", self.sent_at[message["seq"]])
                    self.acks.setdefault(message["seq"], Event()).set()
                elif kind == "transcript":
                    seq = message["segment"]["chunk_seq"]
                    if seq not in self.transcribed and seq in self.sent_at:
                        self.transcribed.add(seq)
                        self.user._record("first transcript", self.sent_at[seq])
                elif kind == "error" and not message.get("retryable"):
                    self.error = message.get("code")
                    self.final.set()
                elif kind == "final":
                    self.final.set()
        except (websocket.WebSocketException, OSError) as exc:
            self.error = f"connection lost: {type(exc).__name__}"
            self.final.set()

    def close(self) -> None:
        self.greenlet.kill(block=False)
        self.ws.close()


class AudioVisit(_Visit):
    """A consultation's audio, in real time."""

    weight = 3
    _chunks: list[bytes] | None = None

    @task
    def visit(self) -> None:
        if AudioVisit._chunks is None:
            AudioVisit._chunks = _pcm_chunks(self.options.drt_audio)
        chunks = AudioVisit._chunks
        hello = {
            "type": "start",
            "audio": {"encoding": "pcm_s16le", "sample_rate": RATE, "channels": 1},
            "metadata": {"source": "locust"},
        }

        def send(ws: websocket.WebSocket, reader: _Reader) -> None:
            begin = time.perf_counter()
            for seq in range(self.options.drt_chunks):
                gevent.sleep(max(0.0, begin + seq * CHUNK_S - time.perf_counter()))
                acked = reader.expect_ack(seq)
                ws.send_binary(chunks[seq % len(chunks)])
                if not acked.wait(timeout=60) or reader.error:
                    raise RuntimeError(reader.error or f"chunk {seq} not acked")

        self._visit(hello, send)


class CaptionsVisit(_Visit):
    """A meeting's live captions, revised as they are spoken."""

    weight = 1

    @task
    def visit(self) -> None:
        hello = {"type": "start", "input": "captions", "speakers": {"Dr. Rivera": "clinician"}}

        def send(ws: websocket.WebSocket, reader: _Reader) -> None:
            seq = 0
            for turn in range(self.options.drt_turns):
                speaker, text = TURNS[turn % len(TURNS)]
                words = text.split()
                for shown in range(2, len(words) + 2, 2):  # two words per revision
                    final = shown >= len(words)
                    caption = {"caption_id": f"t{turn}", "speaker": speaker, "final": final}
                    caption["text"] = " ".join(words[:shown])
                    acked = reader.expect_ack(seq)
                    ws.send(json.dumps({"type": "caption", "seq": seq, **caption}))
                    if not acked.wait(timeout=60) or reader.error:
                        raise RuntimeError(reader.error or f"caption {seq} not acked")
                    seq += 1
                    gevent.sleep(0.6)  # a speaking rate: two words per 0.6 s

        self._visit(hello, send)
