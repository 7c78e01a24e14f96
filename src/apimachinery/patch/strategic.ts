// Strategic merge patch: the `application/strategic-merge-patch+json` patch type that
// kubectl's client-side apply, `kubectl patch` and `rollout restart` send
// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/,
// https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
// Like a JSON merge patch, except lists whose schema says `patchStrategy: merge` merge
// item by item (by `patchMergeKey`, or as a union for scalars), and these directives:
//   `$patch: replace|merge|delete` in a map or a list item,
//   `$retainKeys: [..]` (drop keys of the map not listed),
//   `$deleteFromPrimitiveList/<field>: [..]` (remove values from a scalar list),
//   `$setElementOrder/<field>: [..]` (the order the client wants for a merged list).
// Where the schema knows nothing (free-form JSON) maps merge and lists replace.

import { BadRequest } from "../errors.js";
import type { SchemaRegistry } from "../../api/schema/types.js";
import {
  canonicalJSON,
  childSlot,
  clone,
  deepEqual,
  getOwn,
  hasKey,
  isObject,
  itemSlot,
  patchStrategies,
  resolve,
  rootSlot,
  setKey,
  type JsonObject,
  type Slot,
} from "./schemawalk.js";

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER = "$setElementOrder/";

/** Returned by mergeMap when the map carried `$patch: delete`: the caller drops it. */
const DELETED = Symbol("deleted");

function bad(path: string, detail: string): BadRequest {
  return new BadRequest(`invalid strategic merge patch: ${path || "<root>"}: ${detail}`, [
    { reason: "FieldValueInvalid", field: path, message: detail },
  ]);
}

const join = (path: string, k: string) => (path ? `${path}.${k}` : k);

/**
 * Applies a strategic merge patch to a copy of `doc`, reading merge keys and strategies
 * from the schema starting at `typeName`. Bad directives are a BadRequest naming the field.
 */
export function applyStrategicMergePatch(doc: unknown, patch: unknown, schema: SchemaRegistry, typeName: string): unknown {
  if (!isObject(patch)) throw new BadRequest("invalid strategic merge patch: the body must be a JSON object");
  const base = isObject(doc) ? clone(doc) : {};
  const out = mergeMap(base, patch, schema, rootSlot(typeName), "");
  return out === DELETED ? {} : out;
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: SchemaRegistry, slot: Slot, path: string): JsonObject | typeof DELETED {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === "delete") return DELETED;
    if (directive === "replace") {
      const rest = { ...patch };
      delete rest[DIRECTIVE];
      // Replace = merge into nothing, which still resolves nested directives and nulls.
      const r = mergeMap({}, rest, schema, slot, path);
      return r === DELETED ? {} : r;
    }
    if (directive !== "merge") throw bad(path, `unknown $patch directive ${JSON.stringify(directive)} (want replace, merge or delete)`);
  }

  if (hasKey(patch, RETAIN_KEYS)) {
    const keep = patch[RETAIN_KEYS];
    if (!Array.isArray(keep) || keep.some((k) => typeof k !== "string")) throw bad(join(path, RETAIN_KEYS), "must be a list of strings");
    for (const k of Object.keys(original)) if (!keep.includes(k)) delete original[k];
  }

  // Deletions from primitive lists go first, so a patch can remove and re-add a value.
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM_PRIMITIVE)) continue;
    const field = k.slice(DELETE_FROM_PRIMITIVE.length);
    if (!field) throw bad(join(path, k), "directive names no field");
    if (!Array.isArray(v)) throw bad(join(path, k), "must be a list");
    const cur = getOwn(original, field);
    if (cur === undefined) continue;
    if (!Array.isArray(cur)) throw bad(join(path, field), "$deleteFromPrimitiveList applies only to a list");
    setKey(original, field, cur.filter((x) => !v.some((d) => deepEqual(d, x))));
  }

  // Snapshot of lists before merging: $setElementOrder places server-only items by it.
  const before = new Map<string, unknown[]>();
  for (const k of Object.keys(patch)) {
    if (!k.startsWith(SET_ELEMENT_ORDER)) continue;
    const field = k.slice(SET_ELEMENT_ORDER.length);
    if (!field) throw bad(join(path, k), "directive names no field");
    const cur = getOwn(original, field);
    before.set(field, Array.isArray(cur) ? [...cur] : []);
  }

  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) {
      if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(DELETE_FROM_PRIMITIVE) || k.startsWith(SET_ELEMENT_ORDER)) continue;
      // Free-form data (and types that declare such a field, e.g. JSON schema "$ref") may hold "$" keys.
      if (!isPlainDataKey(schema, slot, k)) throw bad(join(path, k), "unknown directive");
    }
    const p = join(path, k);
    if (v === null) {
      delete original[k];
      continue;
    }
    const cs = childSlot(schema, slot, k);
    if (isObject(v)) {
      const replace = patchStrategies(cs).includes("replace");
      const cur = getOwn(original, k);
      const base = !replace && isObject(cur) ? cur : {};
      const r = mergeMap(base, v, schema, cs, p);
      if (r === DELETED) delete original[k];
      else setKey(original, k, r);
    } else if (Array.isArray(v)) {
      const cur = getOwn(original, k);
      setKey(original, k, mergeList(Array.isArray(cur) ? cur : [], v, schema, cs, p));
    } else {
      setKey(original, k, v);
    }
  }

  for (const [field, prior] of before) {
    const order = patch[SET_ELEMENT_ORDER + field];
    const p = join(path, SET_ELEMENT_ORDER + field);
    if (!Array.isArray(order)) throw bad(p, "must be a list");
    const cur = getOwn(original, field);
    if (!Array.isArray(cur)) continue;
    const cs = childSlot(schema, slot, field);
    if (!patchStrategies(cs).includes("merge")) continue;
    const mergeKey = cs.type?.kind === "array" ? cs.type.patchMergeKey : undefined;
    const idOf = (x: unknown) => canonicalJSON(mergeKey && isObject(x) ? x[mergeKey] : x);
    if (mergeKey) {
      for (const o of order) if (!isObject(o) || !hasKey(o, mergeKey)) throw bad(p, `every element must be a map with the merge key ${JSON.stringify(mergeKey)}`);
    }
    const ordered = new Set(order.map(idOf));
    const patchItems = patch[field];
    if (Array.isArray(patchItems)) {
      for (const it of patchItems) {
        if (isObject(it) && hasKey(it, DIRECTIVE)) continue;
        if (!ordered.has(idOf(it))) throw bad(p, `does not list patch item ${canonicalJSON(mergeKey && isObject(it) ? { [mergeKey]: it[mergeKey] } : it)}`);
      }
    }
    setKey(original, field, reorder(cur, order.map(idOf), prior.map(idOf), idOf));
  }

  return original;
}

function isPlainDataKey(schema: SchemaRegistry, slot: Slot, k: string): boolean {
  const shape = resolve(schema, slot);
  if (shape.kind === "unknown") return true;
  return shape.kind === "struct" && shape.def.fields.some((f) => f.name === k);
}

/**
 * Puts items named in the client's order list in that order, and places the others
 * (items only the server has) among them by their position in the live list: each goes
 * before the first ordered item that came after it in the live list. Relative order of
 * both groups is kept.
 */
function reorder(list: unknown[], order: string[], live: string[], idOf: (x: unknown) => string): unknown[] {
  const pos = new Map(order.map((id, i) => [id, i]));
  const livePos = new Map(live.map((id, i) => [id, i]));
  const ordered = list.filter((x) => pos.has(idOf(x))).sort((a, b) => pos.get(idOf(a))! - pos.get(idOf(b))!);
  const serverOnly = list.filter((x) => !pos.has(idOf(x)));
  const out: unknown[] = [];
  let j = 0;
  for (const s of serverOnly) {
    const si = livePos.get(idOf(s)) ?? Number.POSITIVE_INFINITY;
    while (j < ordered.length && !((livePos.get(idOf(ordered[j])) ?? -1) > si)) out.push(ordered[j++]);
    out.push(s);
  }
  while (j < ordered.length) out.push(ordered[j++]);
  return out;
}

function mergeList(original: unknown[], patch: unknown[], schema: SchemaRegistry, slot: Slot, path: string): unknown[] {
  const strategies = patchStrategies(slot);
  const iSlot = itemSlot(schema, slot);
  const shape = resolve(schema, slot);
  const merge = strategies.includes("merge") && shape.kind === "list";
  if (!merge) return patch.map((x) => cleanItem(x, schema, iSlot, path));

  const mergeKey = shape.array.patchMergeKey;
  if (!mergeKey && patch.every((x) => !isObject(x))) {
    // Union, first occurrence wins, original order first.
    const out: unknown[] = [];
    for (const x of [...original, ...patch]) if (!out.some((y) => deepEqual(x, y))) out.push(clone(x));
    return out;
  }
  if (!mergeKey) return patch.map((x) => cleanItem(x, schema, iSlot, path));

  let result = original.map(clone);
  const plain: JsonObject[] = [];
  let replace = false;
  for (const item of patch) {
    if (!isObject(item)) throw bad(path, `list item ${canonicalJSON(item)} must be a map (merge key ${JSON.stringify(mergeKey)})`);
    const d = item[DIRECTIVE];
    if (d === undefined) {
      plain.push(item);
    } else if (d === "delete") {
      if (!hasKey(item, mergeKey)) throw bad(path, `map: ${canonicalJSON(item)} does not contain declared merge key: ${mergeKey}`);
      result = result.filter((x) => !(isObject(x) && deepEqual(x[mergeKey], item[mergeKey])));
    } else if (d === "replace") {
      replace = true;
    } else if (d === "merge") {
      throw bad(path, "merging lists cannot yet be specified in the patch");
    } else {
      throw bad(path, `unknown $patch directive ${JSON.stringify(d)} (want replace, merge or delete)`);
    }
  }
  if (replace) return plain.map((x) => cleanItem(x, schema, iSlot, path));

  for (const item of plain) {
    if (!hasKey(item, mergeKey)) throw bad(path, `map: ${canonicalJSON(item)} does not contain declared merge key: ${mergeKey}`);
    const p = `${path}[${mergeKey}=${canonicalJSON(item[mergeKey])}]`;
    const i = result.findIndex((x) => isObject(x) && deepEqual(x[mergeKey], item[mergeKey]));
    if (i >= 0) {
      const r = mergeMap(result[i] as JsonObject, item, schema, iSlot, p);
      if (r === DELETED) result.splice(i, 1);
      else result[i] = r;
    } else {
      const r = mergeMap({}, item, schema, iSlot, p);
      if (r !== DELETED) result.push(r);
    }
  }
  return result;
}

/** A list item taken whole from the patch: directives resolved, nulls dropped. */
function cleanItem(x: unknown, schema: SchemaRegistry, iSlot: Slot, path: string): unknown {
  if (!isObject(x)) return clone(x);
  const r = mergeMap({}, x, schema, iSlot, path);
  return r === DELETED ? {} : r;
}
