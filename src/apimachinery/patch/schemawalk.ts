// Schema walking for patch and server-side apply: given the schema vocabulary
// (src/api/schema/types.ts) and a location in an object, answer "what is here?" —
// a struct, a map, a list with a merge key / list type, or a scalar. Strategic merge
// patch reads patchMergeKey/patchStrategy
// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/),
// server-side apply reads listType/listMapKeys/map-type
// (https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy).
// A location the schema does not describe (free-form JSON, unknown type) is "unknown":
// maps merge, lists are atomic, as upstream does for deduced types.

import type { FieldDef, FieldType, SchemaRegistry, TypeDef } from "../../api/schema/types.js";

export type ArrayType = Extract<FieldType, { kind: "array" }>;

/** What the schema says about one location: its declared type and, for struct fields, the FieldDef. */
export interface Slot {
  type?: FieldType;
  field?: FieldDef;
}

export type Shape =
  | { kind: "struct"; def: TypeDef; atomic: boolean }
  | { kind: "map"; value?: FieldType; atomic: boolean }
  | { kind: "list"; array: ArrayType }
  | { kind: "scalar" }
  | { kind: "unknown" };

export function rootSlot(typeName: string): Slot {
  return { type: { kind: "ref", type: typeName } };
}

export function resolve(schema: SchemaRegistry, slot: Slot): Shape {
  const t = slot.type;
  if (!t) return { kind: "unknown" };
  switch (t.kind) {
    case "ref": {
      const def = schema.type(t.type);
      if (!def) return { kind: "unknown" };
      return { kind: "struct", def, atomic: def.atomic === true || slot.field?.mapType === "atomic" };
    }
    case "map":
      return { kind: "map", value: t.value, atomic: slot.field?.mapType === "atomic" };
    case "array":
      return { kind: "list", array: t };
    case "any":
      return { kind: "unknown" };
    default:
      return { kind: "scalar" };
  }
}

/** The slot of `key` inside an object at `parent` (a struct field or a map value). */
export function childSlot(schema: SchemaRegistry, parent: Slot, key: string): Slot {
  const shape = resolve(schema, parent);
  if (shape.kind === "struct") {
    const field = shape.def.fields.find((f) => f.name === key);
    return field ? { type: field.type, field } : {};
  }
  if (shape.kind === "map") return shape.value ? { type: shape.value } : {};
  return {};
}

/** The slot of an element of the list at `parent`. */
export function itemSlot(schema: SchemaRegistry, parent: Slot): Slot {
  const shape = resolve(schema, parent);
  return shape.kind === "list" ? { type: shape.array.items } : {};
}

/** Strategic-merge-patch strategy words of a location ("merge", "replace", "retainKeys"). */
export function patchStrategies(slot: Slot): string[] {
  const s = slot.type?.kind === "array" ? (slot.type.patchStrategy ?? slot.field?.patchStrategy) : slot.field?.patchStrategy;
  return s ? s.split(",").map((w) => w.trim()).filter(Boolean) : [];
}

/**
 * Server-side-apply list semantics. When the schema gives no listType we derive it the
 * way upstream's published OpenAPI does for built-in types: a merge list with a merge
 * key is a map list keyed by it, a merge list of scalars is a set, anything else atomic.
 */
export function listSemantics(schema: SchemaRegistry, array: ArrayType): { type: "atomic" } | { type: "set" } | { type: "map"; keys: string[] } {
  if (array.listType === "map") {
    const keys = array.listMapKeys?.length ? array.listMapKeys : array.patchMergeKey ? [array.patchMergeKey] : [];
    return keys.length ? { type: "map", keys } : { type: "atomic" };
  }
  if (array.listType === "set") return { type: "set" };
  if (array.listType === "atomic") return { type: "atomic" };
  const merge = (array.patchStrategy ?? "").split(",").includes("merge");
  if (!merge) return { type: "atomic" };
  if (array.patchMergeKey) return { type: "map", keys: [array.patchMergeKey] };
  const item = resolve(schema, { type: array.items });
  return item.kind === "scalar" ? { type: "set" } : { type: "atomic" };
}

// ---- JSON value helpers shared by the patch modules ----

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** JSON with object keys sorted, so equal values serialise identically (used for path keys). */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(",")}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Sets an own property even for keys like "__proto__" (patch bodies are untrusted JSON). */
export function setKey(o: JsonObject, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

export function hasKey(o: JsonObject, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** o[k] only when k is o's own key (so "__proto__" never reaches Object.prototype). */
export function getOwn(o: JsonObject, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}
