// Is the transcript still coming? Caption extensions' main failure is silent: Meet changes
// its page and the transcript stops without a word. This watchdog says so instead:
//   captions_off        the captions button says they are off;
//   captions_not_found  no captions region for `notFoundMs` in a call (the page changed);
//   captions_quiet      the meeting had sound for `quietS` seconds without a caption change
//                       (a region that is no longer the one Meet writes into);
//   ok                  captions are flowing (again).
// Sound is read from the page's own media elements (Meet plays each participant through
// one), through an analyser: nothing is recorded or sent.

import { captionsOn, findCaptions, inCall } from "./meet-dom.js";

const DEFAULTS = { notFoundMs: 8000, quietS: 30, soundDb: -45 };

export class CaptionHealth {
  constructor({ report, now = () => Date.now(), ...options } = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.report = report; // (status, quietSeconds) => void, on every change of status
    this.now = now;
    this.status = null;
    this.missingSince = null;
    this.soundSeconds = 0; // seconds with sound since the last caption change
    this.context = null; // one AudioContext for every meter
    this.meters = new Map(); // audio track id -> { analyser, source }
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
    if (!found && !inCall(doc)) {
      this.missingSince = null; // the lobby, or the call was left: no captions expected
      return null;
    }
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
    this.context?.close();
    this.context = null;
    this.meters.clear();
  }

  #set(status, quietSeconds = null) {
    if (status === this.status) return;
    this.status = status;
    this.report(status, quietSeconds);
  }

  /** Does the call make sound now? Every audio track the page plays is metered (Meet
   *  swaps a participant's stream by changing a media element's srcObject: meters follow
   *  the tracks, and those of tracks gone are dropped). */
  #sounding(doc) {
    const live = new Set();
    let loudest = -Infinity;
    for (const el of doc.querySelectorAll("audio, video")) {
      for (const track of tracksOf(el)) {
        live.add(track.id);
        const meter = this.#meter(track);
        if (meter) loudest = Math.max(loudest, level(meter.analyser));
      }
    }
    for (const [id, meter] of this.meters) {
      if (!live.has(id)) {
        meter.source.disconnect();
        this.meters.delete(id);
      }
    }
    return loudest > this.options.soundDb;
  }

  #meter(track) {
    if (this.meters.has(track.id)) return this.meters.get(track.id);
    try {
      this.context ??= new AudioContext();
      const source = this.context.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.context.createAnalyser();
      source.connect(analyser);
      const meter = { source, analyser };
      this.meters.set(track.id, meter);
      return meter;
    } catch {
      return null; // a track we may not read (another origin's media): no opinion
    }
  }
}

const captured = new WeakMap(); // media element playing a file -> its captured stream (once)

function tracksOf(el) {
  try {
    let stream = el.srcObject instanceof MediaStream ? el.srcObject : captured.get(el);
    if (!stream && el.src && el.captureStream) {
      stream = el.captureStream();
      captured.set(el, stream);
    }
    return stream ? stream.getAudioTracks().filter((t) => t.readyState === "live") : [];
  } catch {
    return [];
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
