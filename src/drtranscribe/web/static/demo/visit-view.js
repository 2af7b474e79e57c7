// The live visit on screen: the transcript and the note kept in step with a LiveModel,
// and a note item's evidence highlighted when the item is clicked. Used by the demo page
// and the Chrome extension's panel.

import { renderNote } from "./note-view.js";
import { TranscriptView } from "./transcript-view.js";

/** The page's elements, by the ids the demo page and the extension's panel share. */
function byId(doc) {
  const $ = (id) => doc.getElementById(id);
  return {
    transcript: $("transcript"),
    transcriptEmpty: $("transcript-empty"),
    announcer: $("announcer"),
    note: $("note"),
    noteEmpty: $("note-empty"),
  };
}

/** Show `model` in `elements` ({transcript, transcriptEmpty, announcer, note, noteEmpty};
 *  by default the page's elements of those ids); returns the TranscriptView. */
export function showVisit(model, elements = byId(document)) {
  const transcript = new TranscriptView({
    list: elements.transcript,
    empty: elements.transcriptEmpty,
    announcer: elements.announcer,
    model,
  });
  const highlight = (item) => {
    transcript.highlight(new Set(model.evidence.get(item.id) ?? item.evidence ?? []));
    for (const button of document.querySelectorAll(".note-item")) {
      button.classList.toggle("selected", button.dataset.itemId === item.id);
    }
  };
  const note = () => {
    const focused = document.activeElement?.dataset?.itemId; // keyboard focus survives
    renderNote(elements.note, model.note, highlight);
    if (focused) document.querySelector(`[data-item-id="${CSS.escape(focused)}"]`)?.focus();
    elements.noteEmpty.hidden = Boolean(elements.note.childElementCount);
    elements.note.classList.remove("stale");
  };
  model.addEventListener("segment", (event) => transcript.render(event.detail));
  model.addEventListener("note", note);
  model.addEventListener("stale", () => elements.note.classList.add("stale"));
  model.addEventListener("reset", () => {
    transcript.clear();
    note();
  });
  return transcript;
}
