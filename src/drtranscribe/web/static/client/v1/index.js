// drTranscribe browser client, v1: import from "/client/v1/index.js".
export { EMPTY_NOTE } from "./empty-note.js";
export { applyPatch, PatchError } from "./jsonpatch.js";
export { LiveModel } from "./live-model.js";
export { MicCapture, SAMPLE_RATE } from "./capture.js";
export { IdbOutbox } from "./idb-outbox.js";
export { MemoryOutbox } from "./outbox.js";
export { CaptionContinuations, wordsBeyond } from "./caption-continuation.js";
export { StreamSession } from "./session.js";
