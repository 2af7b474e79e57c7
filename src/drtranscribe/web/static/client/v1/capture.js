// Audio capture: getUserMedia -> AudioWorklet -> 16 kHz PCM16, cut into chunks of
// `chunkSeconds`. One channel (the microphone), or two: the microphone on channel 0 and
// another stream (`other`: a meeting tab's audio, for the Chrome extension) on channel 1,
// interleaved. `onChunk(Int16Array)` gets each chunk, `onLevel(peak, peaks)` the levels
// (0..1; `peaks` per channel).

export const SAMPLE_RATE = 16000;

export class MicCapture {
  // The browser's voice processing (noise suppression, gain control, echo cancellation)
  // is made for listeners and distorts speech for recognition: off unless asked for.
  constructor({ chunkSeconds = 5, onChunk, onLevel = () => {}, processing = false, other = null }) {
    this.processing = processing;
    this.other = other;
    this.channels = other ? 2 : 1;
    this.chunkFrames = Math.round(chunkSeconds * SAMPLE_RATE);
    this.onChunk = onChunk;
    this.onLevel = onLevel;
    this.parts = [];
    this.filled = 0; // frames
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
    this.node = new AudioWorkletNode(this.context, "drt-pcm-capture", {
      channelCount: this.channels,
      channelCountMode: "explicit",
      channelInterpretation: "discrete",
      processorOptions: { channels: this.channels },
    });
    this.node.port.onmessage = (event) => this.#take(event.data);
    this.sources = [this.stream, this.other]
      .filter(Boolean)
      .map((stream) => this.context.createMediaStreamSource(stream));
    if (this.channels === 1) {
      this.sources[0].connect(this.node);
    } else {
      // each stream mixed down to one channel, then placed on its own: mic 0, other 1
      this.merger = this.context.createChannelMerger(2);
      this.sources.forEach((source, channel) => {
        const mono = this.context.createGain();
        mono.channelCount = 1;
        mono.channelCountMode = "explicit";
        source.connect(mono).connect(this.merger, 0, channel);
      });
      this.merger.connect(this.node);
    }
    // A node is only rendered while connected towards the destination; its output is
    // silence (the worklet writes none), so nothing is played back.
    this.node.connect(this.context.destination);
  }

  /** Stop capturing; the audio captured since the last chunk goes out as a last chunk. */
  async stop() {
    for (const source of this.sources ?? []) source.disconnect();
    this.node?.disconnect();
    this.node?.port.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    await this.context?.close();
    this.#flush();
  }

  #take({ pcm, peaks }) {
    this.onLevel(Math.max(...peaks), peaks);
    this.parts.push(pcm);
    this.filled += pcm.length / this.channels;
    if (this.filled >= this.chunkFrames) this.#flush();
  }

  #flush() {
    if (this.filled === 0) return;
    const chunk = new Int16Array(this.filled * this.channels);
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
