// Server-side apply (`PATCH` with `application/apply-patch+yaml`, what
// `kubectl apply --server-side` sends): https://kubernetes.io/docs/reference/using-api/server-side-apply/.
// The applied configuration is merged into the live object by the schema's merge
// strategy (structs and granular maps merge, map lists merge by key, sets by value,
// atomic values replace). The manager's "Apply" entry becomes exactly the fields it
// applied. Changing a field another manager owns is a conflict (409) unless `force`,
// which moves ownership. Fields the manager applied last time but omits now are removed
// from the object unless another manager still owns them.

import { ApplyConflict, BadRequest, type StatusCause } from "../errors.js";
import type { KObject } from "../types.js";
import type { SchemaRegistry } from "../../api/schema/types.js";
import { computeFieldSet, FieldSet, listItemToken, pathString, type Path } from "./fieldset.js";
import {
  compareObjects,
  decodeLiveManagedFields,
  encodeManagedFields,
  managerLabel,
  sameManager,
  STRIPPED_FIELDS,
  withoutManagedFields,
  type ManagerEntry,
} from "./managedfields.js";
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
  setKey,
  type JsonObject,
  type Slot,
} from "./schemawalk.js";

export interface ServerSideApplyArgs {
  live?: KObject;
  applied: KObject;
  manager: string;
  force: boolean;
  schema: SchemaRegistry;
  typeName: string;
  apiVersion: string;
  time: string;
  /** Fields this endpoint resets and so never tracks (e.g. status on the main resource); subtrees. */
  ignored?: FieldSet;
}

/** Returns the object that results from the apply, with metadata.managedFields updated. */
export function serverSideApply(args: ServerSideApplyArgs): KObject {
  const { schema, typeName } = args;
  if (!isObject(args.applied)) throw new BadRequest("apply configuration must be an object");
  const mf = (args.applied.metadata as JsonObject | undefined)?.managedFields;
  if (mf !== undefined && mf !== null && !(Array.isArray(mf) && mf.length === 0)) {
    throw new BadRequest("metadata.managedFields must be nil", [{ reason: "FieldValueForbidden", field: "metadata.managedFields", message: "must be nil" }]);
  }
  const slot = rootSlot(typeName);
  const config = dropNulls(withoutManagedFields(args.applied)) as JsonObject;
  const live = args.live ? (withoutManagedFields(args.live) as JsonObject) : undefined;
  if (live) completeListKeys(config, live, schema, slot);
  const entries = decodeLiveManagedFields(args.live);
  if (live && entries.length === 0) {
    // Upstream assigns an untracked object's fields to "before-first-apply" so that the
    // first apply cannot silently take over values set before tracking began.
    const all = compareObjects(undefined, live, schema, typeName).added.difference(STRIPPED_FIELDS);
    if (!all.isEmpty()) entries.push({ manager: "before-first-apply", operation: "Update", apiVersion: args.apiVersion, set: all });
  }

  const merged = live ? (merge(live, config, schema, slot, "") as JsonObject) : clone(config);

  let appliedSet = computeFieldSet(config, schema, typeName).difference(STRIPPED_FIELDS);
  if (args.ignored) appliedSet = appliedSet.recursiveDifference(args.ignored);
  const me = { manager: args.manager, operation: "Apply" as const, apiVersion: args.apiVersion };
  let self = entries.find((e) => sameManager(e, me));
  const lastSet = self?.set;
  const isNew = !self;
  if (!self) entries.push((self = { ...me, set: appliedSet }));
  self.set = appliedSet;
  self.apiVersion = args.apiVersion;

  if (lastSet) {
    const owners = entries.reduce((acc, e) => acc.union(e.set), FieldSet.empty());
    for (const p of lastSet.difference(appliedSet).paths()) {
      if (!owners.touches(p)) removePath(merged, p, 0, schema, slot, owners, []);
    }
  }

  const c = compareObjects(live, merged, schema, typeName);
  const changed = c.added.union(c.modified);
  const conflicts: { entry: ManagerEntry; path: Path }[] = [];
  for (const e of entries) {
    if (e === self) continue;
    for (const p of e.set.intersection(changed).paths()) conflicts.push({ entry: e, path: p });
  }
  if (conflicts.length && !args.force) throw conflictError(conflicts);
  for (const e of entries) {
    if (e === self) continue;
    e.set = e.set.difference(changed).difference(c.removed);
  }
  const objectChanged = !changed.isEmpty() || !c.removed.isEmpty();
  if (isNew || objectChanged || !lastSet!.equals(appliedSet) || !self.time) self.time = args.time;

  const result = merged as KObject;
  if (!isObject(result.metadata)) result.metadata = {};
  result.metadata.managedFields = encodeManagedFields(entries);
  return result;
}

function conflictError(conflicts: { entry: ManagerEntry; path: Path }[]): ApplyConflict {
  conflicts.sort((a, b) => (managerLabel(a.entry) < managerLabel(b.entry) ? -1 : managerLabel(a.entry) > managerLabel(b.entry) ? 1 : 0));
  const causes: StatusCause[] = conflicts.map((x) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${managerLabel(x.entry)}`,
    field: pathString(x.path),
  }));
  if (conflicts.length === 1) {
    return new ApplyConflict(`Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`, causes);
  }
  const lines: string[] = [];
  let last = "";
  for (const x of conflicts) {
    const label = managerLabel(x.entry);
    if (label !== last) lines.push(`conflicts with ${label}:`);
    last = label;
    lines.push(`- ${pathString(x.path)}`);
  }
  return new ApplyConflict(`Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`, causes);
}

/** Nulls in an apply configuration mean "not specified". */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isObject(v)) {
    const o: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) setKey(o, k, dropNulls(x));
    return o;
  }
  return v;
}

function granular(schema: SchemaRegistry, slot: Slot): boolean {
  const s = resolve(schema, slot);
  return s.kind === "unknown" || ((s.kind === "struct" || s.kind === "map") && !s.atomic);
}

/** Merges an applied configuration into a live value (both already copies). */
function merge(live: unknown, config: unknown, schema: SchemaRegistry, slot: Slot, path: string): unknown {
  if (config === undefined) return live;
  if (live === undefined) return clone(config);
  if (isObject(live) && isObject(config) && granular(schema, slot)) {
    const out: JsonObject = { ...live };
    for (const [k, v] of Object.entries(config)) setKey(out, k, merge(getOwn(live, k), v, schema, childSlot(schema, slot, k), `${path}.${k}`));
    return out;
  }
  const shape = resolve(schema, slot);
  if (Array.isArray(live) && Array.isArray(config) && shape.kind === "list" && listSemantics(schema, shape.array).type !== "atomic") {
    return mergeList(live, config, schema, slot, path);
  }
  return clone(config);
}

/**
 * Merges associative lists keeping both orders: applied items come in the applied order,
 * items only the live list has stay where they were relative to their neighbours.
 */
function mergeList(live: unknown[], config: unknown[], schema: SchemaRegistry, slot: Slot, path: string): unknown[] {
  const iSlot = itemSlot(schema, slot);
  const lt = live.map((x, i) => listItemToken(schema, slot, x, i)!);
  const ct = config.map((x, i) => listItemToken(schema, slot, x, i)!);
  const lMap = new Map<string, unknown>();
  lt.forEach((t, i) => lMap.has(t) || lMap.set(t, live[i]));
  const cMap = new Map<string, unknown>();
  ct.forEach((t, i) => {
    if (cMap.has(t)) throw new BadRequest(`${path.slice(1)}: duplicate entries for key ${pathString([t])}`);
    cMap.set(t, config[i]);
  });
  const shared = ct.filter((t) => lMap.has(t));
  let nextShared = 0;
  const out: unknown[] = [];
  const emitted = new Set<string>();
  const emit = (t: string) => {
    emitted.add(t);
    out.push(cMap.has(t) ? merge(lMap.get(t), cMap.get(t), schema, iSlot, `${path}${pathString([t])}`) : lMap.get(t));
    if (shared[nextShared] === t) nextShared++;
  };
  let li = 0;
  let ri = 0;
  while (li < lt.length || ri < ct.length) {
    if (li < lt.length) {
      const t = lt[li]!;
      if (emitted.has(t)) {
        li++;
        continue;
      }
      if (ri < ct.length && ct[ri] === t) {
        emit(t);
        li++;
        ri++;
        continue;
      }
      if (!cMap.has(t)) {
        // Live-only item (possibly a duplicate key: keep it as it was).
        out.push(live[li]);
        emitted.add(t);
        li++;
        continue;
      }
      if (shared[nextShared] !== t || ri >= ct.length) {
        li++;
        continue;
      }
    }
    if (ri < ct.length) {
      const t = ct[ri++]!;
      if (!emitted.has(t)) emit(t);
    }
  }
  return out;
}

/** Removes the value at `path` and any map/list it leaves empty that nobody owns. */
function removePath(node: unknown, path: Path, i: number, schema: SchemaRegistry, slot: Slot, owners: FieldSet, prefix: string[]): void {
  const t = path[i]!;
  const here = [...prefix, t];
  const last = i === path.length - 1;
  if (t.startsWith("f:")) {
    if (!isObject(node)) return;
    const k = t.slice(2);
    if (!Object.prototype.hasOwnProperty.call(node, k)) return;
    if (last) {
      // The key fields of a kept map-list item are its identity: they stay with the item.
      const parent = prefix[prefix.length - 1];
      if (parent?.startsWith("k:") && Object.prototype.hasOwnProperty.call(JSON.parse(parent.slice(2)), k)) return;
      delete node[k];
      return;
    }
    const child = node[k];
    removePath(child, path, i + 1, schema, childSlot(schema, slot, k), owners, here);
    const empty = (isObject(child) && Object.keys(child).length === 0) || (Array.isArray(child) && child.length === 0);
    const keep = owners.has(here) || (prefix.length === 0 && (k === "metadata" || k === "spec"));
    if (empty && !keep) delete node[k];
    return;
  }
  if (!Array.isArray(node)) return;
  const idx = node.findIndex((x, j) => listItemToken(schema, slot, x, j) === t);
  if (idx < 0) return;
  if (last) node.splice(idx, 1);
  else removePath(node[idx], path, i + 1, schema, itemSlot(schema, slot), owners, here);
}

/**
 * Fills key fields an applied map-list item leaves out from the one live item that
 * matches on the keys it does give: a port applied as `{containerPort: 80}` is the live
 * `{containerPort: 80, protocol: "TCP"}` the server defaulted. Upstream reads such key
 * defaults from the OpenAPI schema; our schema vocabulary has no defaults, the live
 * object does.
 */
function completeListKeys(config: unknown, live: unknown, schema: SchemaRegistry, slot: Slot): void {
  if (isObject(config) && isObject(live) && granular(schema, slot)) {
    for (const [k, v] of Object.entries(config)) completeListKeys(v, getOwn(live, k), schema, childSlot(schema, slot, k));
    return;
  }
  if (!Array.isArray(config) || !Array.isArray(live)) return;
  const shape = resolve(schema, slot);
  if (shape.kind !== "list") return;
  const sem = listSemantics(schema, shape.array);
  if (sem.type !== "map") return;
  const iSlot = itemSlot(schema, slot);
  for (const item of config) {
    if (!isObject(item)) continue;
    const given = sem.keys.filter((k) => item[k] !== undefined);
    const missing = sem.keys.filter((k) => item[k] === undefined);
    let match: unknown;
    if (given.length && missing.length) {
      const candidates = live.filter((x) => isObject(x) && given.every((k) => deepEqual(x[k], item[k])) && missing.every((k) => x[k] !== undefined));
      if (candidates.length === 1) {
        match = candidates[0];
        for (const k of missing) setKey(item, k, clone((match as JsonObject)[k]));
      }
    } else if (given.length) {
      match = live.find((x) => isObject(x) && sem.keys.every((k) => deepEqual(x[k], item[k])));
    }
    if (match !== undefined) completeListKeys(item, match, schema, iSlot);
  }
}
