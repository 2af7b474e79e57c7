// The clinical note by section, as a clinician reads it; each item is a button that
// highlights the transcript segments it rests on.

const SECTIONS = [
  ["chief_complaint", "Chief complaint"],
  ["history_of_present_illness", "History of present illness"],
  ["symptoms", "Symptoms"],
  ["medications", "Medications"],
  ["allergies", "Allergies"],
  ["vitals", "Vitals"],
  ["past_medical_history", "Past medical history"],
  ["family_history", "Family history"],
  ["social_history", "Social history"],
  ["examination", "Examination"],
  ["assessment", "Assessment"],
  ["plan", "Plan"],
  ["follow_up", "Follow-up"],
];

export function itemText(section, item) {
  switch (section) {
    case "symptoms": {
      const parts = [item.negated ? `Denies ${item.name}` : item.name];
      if (!item.negated && item.onset) parts.push(item.onset);
      if (!item.negated && item.severity) parts.push(item.severity);
      return parts.join(", ");
    }
    case "medications":
      return [item.name, item.dose, item.route, item.frequency, item.status !== "current" ? `(${item.status})` : ""]
        .filter(Boolean)
        .join(" ");
    case "allergies":
      return item.no_known_allergies ? "No known allergies" : [item.substance, item.reaction && `→ ${item.reaction}`].filter(Boolean).join(" ");
    case "vitals":
      return `${item.kind.replace(/_/g, " ")}: ${item.value}${item.unit ? ` ${item.unit}` : ""}`;
    case "assessment":
      return item.certainty === "confirmed" ? item.name : `${item.name} (${item.certainty.replace("_", " ")})`;
    default:
      return item.text ?? item.name ?? "";
  }
}

export function sectionItems(note, section) {
  const value = note[section];
  return Array.isArray(value) ? value : value ? [value] : [];
}

/** The note as plain text (copy, print): one heading per section with its items. */
export function noteAsText(note) {
  const lines = [];
  for (const [section, title] of SECTIONS) {
    const items = sectionItems(note, section);
    if (!items.length) continue;
    lines.push(title.toUpperCase());
    for (const item of items) lines.push(`- ${itemText(section, item)}`);
    lines.push("");
  }
  return lines.join("\n").trim();
}

export function renderNote(container, note, onSelect) {
  const fragment = document.createDocumentFragment();
  for (const [section, title] of SECTIONS) {
    const items = sectionItems(note, section);
    if (!items.length) continue;
    const block = document.createElement("section");
    block.className = "note-section";
    block.dataset.section = section;
    const heading = document.createElement("h3");
    heading.textContent = title;
    const list = document.createElement("ul");
    for (const item of items) {
      const entry = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "note-item" + (item.provisional ? " provisional" : "");
      button.dataset.itemId = item.id;
      button.textContent = itemText(section, item);
      if (item.provisional) button.title = "Provisional: not confirmed yet";
      if (item.speaker) {
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = item.speaker;
        button.append(" ", who);
      }
      button.addEventListener("click", () => onSelect(item));
      entry.append(button);
      list.append(entry);
    }
    block.append(heading, list);
    fragment.append(block);
  }
  container.replaceChildren(fragment);
}
