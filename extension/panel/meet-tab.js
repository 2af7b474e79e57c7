// The Google Meet tab the panel works beside: the active tab of the panel's window when it
// is a meeting, otherwise the meeting tab used last.

const MEETING = /^https:\/\/meet\.google\.com\/[a-z]{3,}-[a-z]{3,}-[a-z]{3,}/;

export async function meetingTab() {
  const [active] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
  if (active?.url && MEETING.test(active.url)) return active;
  const meetings = await chrome.tabs.query({ url: "https://meet.google.com/*" });
  const inCall = meetings.filter((tab) => MEETING.test(tab.url ?? ""));
  return inCall.sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0))[0] ?? null;
}

/** A message to the content script in `tabId`; null when it is not there. */
export async function tellTab(tabId, message) {
  try {
    return await chrome.tabs.sendMessage(tabId, message);
  } catch {
    return null;
  }
}
