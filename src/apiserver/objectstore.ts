// Objects in the store: key layout, (de)serialisation and version conversion between
// the served version and the storage version (upstream's storage codec, see
// https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
// The store revision of the last write is the object's resourceVersion; it is never
// persisted inside the value.

import type { KObject } from "../apimachinery/types.js";
import type { KeyValue, Store } from "../store/types.js";
import type { ResourceDef } from "../api/types.js";
import { apiVersionOf } from "../api/types.js";
import type { Catalogue } from "../api/catalogue.js";

export class ObjectStore {
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
}
