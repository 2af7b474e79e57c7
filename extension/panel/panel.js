// The visit panel beside the Google Meet call: settings, start/stop, the live transcript
// and note (the demo page's components, from the client library), export, and the
// captions watchdog's warnings with the way out (audio mode).

import { IdbOutbox, LiveModel } from "../lib/index.js";
import { showConnection } from "../lib/connection-view.js";
import { noteAsText } from "../lib/note-view.js";
import { showVisit } from "../lib/visit-view.js";
import { meetingTab } from "./meet-tab.js";
import { loadSettings, saveSettings } from "./settings.js";
import { AudioVisit, CaptionsVisit, audioVisitRunning } from "./visit.js";

const $ = (id) => document.getElementById(id);
const model = new LiveModel();
showVisit(model);
let settings = await loadSettings();
let visit = null;
let sessionId = null;

const PROBLEMS = {
  captions_off: "Captions are off in Meet: nothing is being transcribed. Turn them on (the CC button, or press c), or use the call's audio.",
  captions_not_found: "drTranscribe cannot find Meet's captions on the page (Meet may have changed): nothing is being transcribed. Use the call's audio instead.",
  captions_quiet: "The call has sound but no captions have arrived: the transcript may be missing words. Check Meet's captions, or use the call's audio.",
};

function showState({ state, bufferedSeconds = 0 }) {
  showConnection($("connection"), { state, bufferedSeconds });
  const running = !["idle", "finished", "refused", "elsewhere"].includes(state);
  $("start").disabled = running;
  $("stop").disabled = !running;
  $("mode").disabled = running;
  if (state === "needs_key") showDetail("The service needs the API key again: enter it in Settings.");
}

function showProblem(status) {
  const problem = PROBLEMS[status];
  $("problem").hidden = !problem;
  $("problem-text").textContent = problem ?? "";
}

function showDetail(text) {
  $("status-detail").textContent = text;
}

function follow(source) {
  visit = source;
  source.addEventListener("message", (event) => {
    model.receive(event.detail);
    if (event.detail.type === "session") {
      sessionId = event.detail.session_id;
      $("session-id").textContent = `Session ${sessionId}`;
    }
  });
  source.addEventListener("state", (event) => showState(event.detail));
  source.addEventListener("error", (event) => showDetail(`${event.detail.code}: ${event.detail.message}`));
  source.addEventListener("source", (event) => showProblem(event.detail.status));
}

model.addEventListener("reset", () => ($("session-id").textContent = ""));

async function start() {
  $("start").disabled = true;
  showProblem(null);
  showDetail("");
  try {
    const tab = await meetingTab();
    if (!tab) throw new Error("Open the Google Meet call first, then start the visit here.");
    const mode = $("mode").value;
    if (mode === "audio" && !(await microphoneGranted())) {
      await chrome.tabs.create({ url: chrome.runtime.getURL("permission/mic.html") });
      throw new Error("Allow the microphone in the tab that opened, then start again.");
    }
    visit?.close(); // the last visit's listeners go
    model.reset(); // nothing of the last visit on screen
    const source = mode === "audio" ? new AudioVisit({ settings, tabId: tab.id }) : new CaptionsVisit({ settings, tabId: tab.id });
    follow(source);
    await source.start();
  } catch (error) {
    $("start").disabled = false;
    showDetail(String(error.message ?? error));
  }
}

async function stop() {
  $("stop").disabled = true;
  try {
    const final = await visit.stop();
    model.receive(final);
    showState({ state: "finished" });
    showDetail(`Note version ${final.note_version}, ${final.transcript.length} segments`);
  } catch (error) {
    showDetail(String(error.message ?? error));
  }
}

/** https, or http to this machine only (`make run`). */
function secureEnough(url) {
  const { protocol, hostname } = new URL(url);
  return protocol === "https:" || ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
}

async function microphoneGranted() {
  const status = await navigator.permissions.query({ name: "microphone" });
  return status.state === "granted";
}

function fillSettings() {
  $("service-url").value = settings.serviceUrl;
  $("api-key").value = settings.apiKey;
  $("clinician").value = settings.clinician;
  $("mode").value = settings.mode;
  if (!settings.serviceUrl) $("settings").open = true;
}

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const changes = {
    serviceUrl: $("service-url").value.trim().replace(/\/$/, ""),
    apiKey: $("api-key").value.trim(),
    clinician: $("clinician").value.trim() || "You",
  };
  if (changes.apiKey && !secureEnough(changes.serviceUrl)) {
    $("settings-saved").textContent = "Use an https:// service URL: over http the key would travel unencrypted.";
    return;
  }
  await saveSettings(changes);
  settings = { ...settings, ...changes };
  $("settings-saved").textContent = "Saved.";
  visit?.authorize(settings.apiKey); // a visit waiting for the key carries on
});
$("mode").addEventListener("change", () => saveSettings({ mode: $("mode").value }));
$("use-audio").addEventListener("click", async () => {
  $("mode").value = "audio";
  await saveSettings({ mode: "audio" });
  if (visit && !$("stop").disabled) await stop();
  await start();
});
$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
$("copy").addEventListener("click", () => navigator.clipboard.writeText(noteAsText(model.note)));
$("download").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(model.note, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `note-${sessionId ?? "draft"}.json`;
  link.click();
  URL.revokeObjectURL(link.href);
});

/** A panel (re)opened mid-visit carries on with it. */
async function carryOn() {
  const kept = await IdbOutbox.unfinished();
  const tab = await meetingTab();
  if (kept?.input === "captions" && tab) {
    const source = new CaptionsVisit({ settings, tabId: tab.id });
    follow(source);
    await source.resume(kept);
    showDetail("Visit resumed.");
  } else if (await audioVisitRunning()) {
    const source = new AudioVisit({ settings, tabId: tab?.id });
    follow(source);
    const snapshot = await source.snapshot();
    if (snapshot.model) model.restore(snapshot.model);
    showState({ state: snapshot.state ?? "live" });
  }
}

fillSettings();
carryOn();
