// What the clinician sees, kept from the service's messages: the transcript (segments
// revised in place under their id, interim until final) and the note (each `note`
// message's JSON Patch applied in version order; a snapshot replaces it after a resume).

import { EMPTY_NOTE } from "./empty-note.js";
import { applyPatch } from "./jsonpatch.js";

export class LiveModel extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  /** Empty again, for the next visit ("reset" event): nothing of the last one is kept. */
  reset() {
    this.segments = new Map(); // id -> segment, in first-seen order
    this.note = structuredClone(EMPTY_NOTE);
    this.noteVersion = 0;
    this.stale = false;
    this.evidence = new Map(); // note item id -> the segment ids it rests on
    this.dispatchEvent(new CustomEvent("reset"));
  }

  /** Take over a model kept elsewhere (`snapshot()` of another LiveModel: a panel opened
   *  while the visit runs in another context). */
  restore({ transcript, note, noteVersion }) {
    for (const segment of transcript) this.#segment(segment);
    this.note = note;
    this.noteVersion = noteVersion;
    this.#collectEvidence(note);
    this.dispatchEvent(new CustomEvent("note", { detail: { version: this.noteVersion } }));
  }

  snapshot() {
    return { transcript: this.transcript(), note: this.note, noteVersion: this.noteVersion };
  }

  /** Feed one server message; returns true when the model changed. */
  receive(message) {
    if (message.type === "transcript") return this.#segment(message.segment);
    if (message.type === "note") return this.#note(message);
    if (message.type === "final") {
      for (const segment of message.transcript) this.#segment(segment);
      this.note = message.note;
      this.noteVersion = message.note_version;
      this.#collectEvidence(message.note);
      this.dispatchEvent(new CustomEvent("note", { detail: { version: this.noteVersion } }));
      return true;
    }
    return false;
  }

  transcript() {
    return [...this.segments.values()].sort(
      // As the service orders them: chunk, then start time, then id.
      (a, b) =>
        a.first_chunk_seq - b.first_chunk_seq || a.start - b.start || (a.id < b.id ? -1 : 1),
    );
  }

  #segment(segment) {
    this.segments.set(segment.id, segment);
    this.dispatchEvent(new CustomEvent("segment", { detail: segment }));
    return true;
  }

  #note(message) {
    if (message.snapshot) {
      this.note = applyPatch(structuredClone(EMPTY_NOTE), message.patch);
    } else if (message.version === this.noteVersion + 1) {
      this.note = applyPatch(this.note, message.patch);
    } else if (message.version <= this.noteVersion) {
      return false; // seen already (a replay)
    } else {
      // A version missed: keep what is shown, marked stale, until a snapshot (a resume)
      // or the final note replaces it.
      this.stale = true;
      this.dispatchEvent(new CustomEvent("stale", { detail: { version: message.version } }));
      return false;
    }
    this.stale = false;
    this.noteVersion = message.version;
    this.#collectEvidence(this.note);
    this.dispatchEvent(new CustomEvent("note", { detail: { version: this.noteVersion } }));
    return true;
  }

  #collectEvidence(note) {
    this.evidence.clear();
    for (const value of Object.values(note || {})) {
      const items = Array.isArray(value) ? value : value ? [value] : [];
      for (const item of items) if (item && item.id) this.evidence.set(item.id, item.evidence || []);
    }
  }
}
