// AudioWorklet: the capture as 16-bit PCM. The AudioContext runs at 16 kHz (the browser
// resamples the devices), so each render quantum is 128 frames of 16 kHz audio. With
// `channels: 2` (processorOptions) the input's channels are interleaved, frame by frame,
// as the service's pcm_s16le expects. Frames are batched to ~100 ms and posted to the
// page with each channel's peak level.

class PcmCapture extends AudioWorkletProcessor {
  constructor({ processorOptions = {} } = {}) {
    super();
    this.channels = processorOptions.channels ?? 1;
    this.frames = Math.round(sampleRate / 10);
    this.#fresh();
  }

  #fresh() {
    this.batch = new Int16Array(this.frames * this.channels);
    this.filled = 0; // frames
    this.peaks = new Array(this.channels).fill(0);
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      for (let c = 0; c < this.channels; c++) {
        // a channel the input lacks (a stream not connected yet) is silence
        const s = Math.max(-1, Math.min(1, input[c] ? input[c][i] : 0));
        this.peaks[c] = Math.max(this.peaks[c], Math.abs(s));
        this.batch[this.filled * this.channels + c] = s < 0 ? s * 0x8000 : s * 0x7fff;
      }
      if (++this.filled === this.frames) {
        // the buffer is handed over (transferred): a new one for the next batch
        this.port.postMessage({ pcm: this.batch, peaks: this.peaks }, [this.batch.buffer]);
        this.#fresh();
      }
    }
    return true;
  }
}

registerProcessor("drt-pcm-capture", PcmCapture);
