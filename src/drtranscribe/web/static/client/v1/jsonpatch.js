// RFC 6902 JSON Patch, applied to a copy: the service's `note` messages are patches
// against the note's JSON (RFC 6901 pointers). Members an operation does not define
// (the service's `evidence`) are ignored, as RFC 6902 section 4 says.

export class PatchError extends Error {}

function unescape(token) {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

export function parsePointer(pointer) {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`bad JSON pointer: ${pointer}`);
  return pointer.slice(1).split("/").map(unescape);
}

function clone(value) {
  return value === undefined ? undefined : structuredClone(value);
}

function parentOf(doc, tokens) {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (!has(node, token)) throw new PatchError(`path not found: /${tokens.join("/")}`);
    node = node[token];
  }
  return node;
}

/** Does `node` hold `token` itself (an array index, or an object's own member)? */
function has(node, token) {
  if (Array.isArray(node)) return /^(0|[1-9][0-9]*)$/.test(token) && Number(token) < node.length;
  return node !== null && typeof node === "object" && Object.hasOwn(node, token);
}

function get(doc, tokens) {
  let node = doc;
  for (const token of tokens) {
    if (!has(node, token)) throw new PatchError(`path not found: /${tokens.join("/")}`);
    node = node[token];
  }
  return node;
}

function index(array, token, forAdd) {
  if (forAdd && token === "-") return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`bad array index: ${token}`);
  const i = Number(token);
  if (i > array.length || (!forAdd && i === array.length)) {
    throw new PatchError(`array index out of range: ${token}`);
  }
  return i;
}

function add(doc, tokens, value) {
  if (tokens.length === 0) return clone(value);
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(index(parent, last, true), 0, clone(value));
  else if (parent !== null && typeof parent === "object") {
    if (last === "__proto__") throw new PatchError("a member named __proto__ is not allowed");
    parent[last] = clone(value);
  }
  else throw new PatchError(`cannot add under a value: /${tokens.join("/")}`);
  return doc;
}

function remove(doc, tokens) {
  if (tokens.length === 0) return null;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(index(parent, last, false), 1);
  else if (has(parent, last)) delete parent[last];
  else throw new PatchError(`path not found: /${tokens.join("/")}`);
  return doc;
}

function equal(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
}

/** The document after `operations`, which stays unchanged (a copy is patched). */
export function applyPatch(document, operations) {
  let doc = clone(document);
  for (const op of operations) {
    const path = parsePointer(op.path);
    switch (op.op) {
      case "add":
        doc = add(doc, path, op.value);
        break;
      case "remove":
        doc = remove(doc, path);
        break;
      case "replace":
        get(doc, path); // must exist
        if (path.length === 0) doc = clone(op.value);
        else parentOf(doc, path)[path[path.length - 1]] = clone(op.value); // in place
        break;
      case "move": {
        const from = parsePointer(op.from);
        const value = get(doc, from);
        doc = add(remove(doc, from), path, value);
        break;
      }
      case "copy":
        doc = add(doc, path, get(doc, parsePointer(op.from)));
        break;
      case "test":
        if (!equal(get(doc, path), op.value)) throw new PatchError(`test failed: ${op.path}`);
        break;
      default:
        throw new PatchError(`unknown operation: ${op.op}`);
    }
  }
  return doc;
}
