// The outbox in IndexedDB: chunks not yet acked survive a page reload or a browser crash,
// and so does what is needed to resume their session (its id, resume token and stream
// token). A reloaded page finds the unfinished session with `IdbOutbox.unfinished()`.

const DB_NAME = "drtranscribe";
const CHUNKS = "chunks"; // key [sessionId, seq] -> { sessionId, seq, bytes, seconds }
const SESSIONS = "sessions"; // key sessionId -> what resuming it needs (until it finishes)

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb() {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => {
    req.result.createObjectStore(CHUNKS, { keyPath: ["sessionId", "seq"] });
    req.result.createObjectStore(SESSIONS, { keyPath: "sessionId" });
  };
  return request(req);
}

export class IdbOutbox {
  static async open() {
    const outbox = new IdbOutbox(await openDb());
    return outbox;
  }

  /** The newest session that was not finished (a reload mid-visit), or null. */
  static async unfinished() {
    const db = await openDb();
    const all = await request(db.transaction(SESSIONS).objectStore(SESSIONS).getAll());
    db.close();
    return all.sort((a, b) => b.savedAt - a.savedAt)[0] ?? null;
  }

  constructor(db) {
    this.db = db;
    this.sessionId = null;
    this.meta = new Map(); // seq -> seconds, mirrored for size and bufferedSeconds
  }

  /** Bind to a session; what it kept (after a reload) is counted again. */
  async bind(sessionId) {
    this.sessionId = sessionId;
    const range = IDBKeyRange.bound([sessionId, 0], [sessionId, Infinity]);
    const kept = await request(this.db.transaction(CHUNKS).objectStore(CHUNKS).getAll(range));
    this.meta = new Map(kept.map((c) => [c.seq, c.seconds]));
  }

  async saveSession(record) {
    const tx = this.db.transaction(SESSIONS, "readwrite");
    await request(tx.objectStore(SESSIONS).put({ ...record, savedAt: Date.now() }));
  }

  /** The session finished: what this browser kept of it (its resume data) goes. */
  async forget() {
    const tx = this.db.transaction([SESSIONS, CHUNKS], "readwrite");
    tx.objectStore(SESSIONS).delete(this.sessionId);
    const range = IDBKeyRange.bound([this.sessionId, 0], [this.sessionId, Infinity]);
    tx.objectStore(CHUNKS).delete(range);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    this.meta.clear();
  }

  async add(seq, bytes, seconds) {
    const tx = this.db.transaction(CHUNKS, "readwrite");
    await request(tx.objectStore(CHUNKS).put({ sessionId: this.sessionId, seq, bytes, seconds }));
    this.meta.set(seq, seconds);
  }

  async get(seq) {
    return request(this.db.transaction(CHUNKS).objectStore(CHUNKS).get([this.sessionId, seq]));
  }

  async delete(seq) {
    const tx = this.db.transaction(CHUNKS, "readwrite");
    await request(tx.objectStore(CHUNKS).delete([this.sessionId, seq]));
    this.meta.delete(seq);
  }

  async deleteBelow(seq) {
    if (seq <= 0) return; // nothing below the first (and an empty key range is an error)
    const tx = this.db.transaction(CHUNKS, "readwrite");
    const range = IDBKeyRange.bound([this.sessionId, 0], [this.sessionId, seq], false, true);
    await request(tx.objectStore(CHUNKS).delete(range));
    for (const key of [...this.meta.keys()]) if (key < seq) this.meta.delete(key);
  }

  get size() {
    return this.meta.size;
  }

  get bufferedSeconds() {
    let total = 0;
    for (const seconds of this.meta.values()) total += seconds;
    return total;
  }

  /** The highest seq kept, or -1. */
  get lastSeq() {
    return this.meta.size ? Math.max(...this.meta.keys()) : -1;
  }
}
