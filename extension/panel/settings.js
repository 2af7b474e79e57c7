// The extension's settings, in chrome.storage.local (this browser profile only): where the
// service is, the API key (exchanged for stream tokens; only ever sent in a request
// header), who the clinician is as Meet shows them, and the captions watchdog's timing.

const DEFAULTS = {
  serviceUrl: "http://127.0.0.1:8000",
  apiKey: "",
  clinician: "You", // Meet labels the local user's own captions "You"
  mode: "captions",
  tuning: {}, // e.g. { quietS: 30, notFoundMs: 8000 } (the watchdog, content/health.js)
};

export async function loadSettings() {
  const stored = await chrome.storage.local.get(Object.keys(DEFAULTS));
  return { ...DEFAULTS, ...stored };
}

export async function saveSettings(changes) {
  await chrome.storage.local.set(changes);
}
