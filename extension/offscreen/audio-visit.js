// An audio-mode visit: the meeting tab's audio and the clinician's microphone, captured as
// two channels (microphone 0 = the clinician, tab 1 = the other people in the call) and
// streamed with the client library; the service names each segment's speaker by channel.
// It runs in the offscreen document, so it goes on while the panel is closed; every
// event goes to `post(event, detail)` for the panel, and the transcript and note so far
// are kept (a LiveModel) for a panel that opens mid-visit.

import { IdbOutbox, LiveModel, MicCapture, StreamSession } from "../lib/index.js";

export class AudioCaptureVisit {
  constructor({ settings, tabStream, post }) {
    this.settings = settings;
    this.tabStream = tabStream;
    this.post = post;
    this.model = new LiveModel(); // for a panel that opens mid-visit
    this.state = "idle";
  }

  async start() {
    // Capturing a tab mutes it for the user: its audio is played back here.
    this.playback = new AudioContext();
    this.playback.createMediaStreamSource(this.tabStream).connect(this.playback.destination);
    this.session = new StreamSession({
      baseUrl: this.settings.serviceUrl,
      apiKey: this.settings.apiKey || null,
      outbox: await IdbOutbox.open(),
      channelRoles: ["clinician", "patient"],
      metadata: { source: "meet-extension" },
    });
    for (const type of ["message", "state", "error"]) {
      this.session.addEventListener(type, (event) => {
        if (type === "message") this.model.receive(event.detail);
        if (type === "state") this.state = event.detail.state;
        this.post(type, event.detail);
      });
    }
    await this.session.open();
    this.levels = [0, 0];
    this.capture = new MicCapture({
      other: this.tabStream,
      onChunk: (pcm) => this.session.push(pcm),
      onLevel: (_, peaks) => (this.levels = peaks),
    });
    await this.capture.start();
  }

  async stop() {
    await this.capture?.stop();
    for (const track of this.tabStream.getTracks()) track.stop(); // the tab's capture ends
    await this.playback?.close();
    return this.session.stop();
  }

  /** A start that failed: the tab's capture, the playback and the session let go. */
  async abandon() {
    await this.capture?.stop().catch(() => {});
    for (const track of this.tabStream.getTracks()) track.stop();
    await this.playback?.close().catch(() => {});
  }
}
