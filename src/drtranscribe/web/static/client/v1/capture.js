// Microphone capture: getUserMedia -> AudioWorklet -> 16 kHz mono PCM16, cut into chunks
// of `chunkSeconds`. `onChunk(Int16Array)` gets each chunk, `onLevel(0..1)` the level.

export const SAMPLE_RATE = 16000;

export class MicCapture {
  // The browser's voice processing (noise suppression, gain control, echo cancellation)
  // is made for listeners and distorts speech for recognition: off unless asked for.
  constructor({ chunkSeconds = 5, onChunk, onLevel = () => {}, processing = false }) {
    this.processing = processing;
    this.chunkSamples = Math.round(chunkSeconds * SAMPLE_RATE);
    this.onChunk = onChunk;
    this.onLevel = onLevel;
    this.parts = [];
    this.filled = 0;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        channelCount: 1,
        echoCancellation: this.processing,
        noiseSuppression: this.processing,
        autoGainControl: this.processing,
      },
    });
    this.context = new AudioContext({ sampleRate: SAMPLE_RATE });
    await this.context.audioWorklet.addModule(new URL("./pcm-worklet.js", import.meta.url));
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "drt-pcm-capture");
    this.node.port.onmessage = (event) => this.#take(event.data);
    this.source.connect(this.node);
    // A node is only rendered while connected towards the destination; its output is
    // silence (the worklet writes none), so nothing is played back.
    this.node.connect(this.context.destination);
  }

  /** Stop capturing; the audio captured since the last chunk goes out as a last chunk. */
  async stop() {
    this.source?.disconnect();
    this.node?.disconnect();
    this.node?.port.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    await this.context?.close();
    this.#flush();
  }

  #take({ pcm, peak }) {
    this.onLevel(peak);
    this.parts.push(pcm);
    this.filled += pcm.length;
    if (this.filled >= this.chunkSamples) this.#flush();
  }

  #flush() {
    if (this.filled === 0) return;
    const chunk = new Int16Array(this.filled);
    let at = 0;
    for (const part of this.parts) {
      chunk.set(part, at);
      at += part.length;
    }
    this.parts = [];
    this.filled = 0;
    this.onChunk(chunk);
  }
}
