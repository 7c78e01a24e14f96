// Informer: a list + watch cache of one resource, after client-go's reflector, indexer
// and shared informer (https://pkg.go.dev/k8s.io/client-go/tools/cache and
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
// It lists (paginated), then watches from the list's resourceVersion with bookmarks; on
// 410 Gone, a watch ERROR or a failed watch it lists again and turns the difference into
// add/update/delete notifications, so handlers never miss a transition's end state.
// Cached objects are deep-frozen: readers must deepCopy before changing anything.

import type { KObject, WatchEvent } from "../apimachinery/types.js";
import type { Client, WatchHandle } from "./types.js";
import { realClock, type Clock } from "./clock.js";

/** Values an object is filed under in one index. */
export type IndexFunc = (obj: KObject) => string[];

export interface ResourceEventHandler {
  /** isInInitialList: the object came from the first list, not from a change. */
  onAdd?(obj: KObject, isInInitialList: boolean): void;
  /** Also called with old === new on periodic resync. */
  onUpdate?(oldObj: KObject, newObj: KObject): void;
  /** obj is the last state the cache saw. */
  onDelete?(obj: KObject): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Periodic onUpdate(obj, obj) for every cached object; 0 = never. */
  resyncPeriodMs?: number;
  /** List page size (limit/continue). */
  pageSize?: number;
  indexers?: Record<string, IndexFunc>;
  clock?: Clock;
  /** Called with watch/list failures (for logs); the informer retries on its own. */
  onError?: (err: unknown) => void;
}

/** "ns/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(obj: KObject): string {
  return objectKey(obj.metadata.namespace, obj.metadata.name ?? "");
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const NAMESPACE_INDEX = "namespace";
export const OWNER_UID_INDEX = "ownerUid";
export const indexByNamespace: IndexFunc = (o) => [o.metadata.namespace ?? ""];
export const indexByOwnerUid: IndexFunc = (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
/** For "v1/pods": pods by the node they are bound to (unbound pods under ""). */
export const indexPodsByNodeName: IndexFunc = (o) => [o.spec?.nodeName ?? ""];

export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

/** The read side of an informer: a thread-safe-by-construction (single-threaded) indexed cache. */
export class Indexer {
  private items = new Map<string, KObject>();
  private indexers: Record<string, IndexFunc> = {};
  /** index name → value → keys */
  private indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc> = {}) {
    this.addIndexers({ [NAMESPACE_INDEX]: indexByNamespace, [OWNER_UID_INDEX]: indexByOwnerUid, ...indexers });
  }

  /** Adds indexes (existing objects are indexed at once). Re-adding a name is a no-op. */
  addIndexers(indexers: Record<string, IndexFunc>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers[name]) continue;
      this.indexers[name] = fn;
      const idx = new Map<string, Set<string>>();
      this.indices.set(name, idx);
      for (const [k, o] of this.items) this.indexOne(idx, fn, k, o);
    }
  }

  hasIndex(name: string): boolean {
    return name in this.indexers;
  }

  get(namespace: string | undefined, name: string): KObject | undefined {
    return this.items.get(objectKey(namespace, name));
  }

  getByKey(key: string): KObject | undefined {
    return this.items.get(key);
  }

  /** All objects, or those in one namespace. */
  list(namespace?: string): KObject[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  size(): number {
    return this.items.size;
  }

  byIndex(indexName: string, value: string): KObject[] {
    const idx = this.indices.get(indexName);
    if (!idx) throw new Error(`informer index "${indexName}" does not exist`);
    const keys = idx.get(value);
    if (!keys) return [];
    const out: KObject[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Stores obj (deep-frozen) and returns the previous object. */
  set(obj: KObject): KObject | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    deepFreeze(obj);
    this.items.set(key, obj);
    for (const [name, fn] of Object.entries(this.indexers)) this.indexOne(this.indices.get(name)!, fn, key, obj);
    return old;
  }

  delete(key: string): KObject | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private indexOne(idx: Map<string, Set<string>>, fn: IndexFunc, key: string, obj: KObject): void {
    let values: string[];
    try {
      values = fn(obj);
    } catch {
      values = [];
    }
    for (const v of values) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private unindex(key: string, obj: KObject): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indices.get(name)!;
      let values: string[];
      try {
        values = fn(obj);
      } catch {
        values = [];
      }
      for (const v of values) {
        const s = idx.get(v);
        if (!s) continue;
        s.delete(key);
        if (s.size === 0) idx.delete(v);
      }
    }
  }
}

function isGone(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: number }).code === 410;
}

/** List kind "PodList" → item kind "Pod" (built-in list items may omit kind/apiVersion). */
function itemKind(listKind: string | undefined): string | undefined {
  return listKind?.endsWith("List") ? listKind.slice(0, -4) : undefined;
}

export class Informer {
  readonly store: Indexer;
  private handlers = new Set<ResourceEventHandler>();
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private lastRV = "";
  private started = false;
  private readonly clock: Clock;
  private kind?: string;
  private apiVersion?: string;

  constructor(
    private readonly client: Client,
    readonly gvr: string,
    private readonly opts: InformerOptions = {},
  ) {
    this.store = new Indexer(opts.indexers);
    this.clock = opts.clock ?? realClock;
  }

  /** Adds a handler; when the cache already holds objects, it gets onAdd for each of them. */
  addEventHandler(h: ResourceEventHandler): { remove(): void } {
    this.handlers.add(h);
    if (this.synced) for (const o of this.store.list()) this.call(h, "onAdd", o, true);
    return { remove: () => this.handlers.delete(h) };
  }

  addIndexers(indexers: Record<string, IndexFunc>): void {
    this.store.addIndexers(indexers);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  isStarted(): boolean {
    return this.started;
  }

  /** The resourceVersion of the latest list or watch event processed. */
  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  /** Resolves true once the first list is in the cache, false if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  /** Runs list+watch until the signal aborts. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`informer for ${this.gvr} already started`);
    this.started = true;
    const resync = this.opts.resyncPeriodMs ?? 0;
    let resyncTimer: { stop(): boolean } | undefined;
    const scheduleResync = () => {
      resyncTimer = this.clock.setTimer(() => {
        if (signal.aborted) return;
        for (const o of this.store.list()) this.emit("onUpdate", o, o);
        scheduleResync();
      }, resync);
    };
    if (resync > 0) scheduleResync();
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          await this.listAndReplace(signal);
          failures = 0;
          // Re-watch from the last seen version until the server says it is too old.
          while (!signal.aborted) {
            const outcome = await this.watchOnce(signal);
            if (outcome === "relist") break;
          }
        } catch (err) {
          if (signal.aborted) break;
          this.opts.onError?.(err);
          failures++;
          // Back off 100ms doubling to 30s between failed list attempts.
          const delay = Math.min(100 * 2 ** Math.min(failures, 9), 30_000);
          await this.clock.after(delay, signal).catch(() => {});
        }
      }
    } finally {
      resyncTimer?.stop();
      this.started = false;
    }
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const items: KObject[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.client.list(this.gvr, {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize ?? 500,
        continue: cont,
      });
      if (signal.aborted) return;
      this.kind ??= itemKind(page.kind);
      this.apiVersion ??= page.apiVersion;
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      // The first page fixes the snapshot revision; later pages are read at it.
      if (!rv) rv = page.metadata.resourceVersion ?? "";
    } while (cont);
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.withKind(raw);
      const key = keyOf(obj);
      seen.add(key);
      const old = this.store.set(obj);
      if (!old) this.emit("onAdd", obj, initial);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit("onUpdate", old, obj);
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key);
      if (old) this.emit("onDelete", old);
    }
    this.lastRV = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch from lastRV: "rewatch" when it ended normally, "relist" when the cache must be rebuilt. */
  private async watchOnce(signal: AbortSignal): Promise<"rewatch" | "relist"> {
    let outcome = "rewatch" as "rewatch" | "relist";
    let handle: WatchHandle | undefined;
    try {
      handle = await this.client.watch(
        this.gvr,
        {
          namespace: this.opts.namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.lastRV,
          allowWatchBookmarks: true,
          // Server-side timeout spreads re-watches like client-go's 5–10 min random timeout.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        (ev) => {
          if (outcome === "relist") return;
          if (!this.handleEvent(ev)) {
            outcome = "relist";
            handle?.stop();
          }
        },
      );
    } catch (err) {
      if (isGone(err)) return "relist";
      throw err;
    }
    // An ERROR may have arrived before watch() returned the handle.
    const h = handle;
    if (outcome === "relist" || signal.aborted) h.stop();
    const onAbort = () => h.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await h.done;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    return outcome;
  }

  /** Applies one watch event; false when the watch must be abandoned for a re-list. */
  private handleEvent(ev: WatchEvent): boolean {
    if (ev.type === "ERROR") {
      this.opts.onError?.(new Error(`watch ${this.gvr}: ${(ev.object as { message?: string }).message ?? "error"}`));
      return false;
    }
    const rv = ev.object?.metadata?.resourceVersion;
    if (ev.type === "BOOKMARK") {
      if (rv) this.lastRV = rv;
      return true;
    }
    const obj = this.withKind(ev.object);
    const key = keyOf(obj);
    if (ev.type === "DELETED") {
      const old = this.store.delete(key);
      this.emit("onDelete", old ?? deepFreeze(obj));
    } else {
      const old = this.store.set(obj);
      if (old) this.emit("onUpdate", old, obj);
      else this.emit("onAdd", obj, false);
    }
    if (rv) this.lastRV = rv;
    return true;
  }

  private withKind(obj: KObject): KObject {
    if (obj.kind && obj.apiVersion) return obj;
    return { ...obj, kind: obj.kind ?? this.kind, apiVersion: obj.apiVersion ?? this.apiVersion };
  }

  private emit(fn: "onAdd" | "onUpdate" | "onDelete", a: KObject, b?: KObject | boolean): void {
    for (const h of this.handlers) this.call(h, fn, a, b);
  }

  private call(h: ResourceEventHandler, fn: "onAdd" | "onUpdate" | "onDelete", a: KObject, b?: KObject | boolean): void {
    try {
      if (fn === "onAdd") h.onAdd?.(a, b as boolean);
      else if (fn === "onUpdate") h.onUpdate?.(a, b as KObject);
      else h.onDelete?.(a);
    } catch (err) {
      // A failing handler must not break the cache or the other handlers.
      this.opts.onError?.(err);
    }
  }
}
