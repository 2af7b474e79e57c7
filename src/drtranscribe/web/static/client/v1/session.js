// One consultation streamed to the service: the protocol (docs/protocol.md) over a
// WebSocket, with reconnect and resume. A chunk is sent only after the previous one was
// acked, so the service's numbering and ours agree; every chunk stays in the outbox until
// its ack. Events: "state" ({state, bufferedSeconds}), "message" (every server message),
// "error" ({code, message}).

import { MemoryOutbox } from "./outbox.js";

const REFUSALS = new Set(["unauthorized", "origin_not_allowed", "session_taken_over"]);

export class StreamSession extends EventTarget {
  constructor({
    baseUrl = location.origin,
    apiKey = null,
    outbox = new MemoryOutbox(),
    sampleRate = 16000,
    language = "en",
    metadata = {},
  } = {}) {
    super();
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.apiKey = apiKey;
    this.outbox = outbox;
    this.sampleRate = sampleRate;
    this.language = language;
    this.metadata = metadata;
    this.state = "idle";
    this.sessionId = null;
    this.resumeToken = null;
    this.grant = null;
    this.nextSeq = 0; // the service's next seq, as it last said
    this.nextLocal = 0; // the seq the next captured chunk gets
    this.inflight = null;
    this.stopping = false;
    this.attempt = 0;
    this.final = new Promise((resolve, reject) => {
      this.resolveFinal = resolve;
      this.rejectFinal = reject;
    });
  }

  /** Reserve a session (a stream token: the API key never goes into a URL) and connect. */
  async open() {
    const headers = { "content-type": "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const response = await fetch(`${this.baseUrl}/v1/sessions`, { method: "POST", headers });
    if (!response.ok) throw new Error(`the service refused a session (${response.status})`);
    this.grant = await response.json();
    this.sessionId = this.grant.session_id;
    await this.outbox.bind(this.sessionId);
    await this.#save();
    this.#connect();
  }

  /**
   * Carry on a session this browser started (a page reload, a crash): `record` is what
   * the outbox saved (`IdbOutbox.unfinished()`); the chunks it kept are sent from the
   * service's `next_seq` on, and new chunks follow them.
   */
  static async resume(record, options) {
    const session = new StreamSession({ ...options, baseUrl: record.baseUrl });
    session.grant = record.grant;
    session.sessionId = record.sessionId;
    session.resumeToken = record.resumeToken;
    await session.outbox.bind(record.sessionId);
    session.nextLocal = Math.max(record.nextLocal ?? 0, session.outbox.lastSeq + 1);
    session.#connect();
    return session;
  }

  async #save() {
    if (this.state === "finished") return;
    await this.outbox.saveSession({
      sessionId: this.sessionId,
      baseUrl: this.baseUrl,
      grant: this.grant,
      resumeToken: this.resumeToken,
      nextLocal: this.nextLocal,
    });
  }

  /** A captured chunk (Int16Array of mono PCM at `sampleRate`). */
  async push(pcm) {
    const seq = this.nextLocal++;
    await this.outbox.add(seq, pcm.buffer.slice(0), pcm.length / this.sampleRate);
    await this.#save();
    this.#emitState();
    this.#pump();
  }

  /** Finish once every chunk is acked; resolves with the service's `final`. */
  stop() {
    this.stopping = true;
    this.#pump();
    return this.final;
  }

  get bufferedSeconds() {
    return this.outbox.bufferedSeconds;
  }

  #setState(state) {
    this.state = state;
    this.#emitState();
  }

  #emitState() {
    const detail = { state: this.state, bufferedSeconds: this.outbox.bufferedSeconds };
    this.dispatchEvent(new CustomEvent("state", { detail }));
  }

  #connect() {
    const url = new URL(this.grant.stream_path, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.#setState(this.resumeToken ? "reconnecting" : "connecting");
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.inflight = null;
    ws.onopen = () => {
      const hello = this.resumeToken
        ? { type: "resume", session_id: this.sessionId, resume_token: this.resumeToken }
        : {
            type: "start",
            audio: { encoding: "pcm_s16le", sample_rate: this.sampleRate, channels: 1 },
            language: this.language,
            metadata: this.metadata,
          };
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => this.#receive(JSON.parse(event.data));
    ws.onclose = (event) => this.#closed(ws, event);
  }

  async #receive(message) {
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
    switch (message.type) {
      case "session":
        this.resumeToken = message.resume_token;
        this.nextSeq = message.next_seq;
        await this.#save();
        this.attempt = 0;
        await this.outbox.deleteBelow(message.next_seq);
        this.#setState(message.resumed ? "resumed" : "live");
        break;
      case "ack":
        await this.outbox.delete(message.seq);
        this.nextSeq = message.seq + 1;
        this.inflight = null;
        this.attempt = 0;
        if (this.state !== "live") this.#setState("live");
        else this.#emitState();
        break;
      case "error":
        this.#error(message);
        break;
      case "warning":
        if (message.code === "server_restarting") this.#setState("reconnecting");
        break;
      case "final":
        await this.outbox.forget(); // nothing to resume: no audio or tokens left behind
        this.#setState("finished");
        this.resolveFinal(message);
        return;
    }
    this.#pump();
  }

  #error(message) {
    this.dispatchEvent(new CustomEvent("error", { detail: message }));
    if (message.seq !== null && message.seq !== undefined && message.seq === this.inflight) {
      this.inflight = "waiting";
      const wait = Math.max(message.retry_after_s || 0, message.retryable ? 0.5 : 0) * 1000;
      setTimeout(() => {
        this.inflight = null;
        this.#pump();
      }, wait);
    }
    if (REFUSALS.has(message.code)) {
      this.refused = message.code;
      this.#setState("refused");
      this.rejectFinal(new Error(message.message));
    }
  }

  async #pump() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.inflight !== null) return;
    if (!["live", "resumed"].includes(this.state)) return;
    const next = await this.outbox.get(this.nextSeq);
    if (this.inflight !== null || ws !== this.ws) return;
    if (next) {
      this.inflight = this.nextSeq;
      ws.send(next.bytes);
    } else if (this.stopping && this.outbox.size === 0) {
      this.inflight = "stop";
      ws.send(JSON.stringify({ type: "stop" }));
    }
  }

  #closed(ws, event) {
    if (ws !== this.ws || this.state === "finished" || this.state === "refused") return;
    if (event.code === 1008 || event.code === 4001) {
      this.#setState("refused");
      this.rejectFinal(new Error(`the service closed the stream (${event.code})`));
      return;
    }
    // A dropped connection, a restarting instance: resume, with backoff (max 5 s).
    this.attempt += 1;
    const delay = Math.min(5000, 250 * 2 ** (this.attempt - 1)) * (0.5 + Math.random());
    this.#setState(navigator.onLine === false ? "offline" : "reconnecting");
    this.retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
