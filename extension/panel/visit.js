// A visit, seen from the panel. Two sources, one interface (events "message", "state",
// "error" as the client library's StreamSession dispatches them, plus "source" for the
// captions watchdog):
//   CaptionsVisit  Meet's captions, read by the content script in the meeting tab and
//                  streamed from here (the panel is the visit's engine);
//   AudioVisit     the call's audio and the clinician's microphone as two channels,
//                  captured and streamed by the offscreen document (it goes on while the
//                  panel is closed); its events are relayed here.

import { IdbOutbox, StreamSession } from "../lib/index.js";
import { tellTab } from "./meet-tab.js";

const FORWARDED = ["message", "state", "error"];

function forward(from, to) {
  for (const type of FORWARDED) {
    from.addEventListener(type, (event) => to.dispatchEvent(new CustomEvent(type, { detail: event.detail })));
  }
}

export class CaptionsVisit extends EventTarget {
  constructor({ settings, tabId }) {
    super();
    this.settings = settings;
    this.tabId = tabId;
    this.onMessage = (message, sender, reply) => this.#receive(message, sender, reply);
  }

  /** A new visit: a session on the service, then the meeting tab starts following. */
  async start() {
    const outbox = await IdbOutbox.open();
    this.session = new StreamSession({
      baseUrl: this.settings.serviceUrl,
      apiKey: this.settings.apiKey || null,
      outbox,
      input: "captions",
      speakers: { [this.settings.clinician]: "clinician" },
      metadata: { source: "meet-extension" },
    });
    forward(this.session, this);
    chrome.runtime.onMessage.addListener(this.onMessage);
    await this.session.open();
    const told = await tellTab(this.tabId, { kind: "captions-start", tuning: this.settings.tuning });
    if (!told?.ok) {
      this.close();
      this.session.stop().catch(() => {}); // nothing was said: the empty session ends
      throw new Error("the Meet tab does not answer: reload it, then start again");
    }
  }

  /** The panel was reloaded mid-visit: the kept session carries on; the tab, still
   *  following, delivers what the panel had not kept. */
  async resume(kept) {
    this.session = await StreamSession.resume(kept, {
      outbox: await IdbOutbox.open(),
      apiKey: this.settings.apiKey || null,
    });
    forward(this.session, this);
    // a visit another panel streams is left to it: this one takes none of its captions
    if (this.session.state !== "elsewhere") chrome.runtime.onMessage.addListener(this.onMessage);
    return this.session;
  }

  authorize(apiKey) {
    this.session?.authorize(apiKey);
  }

  /** Stop listening (a new visit starts, or this one failed to). */
  close() {
    chrome.runtime.onMessage.removeListener(this.onMessage);
  }

  async stop() {
    await tellTab(this.tabId, { kind: "captions-stop" }); // its last captions arrive first
    chrome.runtime.onMessage.removeListener(this.onMessage);
    return this.session.stop();
  }

  #receive(message, sender, reply) {
    if (sender.tab?.id !== this.tabId) return false;
    if (["finished", "refused", "elsewhere"].includes(this.session.state)) return false; // not ours
    if (message?.kind === "caption") {
      const caption = { ...message.caption };
      if (caption.speaker === "You" && this.settings.clinician) caption.speaker = this.settings.clinician;
      this.session.pushCaption(caption).then((kept) => reply({ ok: kept }));
      return true; // the reply comes once the caption is in the outbox
    }
    if (message?.kind === "source") {
      this.session.reportSource(message.status, message.quiet_s);
      this.dispatchEvent(new CustomEvent("source", { detail: message }));
      reply({ ok: true });
      return false;
    }
    return false;
  }
}

const OFFSCREEN = "offscreen/offscreen.html";

export class AudioVisit extends EventTarget {
  constructor({ settings, tabId }) {
    super();
    this.settings = settings;
    this.tabId = tabId;
    this.onMessage = (message) => {
      if (message?.kind === "visit-event" && FORWARDED.includes(message.event)) {
        this.dispatchEvent(new CustomEvent(message.event, { detail: message.detail }));
      }
    };
    chrome.runtime.onMessage.addListener(this.onMessage);
  }

  async start() {
    // the tab's audio: allowed because the clinician opened this panel from the toolbar
    // button on the meeting tab (the extension was invoked there)
    const streamId = await chrome.tabCapture.getMediaStreamId({ targetTabId: this.tabId });
    await ensureOffscreen();
    const answer = await chrome.runtime.sendMessage({
      target: "offscreen",
      kind: "audio-start",
      streamId,
      settings: this.settings,
    });
    if (!answer?.ok) throw new Error(answer?.error ?? "the audio capture did not start");
  }

  authorize(apiKey) {
    chrome.runtime.sendMessage({ target: "offscreen", kind: "authorize", apiKey }).catch(() => {});
  }

  close() {
    chrome.runtime.onMessage.removeListener(this.onMessage);
  }

  /** The transcript and note so far (a panel opened mid-visit). */
  async snapshot() {
    return chrome.runtime.sendMessage({ target: "offscreen", kind: "audio-snapshot" });
  }

  async stop() {
    const answer = await chrome.runtime.sendMessage({ target: "offscreen", kind: "audio-stop" });
    if (!answer?.ok) throw new Error(answer?.error ?? "the visit did not end cleanly");
    return answer.final;
  }
}

async function ensureOffscreen() {
  const contexts = await chrome.runtime.getContexts({ contextTypes: ["OFFSCREEN_DOCUMENT"] });
  if (contexts.length) return;
  await chrome.offscreen.createDocument({
    url: OFFSCREEN,
    reasons: ["USER_MEDIA"],
    justification: "Capture the meeting tab's audio and the microphone for the visit's transcript.",
  });
}

/** Is an audio visit running in the offscreen document (a panel opened mid-visit)? */
export async function audioVisitRunning() {
  const contexts = await chrome.runtime.getContexts({ contextTypes: ["OFFSCREEN_DOCUMENT"] });
  if (!contexts.length) return false;
  const answer = await chrome.runtime.sendMessage({ target: "offscreen", kind: "audio-snapshot" });
  return Boolean(answer?.running);
}
