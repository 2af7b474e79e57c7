// Meet's caption blocks in, the service's caption messages out.
//
// Meet shows one block per speaker turn and rewrites its text in place while the speaker
// talks (words corrected, the line extended); it may re-render a block as a new element,
// show a copy of it for a moment, correct older blocks, clear a long block and start it
// over, or scroll old blocks away. Each block's text becomes a caption (a stable
// caption_id) revised as it changes, sent at most every `reviseMs`. A caption is final
// when a newer block appears, when its block leaves the page, when it has not changed for
// `quietMs` (kept below the service's own quiet time), or when it reaches `maxChars`.
// Words a block gains after its caption went final start the next caption; corrections
// Meet makes to words already final are left alone (the service holds them as final).

const DEFAULTS = { reviseMs: 700, quietMs: 3000, maxChars: 1000 };
const RECENT = 12; // turns a re-rendered element may belong to
const RERENDER_MS = 1500; // a re-rendered turn's old element was on screen this recently

export class CaptionFollower {
  constructor({ send, now = () => Date.now(), prefix = randomPrefix(), ...options } = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.send = send; // (caption) => void
    this.now = now;
    this.prefix = prefix;
    this.count = 0;
    this.byBlock = new Map(); // block element -> its turn's state
    this.order = []; // turn states, oldest first
  }

  /** What is on screen when following starts was said before the visit: not sent. */
  baseline(blocks) {
    for (const block of blocks) this.#track(block).committed = words(block.text);
  }

  /** The region's blocks as they are now ({el, speaker, text}, in page order). */
  update(shown) {
    const now = this.now();
    const blocks = distinct(shown);
    const present = new Set(blocks.map((b) => b.el));
    const taken = new Set();
    for (const block of blocks) {
      if (!this.byBlock.has(block.el)) this.#adopt(block, present, taken, now);
    }
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
      state.seenAt = now;
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
      sentAt: -Infinity,
      changedAt: 0,
      seenAt: -Infinity, // when its element was last on screen
      open: false,
      blockText: "",
    };
    this.byBlock.set(block.el, state);
    this.order.push(state);
    if (this.order.length > 4 * RECENT) {
      const keep = new Set(this.order.slice(-RECENT));
      this.order = this.order.filter((s) => s.open || keep.has(s));
      for (const [el, s] of this.byBlock) if (!this.order.includes(s)) this.byBlock.delete(el);
    }
    return state;
  }

  /** A new element showing a recent turn again (Meet re-rendered it, or re-created the
   *  region): same speaker, text that continues the turn's. It takes that turn's place, so
   *  only words beyond what was sent are new. */
  #adopt(block, present, taken, now) {
    const recent = this.order.slice(-RECENT).reverse();
    const turn = recent.find(
      (s) =>
        !taken.has(s) &&
        !present.has(s.el) &&
        now - s.seenAt <= RERENDER_MS && // it left the screen just now
        s.speaker === block.speaker &&
        continues(block.text, s.blockText),
    );
    if (!turn) return;
    taken.add(turn);
    this.byBlock.delete(turn.el);
    turn.el = block.el;
    this.byBlock.set(block.el, turn);
  }

  #observe(state, block, now) {
    if (block.speaker && !state.speaker) state.speaker = block.speaker;
    const shown = words(block.text);
    if (restarted(shown, words(state.blockText))) {
      // Meet cleared a long block and started it over: what it shows now is all new
      if (state.open) this.#finalise(state);
      state.committed = [];
    }
    state.blockText = block.text;
    let rest = beyond(shown, state.committed);
    while (rest.join(" ").length > this.options.maxChars) {
      // a long monologue: cut into captions the service accepts, each final when full
      const part = fitting(rest, this.options.maxChars);
      this.#open(state);
      state.text = part.join(" ");
      this.#finalise(state, shown.slice(0, shown.length - rest.length + part.length));
      rest = rest.slice(part.length);
    }
    const text = rest.join(" ");
    if (!text || text === state.text) return;
    this.#open(state);
    state.text = text;
    state.changedAt = now;
  }

  #open(state) {
    if (state.open) return;
    state.id = `${this.prefix}-${++this.count}`;
    state.open = true;
    state.sentText = "";
    state.sentAt = -Infinity;
  }

  #finaliseBlock(el) {
    const state = this.byBlock.get(el);
    if (state?.open) this.#finalise(state);
  }

  #finaliseOlderThan(blocks) {
    blocks.slice(0, -1).forEach((block, index) => {
      const state = this.byBlock.get(block.el);
      const newer = blocks.slice(index + 1).some((b) => this.byBlock.get(b.el)?.open);
      if (state?.open && newer) this.#finalise(state);
    });
  }

  #finalise(state, committed = words(state.blockText)) {
    this.#emit(state, true);
    state.open = false;
    state.committed = committed;
    state.text = "";
  }

  #emit(state, final) {
    if (!state.text || (final === false && state.text === state.sentText)) return;
    this.send({ caption_id: state.id, speaker: state.speaker, text: state.text, final });
    state.sentText = state.text;
    state.sentAt = this.now();
  }
}

function words(text) {
  return text.split(/\s+/).filter(Boolean);
}

function norm(word) {
  return word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
}

/** The same turn shown twice at once (Meet, for a moment): the first copy is read. */
function distinct(blocks) {
  const seen = new Set();
  return blocks.filter((b) => {
    const key = `${b.speaker}\u0000${words(b.text).map(norm).join(" ")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Does `text` show the turn that read `before` (the same first three words, or all of a
 *  shorter turn)? */
function continues(text, before) {
  const was = words(before).map(norm);
  const now = words(text).map(norm);
  const n = Math.min(3, was.length);
  if (!n || now.length < n) return false;
  return was.slice(0, n).join(" ") === now.slice(0, n).join(" ");
}

/** A long block cleared and started over: far shorter, and not the same opening. */
function restarted(shown, before) {
  return before.length >= 8 && shown.length < before.length / 2 && !continues(shown.join(" "), before.join(" "));
}

/** The words of `shown` after those already `committed`: found by the committed words'
 *  tail (the longest that matches, nearest to where it was; Meet may have corrected a
 *  word or cut the block's head), otherwise by count. */
function beyond(shown, committed) {
  if (!committed.length) return shown;
  for (let n = Math.min(3, committed.length); n >= 1; n--) {
    const tail = committed.slice(-n).map(norm).join(" ");
    let best = -1;
    for (let end = n; end <= shown.length; end++) {
      if (shown.slice(end - n, end).map(norm).join(" ") !== tail) continue;
      if (best < 0 || Math.abs(end - committed.length) < Math.abs(best - committed.length)) best = end;
    }
    if (best >= 0) return shown.slice(best);
  }
  return shown.slice(Math.min(committed.length, shown.length));
}

/** The first of `list` (at least one) whose text fits in `chars`. */
function fitting(list, chars) {
  let length = -1;
  let count = 0;
  while (count < list.length && length + 1 + list[count].length <= chars) length += 1 + list[count++].length;
  return list.slice(0, Math.max(1, count));
}

function randomPrefix() {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "meet-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
