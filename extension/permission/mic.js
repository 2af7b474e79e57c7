// Extension pages shown in the side panel or offscreen cannot ask for the microphone
// (no prompt appears there): this visible tab asks once, for the whole extension.

const result = document.getElementById("result");
try {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const track of stream.getTracks()) track.stop();
  result.textContent = "Allowed. You can close this tab and start the visit in the panel.";
  setTimeout(() => window.close(), 1500);
} catch (error) {
  result.textContent = `Not allowed (${error.name}). To change it: chrome://settings/content/microphone`;
}
