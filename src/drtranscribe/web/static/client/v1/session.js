// One consultation streamed to the service: the protocol (docs/protocol.md) over a
// WebSocket, with reconnect and resume. Its input is audio chunks (`push`) or, with
// `input: "captions"`, a meeting's live captions (`pushCaption`). An input is sent only
// after the previous one was acked, so the service's numbering and ours agree; every
// input stays in the outbox until its ack, and one not acked within `ackTimeoutMs` means the connection died without
// a word: it is dropped and the session resumed on a new one. One tab owns a session (a
// Web Lock): another tab that finds it kept ends up "elsewhere" and leaves it alone.
// Events: "state" ({state, bufferedSeconds}), "message" (every server message), "error"
// ({code, message}). States: connecting, live, reconnecting, resumed, offline,
// needs_key (resuming needs the API key again: `authorize(key)`), finished, refused,
// elsewhere.

import { CaptionContinuations } from "./caption-continuation.js";
import { MemoryOutbox } from "./outbox.js";

// Refusals a reconnect cannot change: the session is over for this client.
const REFUSALS = new Set(["origin_not_allowed", "session_taken_over", "session_not_found"]);
const ENDED = new Set(["finished", "refused", "elsewhere"]);
const TOKEN_MARGIN_MS = 20_000; // renew a stream token this long before it expires

export class StreamSession extends EventTarget {
  constructor({
    baseUrl = location.origin,
    apiKey = null,
    outbox = new MemoryOutbox(),
    input = "audio", // or "captions"
    speakers = {}, // captions: roles by display name, e.g. { "Dr. Rivera": "clinician" }
    sampleRate = 16000,
    channelRoles = null, // two-channel audio: e.g. ["clinician", "patient"]
    language = "en",
    metadata = {},
    ackTimeoutMs = 30_000,
  } = {}) {
    super();
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.apiKey = apiKey;
    this.outbox = outbox;
    this.input = input;
    this.speakers = speakers;
    this.control = new Map(); // type -> the latest control message not yet sent
    this.continuations = new CaptionContinuations(); // captions finalised under us
    this.sentCaption = null; // the caption in flight, as routed
    this.sampleRate = sampleRate;
    this.channelRoles = channelRoles;
    this.channels = channelRoles ? channelRoles.length : 1;
    this.ackTimeoutMs = ackTimeoutMs;
    this.language = language;
    this.metadata = metadata;
    this.state = "idle";
    this.sessionId = null;
    this.resumeToken = null;
    this.grant = null;
    this.nextSeq = 0; // the service's next seq, as it last said
    this.nextLocal = 0; // the seq the next captured chunk gets
    this.inflight = null; // seq sent and not answered, "stop", or null
    this.stopping = false;
    this.attempt = 0;
    this.pushes = Promise.resolve(); // chunks are stored one after another, in order
    this.final = new Promise((resolve, reject) => {
      this.resolveFinal = resolve;
      this.rejectFinal = reject;
    });
    this.final.catch(() => {}); // a refusal is also reported through "state"
  }

  /** Reserve a session (a stream token: the API key never goes into a URL) and connect. */
  async open() {
    this.grant = await this.#requestGrant("/v1/sessions");
    this.sessionId = this.grant.session_id;
    await this.#own();
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
    const session = new StreamSession({
      ...options,
      baseUrl: record.baseUrl,
      channelRoles: record.channelRoles ?? null,
      input: record.input ?? "audio",
    });
    session.grant = record.grant;
    session.sessionId = record.sessionId;
    session.resumeToken = record.resumeToken;
    if (!(await session.#own())) {
      session.#setState("elsewhere"); // another tab streams it: its outbox is not ours
      return session;
    }
    await session.outbox.bind(record.sessionId);
    session.nextLocal = Math.max(record.nextLocal ?? 0, session.outbox.lastSeq + 1);
    session.#connect();
    return session;
  }

  /** The API key, for a session that needs it again to resume (state "needs_key"). */
  authorize(apiKey) {
    this.apiKey = apiKey;
    if (this.state === "needs_key") this.#connect();
  }

  /** A captured chunk (Int16Array of PCM at `sampleRate`, channels interleaved); kept
   *  until acked. */
  push(pcm) {
    return this.#enqueue(pcm.buffer.slice(0), pcm.length / this.channels / this.sampleRate);
  }

  /** A caption as the meeting shows it now ({caption_id, speaker, text, start?, end?,
   *  final?}: a known caption_id revises it); kept until acked. */
  pushCaption(caption) {
    return this.#enqueue({ ...caption }, 0);
  }

  /** Name speakers' roles (captions: by display name); the service re-labels the past. */
  setSpeakers(roles) {
    this.speakers = { ...this.speakers, ...roles };
    this.#control({ type: "speakers", roles });
  }

  /** Tell the service how the input source is doing ("ok", "captions_off",
   *  "captions_not_found", "captions_quiet"): it logs and counts the problems. */
  reportSource(status, quietSeconds = null) {
    this.#control({ type: "source_status", status, quiet_s: quietSeconds });
  }

  #control(message) {
    this.control.set(message.type, message); // the latest of each kind, until sent
    this.#flushControl();
  }

  #flushControl() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !["live", "resumed"].includes(this.state)) return;
    for (const message of this.control.values()) ws.send(JSON.stringify(message));
    this.control.clear();
  }

  #enqueue(payload, seconds) {
    if (ENDED.has(this.state) || this.stopping) return Promise.resolve(false);
    // one failed write must not stop every later input: the chain goes on after it
    this.pushes = this.pushes.catch(() => {}).then(async () => {
      const seq = this.nextLocal; // numbered only once it is safely stored
      await this.outbox.add(seq, payload, seconds);
      this.nextLocal = seq + 1;
      await this.#save();
      this.#emitState();
      this.#pump();
      return true;
    });
    return this.pushes.catch((error) => {
      this.dispatchEvent(new CustomEvent("error", { detail: { code: "outbox", message: String(error) } }));
      return false;
    });
  }

  /** Finish once every chunk is acked; resolves with the service's `final`. */
  async stop() {
    await this.pushes.catch(() => {});
    this.stopping = true;
    this.#pump();
    return this.final;
  }

  get bufferedSeconds() {
    return this.outbox.bufferedSeconds;
  }

  async #requestGrant(path) {
    const headers = { "content-type": "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const response = await fetch(`${this.baseUrl}${path}`, { method: "POST", headers });
    if (!response.ok) {
      const error = new Error(`the service refused a stream token (${response.status})`);
      error.status = response.status;
      throw error;
    }
    const grant = await response.json();
    grant.expires_at = Date.now() + grant.expires_in_s * 1000;
    return grant;
  }

  /** This tab's hold on the session (held until it ends); false if another tab has it. */
  #own() {
    if (!navigator.locks) return Promise.resolve(true);
    return new Promise((resolve) => {
      const name = `drtranscribe-session:${this.sessionId}`;
      navigator.locks.request(name, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        if (!lock) return undefined;
        return new Promise((release) => (this.releaseLock = release));
      });
    });
  }

  async #save() {
    if (ENDED.has(this.state)) return;
    await this.outbox.saveSession({
      sessionId: this.sessionId,
      baseUrl: this.baseUrl,
      grant: this.grant,
      resumeToken: this.resumeToken,
      nextLocal: this.nextLocal,
      channelRoles: this.channelRoles,
      input: this.input,
    });
  }

  #setState(state) {
    if (ENDED.has(this.state)) return; // an ended session stays ended
    this.state = state;
    if (ENDED.has(state)) this.releaseLock?.();
    this.#emitState();
  }

  #emitState() {
    const detail = { state: this.state, bufferedSeconds: this.outbox.bufferedSeconds };
    this.dispatchEvent(new CustomEvent("state", { detail }));
  }

  async #connect() {
    if (ENDED.has(this.state)) return;
    this.#setState(this.resumeToken ? "reconnecting" : "connecting");
    if (this.resumeToken && !(this.grant?.expires_at > Date.now() + TOKEN_MARGIN_MS)) {
      try {
        this.grant = await this.#requestGrant(`/v1/sessions/${this.sessionId}/token`);
        await this.#save();
      } catch (error) {
        if (error.status === 404) this.#end(error); // the service no longer has it
        else if ([401, 403].includes(error.status)) this.#setState("needs_key"); // kept
        else this.#retryLater(); // offline, or the service is restarting: try again
        return;
      }
    }
    const url = new URL(this.grant.stream_path, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.inflight = null;
    ws.onopen = () => {
      ws.send(JSON.stringify(this.resumeToken ? this.#resumeMessage() : this.#startMessage()));
    };
    ws.onmessage = (event) => this.#receive(ws, JSON.parse(event.data));
    ws.onclose = (event) => this.#closed(ws, event);
  }

  #resumeMessage() {
    return { type: "resume", session_id: this.sessionId, resume_token: this.resumeToken };
  }

  #startMessage() {
    const common = { type: "start", language: this.language, metadata: this.metadata };
    if (this.input === "captions") return { ...common, input: "captions", speakers: this.speakers };
    const audio = { encoding: "pcm_s16le", sample_rate: this.sampleRate, channels: this.channels };
    if (this.channelRoles) audio.channel_roles = this.channelRoles;
    return { ...common, audio };
  }

  async #receive(ws, message) {
    if (message.type === "final") {
      this.#setState("finished"); // before anything awaits: the close that follows is expected
      this.resolveFinal(message);
      this.dispatchEvent(new CustomEvent("message", { detail: message }));
      await this.outbox.forget(); // nothing to resume: no audio or tokens left behind
      return;
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
    switch (message.type) {
      case "session":
        this.resumeToken = message.resume_token;
        this.nextSeq = message.next_seq;
        this.attempt = 0;
        await this.#storedUpTo(message.next_seq); // inputs stored whose ack was lost
        await this.outbox.deleteBelow(message.next_seq);
        await this.#save();
        this.#setState(message.resumed ? "resumed" : "live");
        this.#flushControl();
        break;
      case "ack":
        if (message.seq !== this.inflight) break;
        clearTimeout(this.ackTimer);
        if (this.sentCaption) this.continuations.stored(this.sentCaption);
        await this.outbox.delete(message.seq);
        this.nextSeq = message.seq + 1;
        this.inflight = null;
        this.attempt = 0;
        if (this.state !== "live") this.#setState("live");
        else this.#emitState();
        break;
      case "error":
        this.#error(ws, message);
        break;
      case "warning":
        if (message.code === "server_restarting") this.#setState("reconnecting");
        break;
    }
    this.#pump();
  }

  #error(ws, message) {
    this.dispatchEvent(new CustomEvent("error", { detail: message }));
    if (REFUSALS.has(message.code)) {
      this.#end(new Error(message.message));
      return;
    }
    if (message.seq === null || message.seq === undefined || message.seq !== this.inflight) return;
    if (message.code === "caption_final") {
      this.#afterFinal(ws, message.seq); // the service finalised that caption meanwhile
      return;
    }
    if (!message.retryable) {
      // A chunk the service will never take (it says why): stop rather than loop on it.
      this.#end(new Error(`chunk ${message.seq} refused: ${message.code}`));
      return;
    }
    this.inflight = "waiting";
    const backoff = Math.min(2, 0.25 * 2 ** this.attempt++);
    const wait = Math.max(message.retry_after_s || 0, backoff) * 1000;
    setTimeout(() => {
      if (ws !== this.ws || this.inflight !== "waiting") return; // superseded by a reconnect
      this.inflight = null;
      this.#pump();
    }, wait);
  }

  /** A revision of a caption the service already made final: its words go on as a
   *  continuation caption (caption-continuation.js), under the same number. */
  #afterFinal(ws, seq) {
    this.continuations.refused(this.sentCaption, seq);
    this.inflight = null;
    if (ws === this.ws) this.#pump();
  }

  async #end(reason) {
    this.#setState("refused");
    this.rejectFinal(reason);
    this.ws?.close();
    await this.outbox.forget();
  }

  async #pump() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.inflight !== null) return;
    if (!["live", "resumed"].includes(this.state)) return;
    const next = await this.outbox.get(this.nextSeq);
    if (this.inflight !== null || ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    if (next) {
      const seq = (this.inflight = this.nextSeq);
      if (next.bytes instanceof ArrayBuffer) {
        this.sentCaption = null;
        ws.send(next.bytes);
      } else {
        this.sentCaption = this.continuations.route(next.bytes);
        ws.send(JSON.stringify({ type: "caption", seq, ...this.sentCaption }));
      }
      clearTimeout(this.ackTimer);
      this.ackTimer = setTimeout(() => {
        if (ws === this.ws && this.inflight === seq) this.#abandon(ws);
      }, this.ackTimeoutMs);
    } else if (this.stopping && this.outbox.size === 0) {
      this.inflight = "stop";
      ws.send(JSON.stringify({ type: "stop" }));
    }
  }

  /** A resumed session stored every input before `nextSeq` (some acks were lost). */
  async #storedUpTo(nextSeq) {
    if (this.input !== "captions") return;
    for (let seq = this.nextSeq; seq < nextSeq; seq++) {
      const caption = (await this.outbox.get(seq))?.bytes;
      if (caption) this.continuations.stored(this.continuations.route(caption));
    }
  }

  /** A connection that stopped answering (no ack, no close: a dead network path): left
   *  behind, and the session resumed on a new one. */
  #abandon(ws) {
    this.ws = null;
    ws.onclose = null;
    ws.close(4000, "no ack");
    const detail = { code: "ack_timeout", message: "the service stopped answering; reconnecting" };
    this.dispatchEvent(new CustomEvent("error", { detail }));
    this.#retryLater();
  }

  #closed(ws, event) {
    if (ws !== this.ws || ENDED.has(this.state)) return;
    if (event.code === 1008 && !this.resumeToken) {
      this.#end(new Error("the service refused the stream (1008)"));
      return;
    }
    if (event.code === 4001) {
      this.#end(new Error("this session was resumed elsewhere"));
      return;
    }
    this.#retryLater();
  }

  /** A dropped connection, a restarting instance, an expired token: resume, with backoff. */
  #retryLater() {
    this.attempt += 1;
    const delay = Math.min(5000, 250 * 2 ** (this.attempt - 1)) * (0.5 + Math.random());
    this.#setState(navigator.onLine === false ? "offline" : "reconnecting");
    if (this.resumeToken) this.grant = { ...this.grant, expires_at: 0 }; // renew on the way
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
