// The content script in a Google Meet tab: when the clinician starts a visit in captions
// mode (a message from the panel), it follows Meet's captions and sends each caption to
// the panel, in order, until the panel has kept it; and it says when the captions are
// off, missing or quiet. Nothing said before the visit starts or after it stops is sent.

import { CaptionFollower } from "./caption-follower.js";
import { CaptionHealth } from "./health.js";
import { findCaptions, readBlocks } from "./meet-dom.js";

let following = null;

export function start() {
  chrome.runtime.onMessage.addListener((message, _sender, reply) => {
    if (message?.kind === "captions-start") {
      following?.stop();
      // what the last visit's panel had not kept yet still goes first
      following = new Following(message.tuning ?? {}, following?.outbox ?? []);
      reply({ ok: true });
    } else if (message?.kind === "captions-stop") {
      const ending = following;
      following = null;
      ending?.stop();
      // answered once the last captions are with the panel (or after 5 s)
      Promise.resolve(ending?.drained(5000)).then(() => reply({ ok: true }));
      return true;
    } else if (message?.kind === "captions-ping") {
      reply({ ok: true, following: Boolean(following) });
    }
  });
  addEventListener("pagehide", () => following?.stop());
}

class Following {
  constructor(tuning, carried) {
    this.outbox = carried; // messages the panel has not kept yet, in order
    this.delivering = false;
    this.follower = new CaptionFollower({ ...tuning, send: (caption) => this.#post({ kind: "caption", caption }) });
    this.health = new CaptionHealth({
      ...tuning,
      report: (status, quietSeconds) => this.#post({ kind: "source", status, quiet_s: quietSeconds }),
    });
    this.region = null;
    // the captions on screen now were said before the visit started: not sent
    const found = findCaptions();
    if (found) this.follower.baseline(readBlocks(found.region));
    this.observer = new MutationObserver(() => this.#schedule());
    this.timer = setInterval(() => this.#check(), 1000);
    this.#check();
  }

  stop() {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.observer.disconnect();
    this.follower.flush();
    this.health.stop();
  }

  /** Every message delivered, or `timeoutMs` passed. */
  async drained(timeoutMs) {
    const until = Date.now() + timeoutMs;
    while (this.outbox.length && Date.now() < until) {
      await this.#deliver();
      if (this.outbox.length) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #check() {
    const found = this.health.check();
    if (found?.region !== this.region) {
      this.observer.disconnect();
      this.region = found?.region ?? null;
      if (this.region) {
        this.observer.observe(this.region, { childList: true, subtree: true, characterData: true });
        this.#read();
      }
    }
    this.follower.tick();
    this.#deliver();
  }

  #schedule() {
    // bursts of mutations (a rewrite touches many nodes) are read once
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.#read(), 100);
  }

  #read() {
    if (!this.region?.isConnected) return;
    const blocks = readBlocks(this.region);
    const before = this.outbox.length;
    this.follower.update(blocks);
    if (this.outbox.length > before) this.health.captionSeen();
    this.#deliver();
  }

  #post(message) {
    this.outbox.push(message);
    this.#deliver();
  }

  /** In order, one at a time; a message stays until the panel says it kept it (a panel
   *  that is closed or reloading gets it when it is back). */
  async #deliver() {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.outbox.length) {
        const reply = await chrome.runtime.sendMessage(this.outbox[0]).catch(() => null);
        if (!reply?.ok) break; // retried at the next check (once a second)
        this.outbox.shift();
      }
    } finally {
      this.delivering = false;
    }
  }
}
