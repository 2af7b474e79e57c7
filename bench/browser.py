"""The demo page in a real browser (Debian's Chromium, Playwright): how soon the clinician
sees the words, and whether the page's memory stays flat over a long visit.

(1) **Speech → words on screen.** The fake microphone plays a committed consultation
    fixture (timed turns, ``tests/fixtures/manifest.json``) into the demo page at ``/``,
    in real time, through a real server (local Whisper). A MutationObserver stamps when
    each turn's last word first appears in the transcript; the latency is that time minus
    when the turn ended in the audio (the audio's start: the first microphone level). Chunks
    are 5 s: a word waits for its chunk to end, then for its transcription.
(2) **JS heap over a 30-minute visit, accelerated.** A real session's messages (PriMock57
    consultations replayed as captions through the server until 30 minutes of talk) are fed
    to the library's live model and the demo's note view in the page; after each 5 minutes
    of talk, a forced GC and ``performance.memory.usedJSHeapSize``, beside the transcript's
    text size.

    .venv/bin/python bench/browser.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from devtools import devserver  # noqa: E402
from playwright.async_api import Page, async_playwright  # noqa: E402

from drtranscribe.client import stream_captions  # noqa: E402
from drtranscribe.domain.turns import Turn  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
DATA = ROOT.parent / "shared" / "data"
CHROMIUM = "/usr/bin/chromium"

OBSERVE = """(words) => {
  window.__seen = {};
  window.__audioStart = null;
  const transcript = document.getElementById('transcript');
  const level = document.getElementById('level');
  new MutationObserver(() => {
    const text = transcript.textContent.toLowerCase();
    for (const w of words) {
      if (!(w in window.__seen) && text.includes(w)) window.__seen[w] = performance.now();
    }
  }).observe(transcript, { childList: true, subtree: true, characterData: true });
  const poll = () => {  // the meter moves once audio flows
    if (window.__audioStart === null && level.value > 0.001) {
      window.__audioStart = performance.now() - 100;
    }
    if (window.__audioStart === null) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""


def last_words(turns: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(a turn's last word, when the turn ended), for words said once in the fixture."""
    words = [t["text"].lower().strip(".?!,").split()[-1] for t in turns]
    return [
        (w.strip(".?!,"), t["end_s"])
        for w, t in zip(words, turns, strict=True)
        if words.count(w) == 1 and len(w) > 3
    ]


async def speech_to_screen(url: str, runs: int) -> list[float]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    entry = manifest["consult_long"]
    targets = last_words(entry["turns"])
    latencies: list[float] = []
    async with async_playwright() as p:
        for _ in range(runs):
            browser = await p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={FIXTURES / entry['file']}%noloop",
                ],
            )
            page = await browser.new_page()
            await page.goto(url + "/")
            await page.evaluate(OBSERVE, [w for w, _ in targets])
            await page.get_by_role("button", name="Start visit").click()
            await page.wait_for_timeout((entry["duration_s"] + 12) * 1000)  # the audio + a chunk
            seen, start = await page.evaluate("[window.__seen, window.__audioStart]")
            for word, end_s in targets:
                if word in seen and start is not None:
                    latencies.append((seen[word] - start) / 1000 - end_s)
            await page.get_by_role("button", name="End visit").click()
            await browser.close()
    return latencies


async def long_visit_messages(url: str, minutes: float) -> list[dict[str, Any]]:
    """Server messages of a captions session of ``minutes`` of talk (PriMock57 visits)."""
    turns: list[Turn] = []
    clock = 0.0
    for path in sorted((DATA / "primock57").glob("*.json")):
        for t in json.loads(path.read_text())["turns"]:
            text = " ".join(str(t.get("text") or "").split())
            if text and t.get("end") is not None:
                start = clock + float(t["start"])
                turns.append(Turn(None, str(t["speaker"]).capitalize(), text, start,
                                  clock + float(t["end"])))  # fmt: skip
        clock = turns[-1].end or clock
        if clock >= minutes * 60:
            break
    speakers = {"Doctor": "clinician", "Patient": "patient"}
    return [
        e.message
        async for e in stream_captions(url, turns, speakers=speakers, realtime=False)
        if e.direction == "in"
    ]


FEED = """async ([messages, checkpoints]) => {
  const { LiveModel } = await import('/client/v1/live-model.js');
  const { renderNote } = await import('/demo/note-view.js');
  const model = new LiveModel();
  const list = document.getElementById('transcript');
  const rows = new Map();
  model.addEventListener('segment', (e) => {
    let row = rows.get(e.detail.id);
    if (!row) { row = document.createElement('li'); rows.set(e.detail.id, row); list.append(row); }
    row.textContent = e.detail.text;
  });
  const note = document.getElementById('note');
  model.addEventListener('note', () => renderNote(note, model.note, () => {}));
  const out = [];
  let next = 0;
  for (const m of messages) {
    model.receive(m);
    const due = next < checkpoints.length && m.type === 'transcript';
    if (due && m.segment.end >= checkpoints[next]) {
      await new Promise((r) => setTimeout(r, 0));
      gc();
      const text = [...model.segments.values()].reduce((n, s) => n + s.text.length, 0);
      out.push({ talk_min: checkpoints[next] / 60, heap_mb: performance.memory.usedJSHeapSize / 1e6,
                 segments: model.segments.size, transcript_kb: text / 1e3 });
      next++;
    }
  }
  return out;
}"""


async def heap_over_visit(url: str, ws_url: str, minutes: float) -> list[dict[str, Any]]:
    messages = await long_visit_messages(ws_url, minutes)
    checkpoints = [60.0 * m for m in range(5, int(minutes) + 1, 5)]
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--js-flags=--expose-gc", "--enable-precise-memory-info"],
        )
        page: Page = await browser.new_page()
        await page.goto(url + "/")
        rows: list[dict[str, Any]] = await page.evaluate(FEED, [messages, checkpoints])
        await browser.close()
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rate = {"DRT_CAPTIONS__RATE_PER_S": "500", "DRT_CAPTIONS__BURST": "1000"}  # made --fast
    results: dict[str, Any] = {}
    async with devserver.serving("browser", rate) as server:
        if args.runs:
            latencies = await speech_to_screen(server.http_url, args.runs)
            results["speech_to_screen"] = {
                "samples": len(latencies),
                "p50_s": round(statistics.median(latencies), 2),
                "p95_s": round(sorted(latencies)[round(0.95 * (len(latencies) - 1))], 2),
                "max_s": round(max(latencies), 2),
            }
            print(json.dumps(results["speech_to_screen"]), flush=True)
        if args.minutes:
            results["heap"] = await heap_over_visit(server.http_url, server.ws_url, args.minutes)
            for row in results["heap"]:
                print(json.dumps({k: round(v, 2) for k, v in row.items()}), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fixture plays (0: skip)")
    parser.add_argument("--minutes", type=float, default=30, help="talk fed for the heap (0: skip)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
