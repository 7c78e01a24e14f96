// Field management for ordinary writes: metadata.managedFields records, per manager,
// which fields it set (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
// A create/update/patch is an "Update" operation: the writer takes ownership of every
// field it added or changed (old object vs new object), other managers lose those
// fields, every manager loses fields that were removed, and managers left with nothing
// are dropped. This file also holds the pieces server-side apply shares: decoding and
// encoding entries, the object comparison, and the metadata paths upstream never tracks.

import { BadRequest } from "../errors.js";
import type { KObject, ManagedFieldsEntry } from "../types.js";
import type { SchemaRegistry } from "../../api/schema/types.js";
import { FieldSet, fieldToken, listItemToken, type Path } from "./fieldset.js";
import {
  childSlot,
  clone,
  deepEqual,
  getOwn,
  isObject,
  itemSlot,
  listSemantics,
  resolve,
  rootSlot,
  type Slot,
} from "./schemawalk.js";

/** One manager's record, decoded. */
export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Paths upstream strips from every manager's set (exact members, not subtrees). */
export const STRIPPED_FIELDS: FieldSet = FieldSet.of(
  [
    ["apiVersion"],
    ["kind"],
    ["metadata"],
    ["metadata", "name"],
    ["metadata", "namespace"],
    ["metadata", "creationTimestamp"],
    ["metadata", "selfLink"],
    ["metadata", "uid"],
    ["metadata", "clusterName"],
    ["metadata", "generation"],
    ["metadata", "managedFields"],
    ["metadata", "resourceVersion"],
  ].map((p) => p.map(fieldToken)),
);

/** Manager identity: Update entries are per apiVersion, Apply entries are not. */
export function sameManager(a: Omit<ManagerEntry, "set" | "time">, b: Omit<ManagerEntry, "set" | "time">): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? "") === (b.subresource ?? "") &&
    (a.operation === "Apply" || a.apiVersion === b.apiVersion)
  );
}

/** How upstream names a manager in conflict messages: `"kubectl" using apps/v1`. */
export function managerLabel(e: Omit<ManagerEntry, "set">): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === "Update") s += ` using ${e.apiVersion}`;
  return s;
}

/** Decodes metadata.managedFields; malformed entries are a BadRequest naming the entry. */
export function decodeManagedFields(raw: unknown): ManagerEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new BadRequest("metadata.managedFields: must be a list");
  const out: ManagerEntry[] = [];
  raw.forEach((e, i) => {
    const where = `metadata.managedFields[${i}]`;
    if (!isObject(e)) throw new BadRequest(`${where}: must be an object`);
    if (e.operation !== "Apply" && e.operation !== "Update") throw new BadRequest(`${where}.operation: must be "Apply" or "Update"`);
    if (e.fieldsType !== undefined && e.fieldsType !== "FieldsV1") throw new BadRequest(`${where}.fieldsType: must be "FieldsV1"`);
    const entry: ManagerEntry = {
      manager: typeof e.manager === "string" ? e.manager : "",
      operation: e.operation,
      apiVersion: typeof e.apiVersion === "string" ? e.apiVersion : "",
      set: e.fieldsV1 === undefined ? FieldSet.empty() : FieldSet.fromFieldsV1(e.fieldsV1, `${where}.fieldsV1`),
    };
    if (typeof e.subresource === "string" && e.subresource) entry.subresource = e.subresource;
    if (typeof e.time === "string") entry.time = e.time;
    const dup = out.find((o) => sameManager(o, entry));
    if (dup) dup.set = dup.set.union(entry.set);
    else out.push(entry);
  });
  return out;
}

/** Decodes what is stored on a live object; garbage there resets tracking rather than failing writes. */
export function decodeLiveManagedFields(obj: KObject | undefined): ManagerEntry[] {
  try {
    return decodeManagedFields(obj?.metadata?.managedFields);
  } catch {
    return [];
  }
}

/** Encodes entries in upstream's order (operation, time, manager, apiVersion, subresource), dropping empty ones. */
export function encodeManagedFields(entries: ManagerEntry[]): ManagedFieldsEntry[] {
  const seconds = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) || 0 : 0);
  return entries
    .filter((e) => !e.set.isEmpty())
    .sort(
      (p, q) =>
        cmp(p.operation, q.operation) ||
        seconds(p.time) - seconds(q.time) ||
        cmp(p.manager, q.manager) ||
        cmp(p.apiVersion, q.apiVersion) ||
        cmp(p.subresource ?? "", q.subresource ?? ""),
    )
    .map((e) => {
      const m: ManagedFieldsEntry = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
      if (e.time) m.time = e.time;
      m.fieldsType = "FieldsV1";
      m.fieldsV1 = e.set.toFieldsV1();
      if (e.subresource) m.subresource = e.subresource;
      return m;
    });
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The object without metadata.managedFields (never itself tracked). */
export function withoutManagedFields<T>(obj: T): T {
  const c = clone(obj);
  if (isObject(c) && isObject(c.metadata)) delete c.metadata.managedFields;
  return c;
}

/**
 * Field-level difference between two versions of an object: paths that appeared
 * (with everything under them), scalar/atomic values that changed, and paths that
 * disappeared. Items of map/set lists are matched by key, not position.
 */
export function compareObjects(oldObj: unknown, newObj: unknown, schema: SchemaRegistry, typeName: string): Comparison {
  const c: Comparison = { added: FieldSet.empty(), modified: FieldSet.empty(), removed: FieldSet.empty() };
  walkCompare(oldObj, newObj, schema, rootSlot(typeName), [], c);
  return c;
}

function granular(schema: SchemaRegistry, slot: Slot): boolean {
  const s = resolve(schema, slot);
  return s.kind === "unknown" || ((s.kind === "struct" || s.kind === "map") && !s.atomic);
}

function associative(schema: SchemaRegistry, slot: Slot): boolean {
  const s = resolve(schema, slot);
  return s.kind === "list" && listSemantics(schema, s.array).type !== "atomic";
}

function indexItems(list: unknown[], schema: SchemaRegistry, slot: Slot): Map<string, unknown> {
  const m = new Map<string, unknown>();
  list.forEach((x, i) => {
    const t = listItemToken(schema, slot, x, i)!;
    if (!m.has(t)) m.set(t, x);
  });
  return m;
}

function walkCompare(a: unknown, b: unknown, schema: SchemaRegistry, slot: Slot, path: Path, c: Comparison): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined) return insertAll(b, schema, slot, path, c.added);
  if (b === undefined) return insertAll(a, schema, slot, path, c.removed);
  if (isObject(a) && isObject(b) && granular(schema, slot)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      walkCompare(getOwn(a, k), getOwn(b, k), schema, childSlot(schema, slot, k), [...path, fieldToken(k)], c);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && associative(schema, slot)) {
    const ia = indexItems(a, schema, slot);
    const ib = indexItems(b, schema, slot);
    const iSlot = itemSlot(schema, slot);
    for (const t of new Set([...ia.keys(), ...ib.keys()])) {
      const p = [...path, t];
      if (t.startsWith("v:")) {
        if (!ib.has(t)) c.removed.insert(p);
        else if (!ia.has(t)) c.added.insert(p);
      } else {
        walkCompare(ia.get(t), ib.get(t), schema, iSlot, p, c);
      }
    }
    return;
  }
  if (!deepEqual(a, b) && path.length) c.modified.insert(path);
}

/**
 * Every path of a value that appeared or disappeared. A struct field that has fields is
 * not itself a member (upstream's non-pointer Go structs always exist, so only their
 * fields change); maps, lists, list items, empty objects and leaves are. This matches
 * upstream's FieldsV1 for a create except for pointer structs, which upstream marks.
 */
function insertAll(v: unknown, schema: SchemaRegistry, slot: Slot, path: Path, set: FieldSet): void {
  const shape = resolve(schema, slot);
  if (isObject(v) && granular(schema, slot)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined);
    const listItem = path.length > 0 && !path[path.length - 1]!.startsWith("f:");
    if (path.length && (listItem || shape.kind !== "struct" || keys.length === 0)) set.insert(path);
    for (const k of keys) insertAll(v[k], schema, childSlot(schema, slot, k), [...path, fieldToken(k)], set);
    return;
  }
  if (path.length) set.insert(path);
  if (Array.isArray(v) && associative(schema, slot)) {
    const iSlot = itemSlot(schema, slot);
    v.forEach((x, i) => {
      const t = listItemToken(schema, slot, x, i)!;
      const p = [...path, t];
      if (t.startsWith("v:")) set.insert(p);
      else insertAll(x, schema, iSlot, p, set);
    });
  }
}

/** Whether `obj.metadata.managedFields` is upstream's reset request: a list holding one empty entry. */
function isResetRequest(raw: unknown): boolean {
  return Array.isArray(raw) && raw.length === 1 && isObject(raw[0]) && Object.keys(raw[0]).length === 0;
}

export interface UpdateManagedFieldsArgs {
  old?: KObject;
  updated: KObject;
  manager: string;
  operation: "Update";
  subresource?: string;
  apiVersion: string;
  time: string;
  schema: SchemaRegistry;
  typeName: string;
  /** Fields this endpoint resets and so never tracks (e.g. status on the main resource); subtrees. */
  ignored?: FieldSet;
}

/**
 * The managedFields for the result of a create/update/patch by `manager`. A request
 * that carries its own managedFields (different from the live ones) replaces the
 * tracking, as upstream allows; `[{}]` clears it.
 */
export function updateManagedFields(args: UpdateManagedFieldsArgs): ManagedFieldsEntry[] {
  const requested = args.updated.metadata?.managedFields as unknown;
  if (!args.subresource && isResetRequest(requested)) return [];
  let entries = decodeLiveManagedFields(args.old);
  if (
    !args.subresource &&
    Array.isArray(requested) &&
    requested.length > 0 &&
    !deepEqual(requested, args.old?.metadata?.managedFields)
  ) {
    try {
      entries = decodeManagedFields(requested);
    } catch {
      // Upstream ignores undecodable managedFields in a request and keeps the live ones.
    }
  }

  const c = compareObjects(
    args.old ? withoutManagedFields(args.old) : undefined,
    withoutManagedFields(args.updated),
    args.schema,
    args.typeName,
  );
  let changed = c.added.union(c.modified).difference(STRIPPED_FIELDS);
  if (args.ignored) changed = changed.recursiveDifference(args.ignored);
  const me = { manager: args.manager, operation: "Update" as const, apiVersion: args.apiVersion, ...(args.subresource ? { subresource: args.subresource } : {}) };

  let self: ManagerEntry | undefined;
  for (const e of entries) {
    if (sameManager(e, me)) {
      self = e;
      e.set = e.set.difference(c.removed);
    } else {
      e.set = e.set.difference(changed).difference(c.removed);
    }
  }
  if (!changed.isEmpty()) {
    if (!self) entries.push((self = { ...me, set: FieldSet.empty() }));
    self.set = self.set.union(changed);
    self.time = args.time;
  }
  return encodeManagedFields(entries);
}
