// Where Google Meet keeps its live captions, found by the most stable signals first.
//
// Meet's class names are obfuscated and rotate every few months (the caption block went
// .TBMuR -> .nMcdL, the speaker's name .zs7s8d -> .KcIKyf -> .NWpY1d, the text .iTTPOb ->
// .bh44bd -> .ygicle; vivek-nexus/transcriptonic, yunho0130/google-meet-cc-to-srt), and
// its aria-labels are translated. So: roles and jsname attributes first, the (localized)
// label second, structure (an avatar image beside a name and a text) to read a block, and
// hashed classes never. Every finder says which way it found the region, for diagnostics.

const CAPTION_LABEL = /caption|subtit|untertitel|sous-titre|legenda|leyenda|字幕|자막/i;

/** The captions region and how it was found, or null. */
export function findCaptions(doc = document) {
  const regions = [...doc.querySelectorAll('[role="region"]')];
  const labelled = regions.find((r) => CAPTION_LABEL.test(r.getAttribute("aria-label") ?? ""));
  if (labelled) return { region: labelled, how: "role+label" };
  const focusable = regions.find((r) => r.getAttribute("tabindex") === "0" && readBlocks(r).length);
  if (focusable) return { region: focusable, how: "role+structure" };
  const named = doc.querySelector('[jsname="dsyhDe"]');
  if (named) return { region: named, how: "jsname" };
  return null;
}

/** Each caption block (one speaker's turn) in the region, in order: {el, speaker, text}. */
export function readBlocks(region) {
  const blocks = [];
  for (const el of region.children) {
    if (el.matches("button, [role=button]") || el.querySelector("button")) continue;
    const block = readBlock(el);
    if (block) blocks.push(block);
  }
  return blocks;
}

function readBlock(el) {
  const textEl = el.querySelector('[jsname="tgaKEf"]') ?? lastTextLeaf(el);
  if (!textEl) return null;
  const nameEl = [...el.querySelectorAll("span, div")].find(
    (candidate) => isLeaf(candidate) && !textEl.contains(candidate) && candidate !== textEl && clean(candidate.textContent),
  );
  return { el, speaker: nameEl ? clean(nameEl.textContent) : null, text: clean(textEl.textContent) };
}

function lastTextLeaf(el) {
  const leaves = [...el.querySelectorAll("div, span")].filter((c) => isLeaf(c) && clean(c.textContent));
  return leaves.length > 1 ? leaves[leaves.length - 1] : null; // a name and a text, at least
}

function isLeaf(el) {
  return el.children.length === 0;
}

function clean(text) {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

/** The button that turns captions on and off (found by its icon's ligature name, which
 *  is not translated), or null. */
export function captionsButton(doc = document) {
  for (const icon of doc.querySelectorAll("i, span")) {
    const name = icon.textContent.trim();
    if (name === "closed_caption" || name === "closed_caption_off") {
      const button = icon.closest("button");
      if (button) return button;
    }
  }
  return null;
}

/** true / false when the captions button says, null when there is none. */
export function captionsOn(doc = document) {
  const button = captionsButton(doc);
  if (!button || !button.hasAttribute("aria-pressed")) return null;
  return button.getAttribute("aria-pressed") === "true";
}

/** In a call: the leave-call button (its icon's ligature, call_end) is on the page. */
export function inCall(doc = document) {
  return [...doc.querySelectorAll("i, span")].some((icon) => icon.textContent.trim() === "call_end");
}
