// The live transcript, as a clinician reads it: one row per segment in the service's
// order, revised in place (interim text visibly provisional), speaker labels when known
// (the role, "Patient?" when only inferred, after the name the meeting shows), each passage announced once to screen readers when it
// is final. Used by the demo page and the Chrome extension's panel.

export function speakerLabel(segment) {
  let role = "";
  if (segment.speaker) {
    role = segment.speaker[0].toUpperCase() + segment.speaker.slice(1);
    if (segment.speaker_source === "inferred") role += "?";
  }
  const name = segment.speaker_name ?? "";
  return name && role ? `${name} · ${role}` : name || role;
}

export class TranscriptView {
  /** `list` (an <ol>), `empty` (shown until the first segment), `announcer` (aria-live),
   *  `model` (a LiveModel: its order places new rows). */
  constructor({ list, empty, announcer, model }) {
    this.list = list;
    this.empty = empty;
    this.announcer = announcer;
    this.model = model;
  }

  rowOf(id) {
    return this.list.querySelector(`[data-segment-id="${CSS.escape(id)}"]`);
  }

  render(segment) {
    let row = this.rowOf(segment.id);
    if (!row) {
      row = document.createElement("li");
      row.dataset.segmentId = segment.id;
      const who = document.createElement("span");
      who.className = "speaker";
      const text = document.createElement("span");
      text.className = "text";
      row.append(who, text);
      // in the service's order (a two-channel window's turns, channels starting together)
      const order = this.model.transcript().map((s) => s.id);
      const later = order.slice(order.indexOf(segment.id) + 1);
      const before = later.map((id) => this.rowOf(id)).find(Boolean) ?? null;
      this.list.insertBefore(row, before);
      this.empty.hidden = true;
    }
    const scroller = this.list.parentElement;
    const following = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const wasFinal = row.classList.contains("final");
    row.className = segment.final ? "segment final" : "segment interim";
    row.hidden = !segment.text; // a turn the final pass no longer heard is emptied
    row.querySelector(".speaker").textContent = speakerLabel(segment);
    row.querySelector(".text").textContent = segment.text;
    // the list's own scroll box follows the conversation, unless the reader scrolled up
    if (following) scroller.scrollTop = scroller.scrollHeight;
    if (segment.final && !wasFinal && segment.text) {
      // screen readers hear each passage once, when it is final (not every revision)
      this.announcer.textContent = `${speakerLabel(segment) || "Speaker"}: ${segment.text}`;
    }
  }

  /** No rows: a new visit. */
  clear() {
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.announcer.textContent = "";
  }

  /** Mark the rows of `ids` (a note item's evidence) and bring the first into view. */
  highlight(ids) {
    for (const row of this.list.querySelectorAll(".segment")) {
      row.classList.toggle("evidence", ids.has(row.dataset.segmentId));
    }
    this.list.querySelector(".segment.evidence")?.scrollIntoView({ block: "center" });
  }
}
