// Watch (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
// events strictly after the given resourceVersion, in order; no resourceVersion (or
// "0") first replays the current state as synthetic ADDED events; a compacted
// resourceVersion ends the watch with an ERROR event carrying a 410 Expired Status.
// With selectors, an object moving into the selection is ADDED and one moving out is
// DELETED, as upstream's watch filter does. Bookmarks carry progress when asked for.
// Stored events are decoded once for all watchers (ObjectStore.decodeShared): emitted
// objects of live events are shared and deep-frozen, so a consumer copies before it
// changes one; only the selection is per watcher.

import { Gone } from "../apimachinery/errors.js";
import type { KObject, WatchEvent } from "../apimachinery/types.js";
import { apiVersionOf, type ResourceDef } from "../api/types.js";
import { CompactedError, type StoreEvent, type Watcher } from "../store/types.js";
import type { Registry } from "./registry.js";
import { Selection } from "./selection.js";

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Bookmark period in ms (default 60 s, like upstream's ~1 min). */
  bookmarkIntervalMs?: number;
}

export interface ObjectWatch {
  stop(): void;
}

export async function watchObjects(
  reg: Registry,
  def: ResourceDef,
  namespace: string | undefined,
  opts: WatchOptions,
  emit: (ev: WatchEvent) => void,
): Promise<ObjectWatch> {
  const sel = new Selection(def, opts.labelSelector, opts.fieldSelector);
  const prefix = reg.objects.prefix(def, namespace);
  let stopped = false;
  let lastRev = 0;
  let watcher: Watcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stop = () => {
    stopped = true;
    watcher?.stop();
    if (timer) clearInterval(timer);
  };

  const expired = (msg: string) => {
    emit({ type: "ERROR", object: new Gone(msg).toStatus() as unknown as KObject });
    stop();
  };

  let from: number;
  const rv = opts.resourceVersion;
  if (!rv || rv === "0") {
    // "Get state and start at most recent": synthetic ADDED for what exists now.
    const list = await reg.list(def, namespace, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    from = Number(list.metadata.resourceVersion);
    for (const o of list.items) emit({ type: "ADDED", object: o });
  } else {
    from = Number(rv);
    if (!Number.isInteger(from) || from < 0) {
      expired(`invalid resource version: ${rv}`);
      return { stop };
    }
  }
  lastRev = from;

  const onEvents = (events: StoreEvent[]) => {
    for (const ev of events) {
      if (stopped) return;
      lastRev = ev.kv.modRevision;
      const cur = reg.objects.decodeShared(def, ev.kv);
      if (ev.type === "delete") {
        if (sel.matches(cur)) emit({ type: "DELETED", object: cur });
        continue;
      }
      const now = sel.matches(cur);
      if (!ev.prevKv) {
        if (now) emit({ type: "ADDED", object: cur });
        continue;
      }
      const before = sel.everything ? true : sel.matches(reg.objects.decodeShared(def, ev.prevKv));
      if (now && before) emit({ type: "MODIFIED", object: cur });
      else if (now) emit({ type: "ADDED", object: cur });
      else if (before) emit({ type: "DELETED", object: cur });
    }
  };

  try {
    watcher = await reg.store.watch(prefix, from, {
      onEvents,
      onError: (err) => expired(err.message),
    });
  } catch (e) {
    if (e instanceof CompactedError) {
      expired(`too old resource version: ${from} (${e.compacted})`);
      return { stop };
    }
    throw e;
  }
  if (stopped) watcher.stop();
  if (opts.allowWatchBookmarks && !stopped) {
    timer = setInterval(() => {
      if (stopped) return;
      emit({
        type: "BOOKMARK",
        object: { apiVersion: apiVersionOf(def), kind: def.kind, metadata: { resourceVersion: String(lastRev) } },
      });
    }, opts.bookmarkIntervalMs ?? 60_000);
    timer.unref();
  }
  return { stop };
}
