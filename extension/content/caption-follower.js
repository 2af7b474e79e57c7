// Meet's caption blocks in, the service's caption messages out.
//
// Meet shows one block per speaker turn and rewrites its text in place while the speaker
// talks (words corrected, the line extended), and may re-render or correct older blocks.
// Each block's text becomes a caption (a stable caption_id) revised as it changes, sent at
// most every `reviseMs`. A caption is final when a newer block appears, when its block
// leaves the page, or when it has not changed for `quietMs` (kept below the service's own
// quiet time, so the service never finalises a caption the page still extends). Words a
// block gains after its caption went final start the next caption; corrections Meet makes
// to words already final are left alone (the service holds them as final).

const DEFAULTS = { reviseMs: 700, quietMs: 3000 };

export class CaptionFollower {
  constructor({ send, now = () => Date.now(), prefix = randomPrefix(), ...options } = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.send = send; // (caption) => void
    this.now = now;
    this.prefix = prefix;
    this.count = 0;
    this.byBlock = new Map(); // block element -> its state
    this.order = []; // block states, in the order their blocks appeared
  }

  /** The region's blocks as they are now ({el, speaker, text}, in page order). */
  update(blocks) {
    const now = this.now();
    // a new element that continues the open turn is that turn re-rendered
    for (const block of blocks) if (!this.byBlock.has(block.el)) this.#adopt(block);
    const present = new Set(blocks.map((b) => b.el));
    for (const state of this.order) {
      if (state.open && !present.has(state.el)) this.#finalise(state); // scrolled away
    }
    blocks.forEach((block, index) => {
      let state = this.byBlock.get(block.el);
      if (!state) {
        state = this.#track(block);
        // a new turn: the turns before it are over
        for (const earlier of blocks.slice(0, index)) this.#finaliseBlock(earlier.el);
      }
      this.#observe(state, block, now);
    });
    this.#finaliseOlderThan(blocks);
    this.tick();
  }

  /** Send revisions that waited for their interval, finalise the quiet ones. */
  tick() {
    const now = this.now();
    for (const state of this.order) {
      if (!state.open) continue;
      if (now - state.changedAt >= this.options.quietMs) this.#finalise(state);
      else if (state.text !== state.sentText && now - state.sentAt >= this.options.reviseMs) this.#emit(state, false);
    }
  }

  /** The meeting ended or following stopped: every open caption final. */
  flush() {
    for (const state of this.order) if (state.open) this.#finalise(state);
  }

  #track(block) {
    const state = {
      el: block.el,
      speaker: block.speaker,
      committed: [], // the block's words already in final captions
      id: null,
      text: "",
      sentText: "",
      sentAt: 0,
      changedAt: 0,
      open: false,
      blockText: "",
    };
    this.byBlock.set(block.el, state);
    this.order.push(state);
    if (this.order.length > 50) this.order = this.order.filter((s) => s.open || s.el.isConnected);
    return state;
  }

  /** Meet re-rendered the open turn as a new element (same speaker, text that continues
   *  it): the same caption goes on. */
  #adopt(block) {
    const last = this.order[this.order.length - 1];
    if (!last || !last.open || last.speaker !== block.speaker) return null;
    const before = norm(last.blockText);
    const now = norm(block.text);
    if (!before || !(now.startsWith(before.slice(0, Math.max(3, Math.floor(before.length * 0.6)))))) return null;
    this.byBlock.delete(last.el);
    last.el = block.el;
    this.byBlock.set(block.el, last);
    return last;
  }

  #observe(state, block, now) {
    if (block.speaker && !state.speaker) state.speaker = block.speaker;
    state.blockText = block.text;
    const text = beyond(block.text.split(" "), state.committed).join(" ");
    if (!text || text === state.text) return;
    if (!state.open) {
      state.id = `${this.prefix}-${++this.count}`;
      state.open = true;
      state.sentText = "";
      state.sentAt = -Infinity;
    }
    state.text = text;
    state.changedAt = now;
  }

  #finaliseBlock(el) {
    const state = this.byBlock.get(el);
    if (state?.open) this.#finalise(state);
  }

  #finaliseOlderThan(blocks) {
    if (blocks.length < 2) return;
    for (const block of blocks.slice(0, -1)) {
      const state = this.byBlock.get(block.el);
      const newer = blocks.slice(blocks.indexOf(block) + 1).some((b) => this.byBlock.get(b.el)?.open);
      if (state?.open && newer) this.#finalise(state);
    }
  }

  #finalise(state) {
    this.#emit(state, true);
    state.open = false;
    state.committed = state.blockText.split(" ");
    state.text = "";
  }

  #emit(state, final) {
    if (!state.text || (final === false && state.text === state.sentText)) return;
    this.send({ caption_id: state.id, speaker: state.speaker, text: state.text, final });
    state.sentText = state.text;
    state.sentAt = this.now();
  }
}

/** The words of `words` after those already `committed`: found by the last committed
 *  words (Meet may have corrected earlier ones, or cut the block's head), else by count. */
function beyond(words, committed) {
  if (!committed.length) return words;
  const n = Math.min(3, committed.length);
  const tail = committed.slice(-n).map(norm).join(" ");
  for (let end = words.length; end >= n; end--) {
    if (words.slice(end - n, end).map(norm).join(" ") === tail) return words.slice(end);
  }
  return words.slice(Math.min(committed.length, words.length));
}

function norm(text) {
  return text.toLowerCase().replace(/[^\p{L}\p{N} ]/gu, "").replace(/\s+/g, " ").trim();
}

function randomPrefix() {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "meet-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
