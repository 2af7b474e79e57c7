// The demo EMR encounter: microphone -> service -> live transcript and note.

import { IdbOutbox, LiveModel, MicCapture, StreamSession } from "/client/v1/index.js";
import { showConnection } from "./connection-view.js";
import { noteAsText } from "./note-view.js";
import { showVisit } from "./visit-view.js";

const $ = (id) => document.getElementById(id);
const model = new LiveModel();
showVisit(model);
let session = null;
let apiKey = null; // in memory only: never stored, never in a URL
let capture = null;
let startedAt = 0;
let clock = null;

function showState({ state, bufferedSeconds }) {
  showConnection($("connection"), { state, bufferedSeconds });
  if ((state === "finished" || state === "refused") && capture) endCapture();
  if (state === "refused") $("start").disabled = false; // a new visit can start
  if (state === "needs_key") {
    askForKey("Enter the API key to continue this visit: its audio is kept in this browser.");
  }
}

/** Stop the microphone; its last partial chunk is pushed before this resolves. */
async function endCapture() {
  clearInterval(clock);
  const ending = capture;
  capture = null;
  $("stop").disabled = true;
  $("level").value = 0;
  await ending?.stop();
}

function tick() {
  const seconds = Math.floor((Date.now() - startedAt) / 1000);
  $("elapsed").textContent = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

function follow(streamSession) {
  streamSession.addEventListener("message", (event) => {
    if (event.detail.type === "warning") $("status-detail").textContent = event.detail.message;
  });
  session = streamSession;
  const shown = () => ($("session-id").textContent = session.sessionId ? `Session ${session.sessionId}` : "");
  session.addEventListener("state", shown);
  session.addEventListener("state", (event) => showState(event.detail));
  session.addEventListener("message", (event) => model.receive(event.detail));
  session.addEventListener("error", (event) => {
    $("status-detail").textContent = `${event.detail.code}: ${event.detail.message}`;
  });
  showState(session); // where it is now: its first states may have passed already
}

async function startMicrophone() {
  capture = new MicCapture({
    chunkSeconds: 5,
    onChunk: (pcm) => session.push(pcm),
    onLevel: (peak) => ($("level").value = peak),
  });
  await capture.start();
  startedAt = Date.now();
  clock = setInterval(tick, 1000);
  $("stop").disabled = false;
}

async function start() {
  $("start").disabled = true;
  try {
    if (session && ["finished", "refused", "elsewhere"].includes(session.state)) {
      session = null; // a new visit: nothing of the last one on screen
      model.reset();
    }
    if (!session) {
      const outbox = await IdbOutbox.open();
      const opened = new StreamSession({ outbox, apiKey, metadata: { encounter: "demo" } });
      await opened.open(); // only a session the service granted is followed
      follow(opened);
    }
    await startMicrophone();
  } catch (error) {
    $("start").disabled = false;
    if (error.status === 401 || error.status === 403) {
      askForKey(error.status === 403 ? "This key may not be used from this page." : "");
      return;
    }
    $("status-detail").textContent = String(error.message ?? error);
  }
}

function askForKey(problem) {
  $("key-form").hidden = false;
  $("status-detail").textContent = problem || "Enter the clinic's API key to start the visit.";
  $("api-key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey = $("api-key").value.trim();
  $("api-key").value = "";
  $("key-form").hidden = true;
  if (session?.state === "needs_key") {
    $("status-detail").textContent = "";
    session.authorize(apiKey);
  } else {
    start();
  }
});

/** A reload mid-visit: the session this browser kept is resumed, its unsent audio sent. */
async function resumeKept() {
  const kept = await IdbOutbox.unfinished();
  $("start").disabled = false;
  if (!kept) return;
  const resumed = await StreamSession.resume(kept, { outbox: await IdbOutbox.open() });
  if (resumed.state === "elsewhere") {
    // another tab of this browser streams that visit: this one leaves it alone
    showState(resumed);
    $("status-detail").textContent = "This visit continues in another tab.";
    return;
  }
  follow(resumed);
  $("start").textContent = "Continue visit";
  $("stop").disabled = false;
  $("status-detail").textContent = "Visit resumed after a reload: continue to use the microphone.";
}

async function stop() {
  $("stop").disabled = true;
  await endCapture();
  const final = await session.stop();
  model.receive(final);
  $("start").textContent = "Start a new visit";
  $("start").disabled = false;
  $("status-detail").textContent = `Note version ${final.note_version}, ${final.transcript.length} segments`;
}

$("start").addEventListener("click", start);
resumeKept();
$("stop").addEventListener("click", stop);
$("copy").addEventListener("click", () => navigator.clipboard.writeText(noteAsText(model.note)));
$("print").addEventListener("click", () => window.print());
$("download").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(model.note, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `note-${session?.sessionId ?? "draft"}.json`;
  link.click();
  URL.revokeObjectURL(link.href);
});
