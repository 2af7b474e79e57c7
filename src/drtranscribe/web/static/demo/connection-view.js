// The connection state pill a clinician watches: live, reconnecting, offline with the
// seconds of audio kept in the browser, ... (the client library's StreamSession states).
// Used by the demo page and the Chrome extension's panel.

const STATE_TEXT = {
  idle: "Not started",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  resumed: "Resumed",
  offline: "Offline",
  needs_key: "Needs the API key",
  finished: "Visit ended",
  refused: "Refused by the service",
  elsewhere: "Open in another tab",
};

/** Show `state` in `pill` (a role=status element: a change is announced once). */
export function showConnection(pill, { state, bufferedSeconds = 0 }) {
  pill.className = `pill ${state}`;
  const buffered = bufferedSeconds > 5 ? ` · ${Math.round(bufferedSeconds)} s buffered` : "";
  const text = (STATE_TEXT[state] ?? state) + buffered;
  if (pill.textContent !== text) pill.textContent = text;
}
