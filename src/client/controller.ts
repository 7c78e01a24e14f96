// The controller framework, after controller-runtime's builder and reconciler
// (https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/reconcile and
// https://kubernetes.io/docs/concepts/architecture/controller/). A controller declares
// what it watches and supplies `reconcile(ctx, key)`; the framework owns the shared
// informers, the de-duplicating workqueue, backoff on errors, owner mapping (an event on
// an owned object wakes its controlling owner), terminal errors and exception safety.
// Reconcile is level-based: it sees only a key, never the event that woke it.

import type { KObject } from "../apimachinery/types.js";
import { selectorFromSet, parseLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import type { Client } from "./types.js";
import { realClock, type Clock } from "./clock.js";
import { ClientEventRecorder, type EventRecorder } from "./events.js";
import { OWNER_UID_INDEX, keyOf, objectKey, splitKey, type IndexFunc, type Informer } from "./informer.js";
import { SharedInformerFactory } from "./sharedinformers.js";
import { WorkQueue, defaultControllerRateLimiter, type RateLimiter } from "./workqueue.js";
import { silentLogger, type Logger, type Runnable } from "./runnable.js";

export interface ObjectKey {
  namespace?: string;
  name: string;
}

/** Cache reads, limited to the resources the controller declared. Objects are frozen. */
export interface Reader {
  get(gvr: string, namespace: string | undefined, name: string): KObject | undefined;
  /** labels: a selector string ("app=web,tier!=db") or a label set. */
  list(gvr: string, opts?: { namespace?: string; labels?: string | Record<string, string> }): KObject[];
  byIndex(gvr: string, index: string, value: string): KObject[];
  /** Objects whose ownerReferences name this uid. */
  ownedBy(gvr: string, ownerUid: string): KObject[];
}

/** Writes go through the API (validation, admission, resourceVersion checks). */
export type Writer = Omit<Client, "watch">;

export interface ReconcileContext {
  reader: Reader;
  client: Writer;
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Aborts when the controller is stopping. */
  signal: AbortSignal;
}

export type ReconcileResult = { requeueAfter?: number } | void;

export interface Controller {
  name: string;
  /** The gvr whose keys are reconciled, e.g. "apps/v1/replicasets". */
  for: string;
  /** Resources whose objects' controlling owner (of the `for` resource) is enqueued. */
  owns?: string[];
  /** Other resources: map each object to the keys to reconcile. */
  watches?: { gvr: string; map(obj: KObject): ObjectKey[] }[];
  /** Resources only read from the cache (no enqueueing). */
  reads?: string[];
  /** Extra cache indexes: gvr → index name → function. */
  indexers?: Record<string, Record<string, IndexFunc>>;
  workers?: number;
  /** Default true: runs only on the elected leader. */
  needsLeader?: boolean;
  reconcile(ctx: ReconcileContext, key: ObjectKey): Promise<ReconcileResult>;
}

/** A failure retrying cannot fix: recorded as a Warning event on the object, not retried. */
export class TerminalError extends Error {
  constructor(
    message: string,
    readonly reason = "ReconcileFailed",
  ) {
    super(message);
    this.name = "TerminalError";
  }
}

export interface ControllerDeps {
  client: Client;
  informers: SharedInformerFactory;
  clock?: Clock;
  log?: Logger;
  /** Defaults to a ClientEventRecorder with component "<name>-controller". */
  recorder?: EventRecorder;
  rateLimiter?: RateLimiter;
}

function matcher(labels: string | Record<string, string> | undefined): LabelSelectorMatcher | undefined {
  if (labels === undefined) return undefined;
  return typeof labels === "string" ? parseLabelSelector(labels) : selectorFromSet(labels);
}

/** A Reader over the given informers; reading an undeclared resource is a programming error. */
export function cacheReader(informers: Map<string, Informer>): Reader {
  const inf = (gvr: string) => {
    const i = informers.get(gvr);
    if (!i) throw new Error(`resource ${gvr} is not declared by this controller (for/owns/watches/reads)`);
    return i.store;
  };
  return {
    get: (gvr, ns, name) => inf(gvr).get(ns, name),
    list(gvr, opts = {}) {
      const items = inf(gvr).list(opts.namespace);
      const m = matcher(opts.labels);
      return m ? items.filter((o) => m.matches(o.metadata.labels)) : items;
    },
    byIndex: (gvr, index, value) => inf(gvr).byIndex(index, value),
    ownedBy: (gvr, uid) => inf(gvr).byIndex(OWNER_UID_INDEX, uid),
  };
}

/** Runs one controller until the signal aborts: informers, queue, workers. */
export async function runController(ctrl: Controller, deps: ControllerDeps, signal: AbortSignal): Promise<void> {
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? silentLogger;
  const recorder = deps.recorder ?? new ClientEventRecorder(deps.client, { component: `${ctrl.name}-controller`, clock });
  const queue = new WorkQueue({ name: ctrl.name, clock, rateLimiter: deps.rateLimiter ?? defaultControllerRateLimiter(clock) });
  const informers = new Map<string, Informer>();
  const use = (gvr: string) => {
    const i = deps.informers.informerFor(gvr, ctrl.indexers?.[gvr]);
    informers.set(gvr, i);
    return i;
  };
  const enqueue = (k: ObjectKey) => queue.add(objectKey(k.namespace, k.name));
  const handles: { remove(): void }[] = [];

  const primary = use(ctrl.for);
  handles.push(
    primary.addEventHandler({
      onAdd: (o) => queue.add(keyOf(o)),
      onUpdate: (_old, o) => queue.add(keyOf(o)),
      onDelete: (o) => queue.add(keyOf(o)),
    }),
  );
  for (const gvr of ctrl.owns ?? []) {
    // The controlling owner is the `for` object with the referenced uid in the same namespace.
    const enqueueOwner = (o: KObject | undefined) => {
      for (const ref of o?.metadata.ownerReferences ?? []) {
        if (!ref.controller) continue;
        const owner = primary.store.get(o!.metadata.namespace, ref.name) ?? primary.store.get(undefined, ref.name);
        if (owner && owner.metadata.uid === ref.uid) queue.add(keyOf(owner));
      }
    };
    handles.push(
      use(gvr).addEventHandler({
        onAdd: (o) => enqueueOwner(o),
        onUpdate: (old, o) => {
          enqueueOwner(o);
          // An adopted/released object wakes the previous owner too.
          if (old !== o) enqueueOwner(old);
        },
        onDelete: (o) => enqueueOwner(o),
      }),
    );
  }
  for (const w of ctrl.watches ?? []) {
    const mapTo = (o: KObject) => {
      try {
        for (const k of w.map(o)) enqueue(k);
      } catch (err) {
        log.error("watch map failed", { controller: ctrl.name, gvr: w.gvr, error: String(err) });
      }
    };
    handles.push(use(w.gvr).addEventHandler({ onAdd: mapTo, onUpdate: (_o, n) => mapTo(n), onDelete: mapTo }));
  }
  for (const gvr of ctrl.reads ?? []) use(gvr);

  const stop = () => queue.shutdown();
  signal.addEventListener("abort", stop, { once: true });
  try {
    deps.informers.start(signal);
    if (!(await deps.informers.waitForSync(signal, [...informers.keys()]))) return;
    log.debug?.("caches synced; starting workers", { controller: ctrl.name });
    const ctx: ReconcileContext = { reader: cacheReader(informers), client: deps.client, recorder, clock, log, signal };
    const worker = async () => {
      for (;;) {
        const item = await queue.get();
        if (item === undefined) return;
        try {
          await processItem(ctrl, ctx, queue, item, primary);
        } finally {
          queue.done(item);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, ctrl.workers ?? 1) }, worker));
  } finally {
    signal.removeEventListener("abort", stop);
    queue.shutdown();
    for (const h of handles) h.remove();
  }
}

/** The cache was behind the store: the write conflicted, or what we meant to create exists. */
export class StaleCacheError extends Error {}

function isStaleCacheError(err: unknown): boolean {
  if (err instanceof StaleCacheError) return true;
  const e = err as { code?: unknown; reason?: unknown };
  return e?.code === 409 && (e.reason === "Conflict" || e.reason === "AlreadyExists");
}

async function processItem(ctrl: Controller, ctx: ReconcileContext, queue: WorkQueue, item: string, primary: Informer): Promise<void> {
  const key = splitKey(item);
  let result: ReconcileResult;
  try {
    result = await ctrl.reconcile(ctx, key);
  } catch (err) {
    if (ctx.signal.aborted) return;
    if (err instanceof TerminalError) {
      queue.forget(item);
      ctx.log.error("reconcile failed (terminal)", { controller: ctrl.name, key: item, error: err.message });
      const obj = primary.store.get(key.namespace, key.name);
      if (obj) ctx.recorder.event(obj, "Warning", err.reason, err.message);
      return;
    }
    const retries = queue.numRequeues(item);
    const fields = { controller: ctrl.name, key: item, retries, error: String((err as Error)?.message ?? err) };
    // A write that lost an optimistic-concurrency race (409 Conflict, or an object our
    // cache has not seen yet) is routine: the retry reads the newer state. Only say so
    // loudly when it keeps happening.
    if (isStaleCacheError(err) && retries < 5) ctx.log.debug?.("reconcile raced a newer write; retrying", fields);
    else ctx.log.error("reconcile failed; retrying", fields);
    queue.addRateLimited(item);
    return;
  }
  queue.forget(item);
  if (result && result.requeueAfter !== undefined && result.requeueAfter >= 0) queue.addAfter(item, result.requeueAfter);
}

/** Wraps a controller as a Runnable for the Supervisor. */
export function controllerRunnable(ctrl: Controller, deps: ControllerDeps): Runnable {
  return {
    name: `controller/${ctrl.name}`,
    needsLeader: ctrl.needsLeader ?? true,
    start: (signal) => runController(ctrl, deps, signal),
  };
}
