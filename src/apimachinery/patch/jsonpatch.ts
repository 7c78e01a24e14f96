// JSON Patch (RFC 6902, https://www.rfc-editor.org/rfc/rfc6902) as the API server
// applies `application/json-patch+json` bodies
// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#use-a-json-merge-patch-to-update-a-deployment).
// Paths are JSON Pointers (RFC 6901: `~1` is "/", `~0` is "~", "-" appends to an array).
// A malformed body is a 400; an operation that does not apply (missing path, failed
// `test`) is a 422 "the server rejected our request due to an error in our request"
// carrying the detail as its cause, which is what upstream answers.

import { BadRequest, RequestEntityTooLarge, StatusError } from "../errors.js";
import { clone, deepEqual, hasKey, isObject, setKey, type JsonObject } from "./schemawalk.js";

/** Upstream's cap on operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** The 422 upstream returns when a well-formed patch cannot be applied to the object. */
export class JsonPatchRejected extends StatusError {
  constructor(readonly detail: string) {
    super(422, "Invalid", "the server rejected our request due to an error in our request", {
      causes: [{ reason: "UnexpectedServerResponse", message: detail }],
    });
  }
}

type Op =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

const OPS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

function decode(ops: unknown): Op[] {
  if (!Array.isArray(ops)) throw new BadRequest("invalid JSON patch: the body must be a JSON array of operations");
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new RequestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  }
  return ops.map((o, i) => {
    const where = `invalid JSON patch: operation ${i}`;
    if (!isObject(o)) throw new BadRequest(`${where}: must be an object`);
    if (typeof o.op !== "string") throw new BadRequest(`${where}: missing "op"`);
    if (!OPS.has(o.op)) throw new BadRequest(`${where}: unexpected op ${JSON.stringify(o.op)}`);
    if (typeof o.path !== "string") throw new BadRequest(`${where}: ${o.op} operation is missing "path"`);
    if ((o.op === "add" || o.op === "replace" || o.op === "test") && !hasKey(o, "value")) {
      throw new BadRequest(`${where}: ${o.op} operation is missing "value"`);
    }
    if ((o.op === "move" || o.op === "copy") && typeof o.from !== "string") {
      throw new BadRequest(`${where}: ${o.op} operation is missing "from"`);
    }
    return o as unknown as Op;
  });
}

/** RFC 6901 pointer → reference tokens. */
function parsePointer(ptr: string, op: string): string[] {
  if (ptr === "") return [];
  if (!ptr.startsWith("/")) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: invalid path: ${JSON.stringify(ptr)} must start with "/"`);
  return ptr
    .slice(1)
    .split("/")
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: invalid escape in path ${JSON.stringify(ptr)}`);
      return t.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function arrayIndex(token: string, arr: unknown[], forInsert: boolean, op: string, path: string): number {
  if (token === "-" && forInsert) return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: invalid array index ${JSON.stringify(token)} in ${path}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) {
    throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: index out of bounds: ${path}`);
  }
  return i;
}

/** Resolves the container holding the last token; throws "missing path" when a parent is absent. */
function parentOf(doc: unknown, tokens: string[], op: string, path: string): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t) || Number(t) >= cur.length) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: doc is missing path: ${path}`);
      cur = cur[Number(t)];
    } else if (isObject(cur) && hasKey(cur, t)) {
      cur = cur[t];
    } else {
      throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: doc is missing path: ${path}`);
    }
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: doc is missing path: ${path}`);
  return cur;
}

function get(doc: unknown, path: string, op: string): unknown {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent, false, op, path)];
  if (!hasKey(parent as JsonObject, last)) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: doc is missing key: ${path}`);
  return (parent as JsonObject)[last];
}

function add(doc: unknown, path: string, value: unknown, op = "add"): unknown {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent, true, op, path), 0, value);
  else setKey(parent as JsonObject, last, value);
  return doc;
}

function remove(doc: unknown, path: string, op = "remove"): unknown {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: cannot remove the whole document`);
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent, false, op, path), 1);
  } else {
    if (!hasKey(parent as JsonObject, last)) throw new JsonPatchRejected(`jsonpatch ${op} operation does not apply: doc is missing key: ${path}`);
    delete (parent as JsonObject)[last];
  }
  return doc;
}

/**
 * Applies RFC 6902 operations in order to a copy of `doc` (the input is never mutated).
 * Throws BadRequest for a malformed body and JsonPatchRejected (422) when an operation
 * does not apply, including a failed `test`.
 */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  const list = decode(ops);
  let out = clone(doc);
  for (const o of list) {
    switch (o.op) {
      case "add":
        out = add(out, o.path, clone(o.value));
        break;
      case "remove":
        out = remove(out, o.path);
        break;
      case "replace": {
        get(out, o.path, "replace"); // must exist
        const tokens = parsePointer(o.path, "replace");
        if (tokens.length === 0) {
          out = clone(o.value);
          break;
        }
        const parent = parentOf(out, tokens, "replace", o.path);
        const last = tokens[tokens.length - 1]!;
        if (Array.isArray(parent)) parent[arrayIndex(last, parent, false, "replace", o.path)] = clone(o.value);
        else setKey(parent as JsonObject, last, clone(o.value));
        break;
      }
      case "move": {
        if (o.path !== o.from && o.path.startsWith(o.from + "/")) {
          throw new JsonPatchRejected(`jsonpatch move operation does not apply: cannot move ${o.from} into its own child ${o.path}`);
        }
        const v = get(out, o.from, "move");
        if (o.path === o.from) break;
        out = remove(out, o.from, "move");
        out = add(out, o.path, v, "move");
        break;
      }
      case "copy":
        out = add(out, o.path, clone(get(out, o.from, "copy")), "copy");
        break;
      case "test": {
        let actual: unknown;
        try {
          actual = get(out, o.path, "test");
        } catch (e) {
          if (e instanceof JsonPatchRejected) throw new JsonPatchRejected(`testing value ${o.path} failed: ${e.detail}`);
          throw e;
        }
        if (!deepEqual(actual, o.value)) throw new JsonPatchRejected(`testing value ${o.path} failed: test failed`);
        break;
      }
    }
  }
  return out;
}
