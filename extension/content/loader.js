// Content scripts load as classic scripts: this one brings in the caption reader, which
// is ES modules shipped with the extension (web-accessible to meet.google.com only).
import(chrome.runtime.getURL("content/main.js")).then(({ start }) => start());
