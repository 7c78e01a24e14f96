// Watch event framing, serialized once and shared by every watcher that asks for the
// same form — what kube-apiserver's watch cache does with its cachingObject, which keeps
// one serialization per encoder for all watchers
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes,
// https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
// A frame is one newline-terminated JSON `{"type":…,"object":…}` line as bytes. Only
// deep-frozen objects (ObjectStore.decodeShared) are memoized: a frozen object cannot
// change under its cached bytes, and a per-watcher object (the initial list replay) is
// simply serialized. Forms are named by what changes the bytes: the encoding
// ("json"; protobuf is not served by this API server, responses are JSON), and the
// wrapper: the object itself, PartialObjectMetadata, or a Table row with its include
// mode and whether the Table carries its column definitions (only a watch's first
// object event does, as upstream).

import type { KObject, WatchEvent } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import { partialObjectMetadata, toTable, type IncludeObject } from "./tables.js";

export type WatchWrapper = { as: "Object" } | { as: "PartialObjectMetadata" } | { as: "Table"; include: IncludeObject };

/** frames[object] : "TYPE form" → bytes. Dropped with the object (its cache evicts it). */
const frames = new WeakMap<KObject, Map<string, Buffer>>();

const objectEvent = (t: WatchEvent["type"]) => t === "ADDED" || t === "MODIFIED" || t === "DELETED";

function render(def: ResourceDef, ev: WatchEvent, wrapper: WatchWrapper, withColumns: boolean): Buffer {
  let object: unknown = ev.object;
  if (objectEvent(ev.type)) {
    if (wrapper.as === "Table") object = toTable(def, [ev.object], { resourceVersion: ev.object.metadata.resourceVersion }, wrapper.include, withColumns);
    else if (wrapper.as === "PartialObjectMetadata") object = partialObjectMetadata(ev.object);
  }
  return Buffer.from(JSON.stringify({ type: ev.type, object }) + "\n");
}

/**
 * One watch event as the bytes of a JSON line in the watcher's form. `withColumns` only
 * matters for Tables. For a frozen (shared) object the bytes are made once per form and
 * event type and reused by every watcher; the returned Buffer must not be modified.
 */
export function watchFrame(def: ResourceDef, ev: WatchEvent, wrapper: WatchWrapper, withColumns = false): Buffer {
  if (!objectEvent(ev.type) || !Object.isFrozen(ev.object)) return render(def, ev, wrapper, withColumns);
  const form =
    wrapper.as === "Table" ? `${ev.type} json Table include=${wrapper.include}${withColumns ? " columns" : ""}` : `${ev.type} json ${wrapper.as}`;
  let byForm = frames.get(ev.object);
  if (!byForm) frames.set(ev.object, (byForm = new Map()));
  let b = byForm.get(form);
  if (!b) byForm.set(form, (b = render(def, ev, wrapper, withColumns)));
  return b;
}
