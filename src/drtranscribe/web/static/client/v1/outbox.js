// Chunks not yet acked by the service, by sequence number. A chunk leaves the outbox
// only when its ack arrives (or a resumed session says it was stored): nothing recorded
// is lost to a dropped connection. This one keeps them in memory (a reload loses them:
// see idb-outbox.js for the one that survives it).

export class MemoryOutbox {
  constructor() {
    this.chunks = new Map(); // seq -> { bytes, seconds }
  }

  async bind() {}

  async saveSession() {}

  async forget() {
    this.chunks.clear();
  }

  get lastSeq() {
    return this.chunks.size ? Math.max(...this.chunks.keys()) : -1;
  }

  async add(seq, bytes, seconds) {
    this.chunks.set(seq, { bytes, seconds });
  }

  async get(seq) {
    return this.chunks.get(seq);
  }

  async delete(seq) {
    this.chunks.delete(seq);
  }

  /** The service stored everything before `seq` (a resumed session's next_seq). */
  async deleteBelow(seq) {
    for (const key of [...this.chunks.keys()]) if (key < seq) this.chunks.delete(key);
  }

  get size() {
    return this.chunks.size;
  }

  get bufferedSeconds() {
    let total = 0;
    for (const { seconds } of this.chunks.values()) total += seconds;
    return total;
  }
}
