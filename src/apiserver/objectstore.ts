// Objects in the store: key layout, (de)serialisation and version conversion between
// the served version and the storage version (upstream's storage codec, see
// https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
// The store revision of the last write is the object's resourceVersion; it is never
// persisted inside the value. Watches decode through `decodeShared`, which, like the
// upstream watch cache's cachingObject, decodes each stored event once for every watcher
// and hands out one deep-frozen object that no one may mutate.

import type { KObject } from "../apimachinery/types.js";
import type { KeyValue, Store } from "../store/types.js";
import type { ResourceDef } from "../api/types.js";
import { apiVersionOf } from "../api/types.js";
import type { Catalogue } from "../api/catalogue.js";

/** Decoded watch objects kept per served version; events are near in time, so FIFO suffices. */
const SHARED_CAPACITY = 2048;

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== "object" || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

export class ObjectStore {
  /** Per served version: "key\0modRevision" → frozen decoded object (insertion ordered). */
  private readonly shared = new WeakMap<ResourceDef, Map<string, KObject>>();
  /** Per served version: the same, by event value object (no key string to build). */
  private readonly sharedByKv = new WeakMap<ResourceDef, WeakMap<KeyValue, KObject>>();

  constructor(
    readonly store: Store,
    readonly catalogue: Catalogue,
  ) {}

  /** "/registry/apps/deployments/" (all namespaces) or "/registry/apps/deployments/ns/". */
  prefix(def: ResourceDef, namespace?: string): string {
    const s = this.catalogue.storageOf(def);
    const base = `/registry/${s.group || "core"}/${s.plural}/`;
    return def.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  key(def: ResourceDef, namespace: string | undefined, name: string): string {
    return def.namespaced ? `${this.prefix(def, namespace)}${name}` : `${this.prefix(def)}${name}`;
  }

  /** Serialises an object in the served version for storage (drops resourceVersion). */
  encode(def: ResourceDef, obj: KObject): string {
    let o = obj;
    if (def.toStorage) o = def.toStorage(obj);
    const meta = { ...o.metadata };
    delete meta.resourceVersion;
    delete meta.selfLink;
    return JSON.stringify({ ...o, metadata: meta });
  }

  /** Parses a stored value into the served version, with resourceVersion set. */
  decode(def: ResourceDef, kv: KeyValue, revision = kv.modRevision): KObject {
    let o = JSON.parse(kv.value) as KObject;
    const served = apiVersionOf(def);
    if (o.apiVersion !== served || o.kind !== def.kind) {
      if (def.fromStorage) o = def.fromStorage(o);
      o.apiVersion = served;
      o.kind = def.kind;
    }
    o.metadata.resourceVersion = String(revision);
    return o;
  }

  /**
   * The decoded object of a stored value, shared by every watcher of the same served
   * version: a (key, modRevision) pair names one stored value for good (revisions never
   * repeat), so the first watcher decodes and the others reuse it. The result is
   * deep-frozen: copy before changing it.
   */
  decodeShared(def: ResourceDef, kv: KeyValue): KObject {
    // Fast path: a store that hands every watcher the same event object (sqlite.ts does).
    let byKv = this.sharedByKv.get(def);
    if (!byKv) this.sharedByKv.set(def, (byKv = new WeakMap()));
    const seen = byKv.get(kv);
    if (seen) return seen;
    let cache = this.shared.get(def);
    if (!cache) this.shared.set(def, (cache = new Map()));
    const id = `${kv.key}\0${kv.modRevision}`;
    let o = cache.get(id);
    if (o) {
      byKv.set(kv, o);
      return o;
    }
    o = this.decode(def, kv);
    deepFreeze(o);
    cache.set(id, o);
    byKv.set(kv, o);
    if (cache.size > SHARED_CAPACITY) cache.delete(cache.keys().next().value!);
    return o;
  }
}
