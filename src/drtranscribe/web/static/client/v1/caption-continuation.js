// Captions the service made final while the client was still revising them.
//
// The service makes a caption final after `limits.caption_quiet_s` without a revision and
// then refuses revisions of it (`caption_final`). A client can still have revisions of it
// queued (sent late after a reconnect, or a speaker who paused and went on). Their words
// must not be lost and must not be doubled. So the words beyond what the service holds go
// out as a continuation caption (`<id>+<seq>`), and every later revision of the original
// caption is routed there, as its words beyond the held text. A revision with nothing
// beyond is sent as the held text again: a no-op the service stores, so the numbering
// goes on.

export class CaptionContinuations {
  constructor() {
    this.held = new Map(); // caption_id -> {text, speaker}: what the service stored last
    this.next = new Map(); // caption_id -> {id, base}: where its later words go
  }

  /** The service stored `caption` (as routed). */
  stored(caption) {
    this.held.set(caption.caption_id, { text: caption.text, speaker: caption.speaker ?? null });
  }

  /** The service refused `caption` (as routed) because it holds that caption as final;
   *  `seq` names its continuation. */
  refused(caption, seq) {
    const held = this.held.get(caption.caption_id) ?? { text: "", speaker: null };
    this.next.set(caption.caption_id, { id: `${caption.caption_id}+${seq}`, base: held.text });
  }

  /** What to send for `caption` now. */
  route(caption) {
    let out = caption;
    while (this.next.has(out.caption_id)) {
      const { id, base } = this.next.get(out.caption_id);
      const rest = wordsBeyond(out.text, base);
      if (!rest) {
        const held = this.held.get(out.caption_id) ?? { text: out.text, speaker: null };
        return { ...out, text: held.text, speaker: held.speaker ?? out.speaker, final: false };
      }
      out = { ...out, caption_id: id, text: rest };
    }
    return out;
  }
}

const norm = (word) => word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");

/** The words of `text` after those of `base`: after their common opening, or (when the
 *  opening was corrected) after as many words as `base` has. */
export function wordsBeyond(text, base) {
  const words = text.split(/\s+/).filter(Boolean);
  const held = base.split(/\s+/).filter(Boolean);
  let common = 0;
  while (common < held.length && common < words.length && norm(words[common]) === norm(held[common])) common++;
  const from = common === held.length ? common : Math.max(common, Math.min(held.length, words.length));
  return words.slice(from).join(" ");
}
