// AudioWorklet: the microphone as 16-bit PCM. The AudioContext runs at 16 kHz (the
// browser resamples the device), so each render quantum is 128 samples of 16 kHz audio;
// they are batched to ~100 ms and posted to the page with their peak level.

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate / 10);
    this.batch = new Int16Array(this.size);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.peak = Math.max(this.peak, Math.abs(s));
      this.batch[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.size) {
        // the buffer is handed over (transferred): a new one for the next batch
        this.port.postMessage({ pcm: this.batch, peak: this.peak }, [this.batch.buffer]);
        this.batch = new Int16Array(this.size);
        this.filled = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}

registerProcessor("drt-pcm-capture", PcmCapture);
