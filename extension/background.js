// The extension's service worker: the toolbar button opens the visit panel beside the
// meeting. Opening it from the button (rather than openPanelOnActionClick) keeps the
// click's "invocation" of the extension on that tab, which tab audio capture needs
// (chrome.tabCapture; the panel asks for the stream when an audio visit starts).

chrome.action.onClicked.addListener((tab) => {
  // synchronously, inside the click: an await first would lose the user gesture
  chrome.sidePanel.open({ tabId: tab.id });
});

chrome.runtime.onInstalled.addListener(() => {
  chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: false });
});
