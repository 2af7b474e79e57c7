// The offscreen document (reason USER_MEDIA): the home of an audio-mode visit. The panel
// starts and stops it with runtime messages; its events go back the same way.

import { AudioCaptureVisit } from "./audio-visit.js";

let visit = null;

function post(event, detail) {
  chrome.runtime.sendMessage({ kind: "visit-event", event, detail }).catch(() => {}); // no panel open
}

async function tabAudio(streamId) {
  return navigator.mediaDevices.getUserMedia({
    audio: { mandatory: { chromeMediaSource: "tab", chromeMediaSourceId: streamId } },
    video: false,
  });
}

chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.target !== "offscreen") return false;
  const answer = async () => {
    if (message.kind === "audio-start") {
      if (visit) return { ok: false, error: "an audio visit is already running" };
      const tabStream = await tabAudio(message.streamId);
      const starting = new AudioCaptureVisit({ settings: message.settings, tabStream, post });
      try {
        await starting.start();
      } catch (error) {
        await starting.abandon(); // the tab's capture released: a new start can take it
        throw error;
      }
      visit = starting;
      return { ok: true };
    }
    if (message.kind === "audio-stop") {
      const ending = visit;
      visit = null;
      return { ok: true, final: await ending?.stop() };
    }
    if (message.kind === "authorize") {
      visit?.session?.authorize(message.apiKey);
      return { ok: true };
    }
    if (message.kind === "audio-snapshot") {
      return { running: Boolean(visit), state: visit?.state, model: visit?.model.snapshot() };
    }
    return { ok: false, error: `unknown request ${message.kind}` };
  };
  answer()
    .then(reply)
    .catch((error) => {
      visit = null;
      reply({ ok: false, error: String(error.message ?? error) });
    });
  return true;
});
