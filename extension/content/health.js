// Is the transcript still coming? Caption extensions' main failure is silent: Meet changes
// its page and the transcript stops without a word. This watchdog says so instead:
//   captions_off        the captions button says they are off;
//   captions_not_found  no captions region for `notFoundMs` in a call (the page changed);
//   captions_quiet      the meeting had sound for `quietS` seconds without a caption change
//                       (a region that is no longer the one Meet writes into);
//   ok                  captions are flowing (again).
// Sound is read from the page's own media elements (Meet plays each participant through
// one), through an analyser: nothing is recorded or sent.

import { captionsOn, findCaptions } from "./meet-dom.js";

const DEFAULTS = { notFoundMs: 8000, quietS: 30, soundDb: -50 };

export class CaptionHealth {
  constructor({ report, now = () => Date.now(), ...options } = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.report = report; // (status, quietSeconds) => void, on every change of status
    this.now = now;
    this.status = null;
    this.missingSince = null;
    this.soundSeconds = 0; // seconds with sound since the last caption change
    this.meters = new Map(); // media element -> analyser
  }

  /** A caption changed: the source is alive. */
  captionSeen() {
    this.soundSeconds = 0;
    this.#set("ok");
  }

  /** Once a second: where the captions are, whether the meeting makes sound. */
  check(doc = document) {
    const now = this.now();
    const found = findCaptions(doc);
    if (!found) {
      this.missingSince ??= now;
      if (captionsOn(doc) === false) this.#set("captions_off");
      else if (now - this.missingSince >= this.options.notFoundMs) this.#set("captions_not_found");
      return null;
    }
    this.missingSince = null;
    if (this.#sounding(doc)) this.soundSeconds += 1;
    if (this.soundSeconds >= this.options.quietS) this.#set("captions_quiet", this.soundSeconds);
    else if (this.status !== "captions_quiet" || this.soundSeconds === 0) this.#set("ok");
    return found;
  }

  stop() {
    for (const { context } of this.meters.values()) context.close();
    this.meters.clear();
  }

  #set(status, quietSeconds = null) {
    if (status === this.status) return;
    this.status = status;
    this.report(status, quietSeconds);
  }

  #sounding(doc) {
    let loudest = -Infinity;
    for (const el of doc.querySelectorAll("audio, video")) {
      const meter = this.#meter(el);
      if (meter) loudest = Math.max(loudest, level(meter.analyser));
    }
    return loudest > this.options.soundDb;
  }

  #meter(el) {
    if (this.meters.has(el)) return this.meters.get(el);
    let meter = null;
    try {
      const stream = el.srcObject instanceof MediaStream ? el.srcObject : el.captureStream?.();
      if (stream?.getAudioTracks().length) {
        const context = new AudioContext();
        const analyser = context.createAnalyser();
        context.createMediaStreamSource(stream).connect(analyser);
        meter = { context, analyser };
      }
    } catch {
      meter = null; // a media element we may not read (another origin's): no opinion
    }
    if (meter) this.meters.set(el, meter);
    return meter;
  }
}

function level(analyser) {
  const samples = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(samples);
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
}
