// Field sets: the sets of field paths that server-side apply records per manager in
// metadata.managedFields, serialised as FieldsV1
// (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management,
// https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/#System).
// A path is a list of tokens in FieldsV1 spelling: `f:<field>` for a struct/map field,
// `k:<json>` for an item of a map list (its key fields, sorted), `v:<json>` for an item
// of a set, `i:<n>` for an index (upstream never stores those; we only fall back to
// them for list items that lack their keys). A set is a tree; a node may itself be a
// member (FieldsV1 `".": {}`) and have children.

import { BadRequest } from "../errors.js";
import type { SchemaRegistry } from "../../api/schema/types.js";
import {
  canonicalJSON,
  childSlot,
  isObject,
  itemSlot,
  listSemantics,
  resolve,
  rootSlot,
  type Slot,
} from "./schemawalk.js";

export type Path = readonly string[];

export const fieldToken = (name: string): string => `f:${name}`;
export const valueToken = (v: unknown): string => `v:${canonicalJSON(v)}`;
export const keyToken = (keys: Record<string, unknown>): string => `k:${canonicalJSON(keys)}`;
export const indexToken = (i: number): string => `i:${i}`;

/** Token of an item of a list at `listSlot` under server-side-apply semantics, or undefined if the list is atomic. */
export function listItemToken(schema: SchemaRegistry, listSlot: Slot, item: unknown, index: number): string | undefined {
  const shape = resolve(schema, listSlot);
  if (shape.kind !== "list") return undefined;
  const sem = listSemantics(schema, shape.array);
  if (sem.type === "set") return valueToken(item);
  if (sem.type === "map") {
    if (!isObject(item)) return indexToken(index);
    const keys: Record<string, unknown> = {};
    for (const k of sem.keys) if (item[k] !== undefined && item[k] !== null) keys[k] = item[k];
    return Object.keys(keys).length ? keyToken(keys) : indexToken(index);
  }
  return undefined;
}

const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Orders tokens as upstream orders path elements: fields, then keys, values, indexes. */
export function compareTokens(a: string, b: string): number {
  const ka = KIND_ORDER[a[0]!] ?? 9;
  const kb = KIND_ORDER[b[0]!] ?? 9;
  if (ka !== kb) return ka - kb;
  if (a[0] === "i") return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalises a FieldsV1 key (`k:{"b":1, "a":2}` → `k:{"a":2,"b":1}`), rejecting malformed ones. */
function normaliseToken(raw: string, where: string): string {
  const kind = raw.slice(0, 2);
  const rest = raw.slice(2);
  const bad = () => new BadRequest(`invalid managedFields: ${where}: invalid path element ${JSON.stringify(raw)}`);
  switch (kind) {
    case "f:":
      return raw;
    case "i:":
      if (!/^(0|[1-9]\d*)$/.test(rest)) throw bad();
      return raw;
    case "k:":
    case "v:": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        throw bad();
      }
      if (kind === "k:" && !isObject(parsed)) throw bad();
      return kind + canonicalJSON(parsed);
    }
    default:
      throw bad();
  }
}

/** Human form of a path as upstream prints it in conflicts: `.spec.containers[name="web"].image`. */
export function pathString(path: Path): string {
  return path
    .map((t) => {
      const rest = t.slice(2);
      switch (t[0]) {
        case "f":
          return `.${rest}`;
        case "k": {
          const o = JSON.parse(rest) as Record<string, unknown>;
          return `[${Object.keys(o)
            .sort()
            .map((k) => `${k}=${JSON.stringify(o[k])}`)
            .join(",")}]`;
        }
        case "v":
          return `[=${rest}]`;
        default:
          return `[${rest}]`;
      }
    })
    .join("");
}

export class FieldSet {
  private readonly members = new Set<string>();
  private readonly children = new Map<string, FieldSet>();

  static empty(): FieldSet {
    return new FieldSet();
  }

  static of(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds one path (mutates; sets handed out by other functions are not shared). */
  insert(path: Path): this {
    if (path.length === 0) return this;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) {
      const t = path[i]!;
      let c = node.children.get(t);
      if (!c) node.children.set(t, (c = new FieldSet()));
      node = c;
    }
    node.members.add(path[path.length - 1]!);
    return this;
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    const parent = this.at(path.slice(0, -1));
    return parent !== undefined && parent.members.has(path[path.length - 1]!);
  }

  /** The subtree under `prefix` (paths relative to it), or undefined when nothing is there. */
  at(prefix: Path): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const t of prefix) {
      node = node.children.get(t);
      if (!node) return undefined;
    }
    return node;
  }

  /** True when `path` itself or anything below it is a member. */
  touches(path: Path): boolean {
    if (this.has(path)) return true;
    const sub = this.at(path);
    return sub !== undefined && !sub.isEmpty();
  }

  isEmpty(): boolean {
    if (this.members.size) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const r = new FieldSet();
    for (const m of this.members) r.members.add(m);
    for (const m of o.members) r.members.add(m);
    for (const t of new Set([...this.children.keys(), ...o.children.keys()])) {
      const a = this.children.get(t);
      const b = o.children.get(t);
      const c = a && b ? a.union(b) : (a ?? b)!.copy();
      if (!c.isEmpty()) r.children.set(t, c);
    }
    return r;
  }

  intersection(o: FieldSet): FieldSet {
    const r = new FieldSet();
    for (const m of this.members) if (o.members.has(m)) r.members.add(m);
    for (const [t, a] of this.children) {
      const b = o.children.get(t);
      if (!b) continue;
      const c = a.intersection(b);
      if (!c.isEmpty()) r.children.set(t, c);
    }
    return r;
  }

  /** Members of this set that are not members of `o` (exact paths, not prefixes). */
  difference(o: FieldSet): FieldSet {
    const r = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) r.members.add(m);
    for (const [t, a] of this.children) {
      const b = o.children.get(t);
      const c = b ? a.difference(b) : a.copy();
      if (!c.isEmpty()) r.children.set(t, c);
    }
    return r;
  }

  /** Removes every path that equals or lies under a member of `o`. */
  recursiveDifference(o: FieldSet): FieldSet {
    const r = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) r.members.add(m);
    for (const [t, a] of this.children) {
      if (o.members.has(t)) continue;
      const b = o.children.get(t);
      const c = b ? a.recursiveDifference(b) : a.copy();
      if (!c.isEmpty()) r.children.set(t, c);
    }
    return r;
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).isEmpty() && o.difference(this).isEmpty();
  }

  copy(): FieldSet {
    return this.union(new FieldSet());
  }

  /** All member paths, parents before children, siblings in upstream order. */
  paths(): Path[] {
    const out: Path[] = [];
    const walk = (node: FieldSet, prefix: string[]) => {
      const tokens = [...new Set([...node.members, ...node.children.keys()])].sort(compareTokens);
      for (const t of tokens) {
        const p = [...prefix, t];
        if (node.members.has(t)) out.push(p);
        const c = node.children.get(t);
        if (c) walk(c, p);
      }
    };
    walk(this, []);
    return out;
  }

  get size(): number {
    return this.paths().length;
  }

  toString(): string {
    return this.paths().map(pathString).join("\n");
  }

  /** FieldsV1 JSON: `{"f:spec":{"f:replicas":{}}}`; a member with children carries `".":{}`. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const tokens = [...new Set([...this.members, ...this.children.keys()])].sort(compareTokens);
    for (const t of tokens) {
      const c = this.children.get(t);
      const body: Record<string, unknown> = this.members.has(t) && c ? { ".": {} } : {};
      if (c) Object.assign(body, c.toFieldsV1());
      out[t] = body;
    }
    return out;
  }

  static fromFieldsV1(v: unknown, where = "fieldsV1"): FieldSet {
    if (!isObject(v)) throw new BadRequest(`invalid managedFields: ${where}: expected an object`);
    const s = new FieldSet();
    for (const [raw, body] of Object.entries(v)) {
      if (raw === ".") continue;
      const t = normaliseToken(raw, where);
      if (!isObject(body)) throw new BadRequest(`invalid managedFields: ${where}: value of ${JSON.stringify(raw)} must be an object`);
      const keys = Object.keys(body);
      if (keys.length === 0 || Object.prototype.hasOwnProperty.call(body, ".")) s.members.add(t);
      if (keys.some((k) => k !== ".")) {
        const c = FieldSet.fromFieldsV1(body, where);
        if (!c.isEmpty()) s.children.set(t, c);
      }
    }
    return s;
  }
}

/**
 * Every path an object sets, as server-side apply computes the field set of an applied
 * configuration: scalars and atomic values are leaves; structs and granular maps are not
 * members themselves, only their fields; items of map/set lists are members and, for
 * map lists, so are their fields.
 */
export function computeFieldSet(obj: unknown, schema: SchemaRegistry, typeName: string): FieldSet {
  const set = new FieldSet();
  walkSet(obj, schema, rootSlot(typeName), [], set);
  return set;
}

function walkSet(value: unknown, schema: SchemaRegistry, slot: Slot, path: string[], set: FieldSet): void {
  const shape = resolve(schema, slot);
  const leaf = () => {
    if (path.length) set.insert(path);
  };
  if (value === null || value === undefined) return leaf();
  if (isObject(value)) {
    if ((shape.kind === "struct" || shape.kind === "map") && shape.atomic) return leaf();
    if (shape.kind === "scalar" || shape.kind === "list") return leaf();
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      walkSet(v, schema, childSlot(schema, slot, k), [...path, fieldToken(k)], set);
    }
    return;
  }
  if (Array.isArray(value)) {
    if (shape.kind !== "list" || listSemantics(schema, shape.array).type === "atomic") return leaf();
    const iSlot = itemSlot(schema, slot);
    const iShape = resolve(schema, iSlot);
    const atomicItems = (iShape.kind === "struct" || iShape.kind === "map") && iShape.atomic;
    value.forEach((item, i) => {
      const t = listItemToken(schema, slot, item, i)!;
      const p = [...path, t];
      set.insert(p);
      if (isObject(item) && !t.startsWith("v:") && !atomicItems) {
        for (const [k, v] of Object.entries(item)) {
          if (v === undefined) continue;
          walkSet(v, schema, childSlot(schema, iSlot, k), [...p, fieldToken(k)], set);
        }
      }
    });
    return;
  }
  leaf();
}
