// The garbage collector for ownerReferences
// (https://kubernetes.io/docs/concepts/architecture/garbage-collection/ and
// https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/).
// It watches every resource type that can have owners, keeps an owner→dependents graph
// (by uid), and: deletes objects all of whose owners are gone (background); for an owner
// deleting with the "foregroundDeletion" finalizer deletes its dependents and removes the
// finalizer once no dependent with blockOwnerDeletion remains; for an owner deleting with
// the "orphan" finalizer strips the ownerReferences to it from its dependents, then
// removes the finalizer. An owner's absence is confirmed with a live read before deleting.

import { deepCopy, type KObject, type OwnerReference } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import { gvrKey } from "../api/types.js";
import type { Client, DeleteOpts } from "../client/types.js";
import type { ControllerDeps } from "../client/controller.js";
import { WorkQueue, defaultControllerRateLimiter } from "../client/workqueue.js";
import { realClock } from "../client/clock.js";
import { silentLogger, type Logger, type Runnable } from "../client/runnable.js";

/** One watchable resource type, as the catalogue describes it. */
export interface ResourceInfo {
  gvr: string;
  group: string;
  kind: string;
  namespaced: boolean;
}

type DefLike = Pick<ResourceDef, "group" | "version" | "plural" | "kind" | "namespaced" | "verbs" | "storageResource" | "storageVersion">;

/**
 * Resource types from catalogue defs that can be listed and watched, one per storage
 * (a resource served in several versions, or aliased like events.k8s.io events, is
 * watched once: the same objects would otherwise appear twice).
 */
export function resourcesFromDefs(defs: readonly DefLike[]): ResourceInfo[] {
  const out = new Map<string, ResourceInfo>();
  for (const d of defs) {
    if (d.storageResource) continue;
    if (d.verbs && !(d.verbs.includes("list") && d.verbs.includes("watch") && d.verbs.includes("delete"))) continue;
    const id = `${d.group}/${d.plural}`;
    const info = { gvr: gvrKey(d), group: d.group, kind: d.kind, namespaced: d.namespaced };
    // Prefer the storage version when several versions are served.
    if (!out.has(id) || d.storageVersion === d.version) out.set(id, info);
  }
  return [...out.values()];
}

const ORPHAN = "orphan";
const FOREGROUND = "foregroundDeletion";

interface GraphNode {
  res: ResourceInfo;
  obj: KObject;
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

type OwnerState = "solid" | "dangling" | "waiting";

export class GarbageCollector {
  private nodes = new Map<string, GraphNode>();
  /** owner uid → uids of objects whose ownerReferences name it. */
  private dependents = new Map<string, Set<string>>();
  private byKind = new Map<string, ResourceInfo>();
  private readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly client: Client;

  constructor(
    private readonly resources: ResourceInfo[],
    private readonly deps: ControllerDeps,
    private readonly workers = 4,
  ) {
    for (const r of resources) this.byKind.set(`${r.group}/${r.kind}`, r);
    const clock = deps.clock ?? realClock;
    this.queue = new WorkQueue({ name: "garbagecollector", clock, rateLimiter: deps.rateLimiter ?? defaultControllerRateLimiter(clock) });
    this.log = deps.log ?? silentLogger;
    this.client = deps.client;
  }

  async run(signal: AbortSignal): Promise<void> {
    const handles = this.resources.map((res) =>
      this.deps.informers.informerFor(res.gvr).addEventHandler({
        onAdd: (o) => this.upsert(res, undefined, o),
        onUpdate: (old, o) => this.upsert(res, old, o),
        onDelete: (o) => this.remove(o),
      }),
    );
    const stop = () => this.queue.shutdown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      this.deps.informers.start(signal);
      // Deciding "owner gone" on a partial graph would delete live objects' dependents.
      if (!(await this.deps.informers.waitForSync(signal, this.resources.map((r) => r.gvr)))) return;
      await Promise.all(Array.from({ length: this.workers }, () => this.worker(signal)));
    } finally {
      signal.removeEventListener("abort", stop);
      this.queue.shutdown();
      for (const h of handles) h.remove();
    }
  }

  /** Dependents currently in the graph that still reference ownerUid. */
  dependentsOf(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependents.get(ownerUid) ?? []) {
      const n = this.nodes.get(uid);
      if (n && (n.obj.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid)) out.push(n);
    }
    return out;
  }

  private upsert(res: ResourceInfo, old: KObject | undefined, obj: KObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const oldRefs = old?.metadata.ownerReferences ?? [];
    const refs = obj.metadata.ownerReferences ?? [];
    for (const r of oldRefs) if (!refs.some((x) => x.uid === r.uid)) this.unlink(r.uid, uid);
    for (const r of refs) this.link(r.uid, uid);
    this.nodes.set(uid, { res, obj });
    const fins = obj.metadata.finalizers ?? [];
    if (refs.length > 0 || (obj.metadata.deletionTimestamp && (fins.includes(ORPHAN) || fins.includes(FOREGROUND)))) this.queue.add(uid);
    // An owner waiting in foreground deletion is unblocked when a dependent lets go of it.
    for (const r of oldRefs) if (!refs.some((x) => x.uid === r.uid)) this.wakeWaitingOwner(r.uid);
    // A dependent of an owner whose state changed (e.g. now deleting) is re-evaluated by the owner.
    if (old && old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp) for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
  }

  private remove(obj: KObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    this.nodes.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) {
      this.unlink(r.uid, uid);
      this.wakeWaitingOwner(r.uid);
    }
    // Its dependents may now be dangling.
    for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
  }

  private wakeWaitingOwner(ownerUid: string): void {
    const o = this.nodes.get(ownerUid);
    if (o?.obj.metadata.deletionTimestamp && (o.obj.metadata.finalizers ?? []).includes(FOREGROUND)) this.queue.add(ownerUid);
  }

  private link(owner: string, dep: string): void {
    let s = this.dependents.get(owner);
    if (!s) this.dependents.set(owner, (s = new Set()));
    s.add(dep);
  }

  private unlink(owner: string, dep: string): void {
    const s = this.dependents.get(owner);
    if (!s) return;
    s.delete(dep);
    if (s.size === 0) this.dependents.delete(owner);
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const uid = await this.queue.get();
      if (uid === undefined) return;
      try {
        await this.process(uid);
        this.queue.forget(uid);
      } catch (err) {
        if (!signal.aborted) {
          this.log.error("garbage collection failed; retrying", { uid, error: String((err as Error)?.message ?? err) });
          this.queue.addRateLimited(uid);
        }
      } finally {
        this.queue.done(uid);
      }
    }
  }

  private async process(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    const m = node.obj.metadata;
    if (m.deletionTimestamp) {
      const fins = m.finalizers ?? [];
      if (fins.includes(ORPHAN)) {
        await this.orphanDependents(node);
        await this.removeFinalizer(node, ORPHAN);
      } else if (fins.includes(FOREGROUND)) {
        await this.processForeground(node);
      }
      return;
    }
    if ((m.ownerReferences ?? []).length > 0) await this.processDependent(node);
  }

  /** Foreground: delete every dependent; finish once none that blocks remains. */
  private async processForeground(owner: GraphNode): Promise<void> {
    const uid = owner.obj.metadata.uid!;
    const deps = this.dependentsOf(uid);
    for (const d of deps) {
      if (d.obj.metadata.deletionTimestamp) continue;
      const policy = this.dependentsOf(d.obj.metadata.uid!).length > 0 ? "Foreground" : "Background";
      await this.deleteObject(d, policy);
    }
    const blocking = deps.filter((d) => (d.obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion));
    if (blocking.length > 0) return; // their deletion events wake us again
    await this.removeFinalizer(owner, FOREGROUND);
  }

  private async processDependent(cached: GraphNode): Promise<void> {
    // The cache may lag (e.g. an orphaning owner's release not seen yet): decide on the live object.
    const live = await this.live(cached);
    if (!live || live.metadata.deletionTimestamp) return;
    const node: GraphNode = { res: cached.res, obj: live };
    const refs = live.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = new Map<OwnerReference, OwnerState>();
    for (const r of refs) states.set(r, await this.ownerState(node, r));
    const solid = refs.filter((r) => states.get(r) === "solid");
    const dangling = refs.filter((r) => states.get(r) === "dangling");
    const waiting = refs.filter((r) => states.get(r) === "waiting");
    if (solid.length > 0) {
      // Still owned: drop references to owners that are gone or being foreground-deleted.
      if (dangling.length + waiting.length > 0) {
        const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
        await this.rewriteOwnerRefs(node, (rs) => rs.filter((r) => !drop.has(r.uid)));
      }
      return;
    }
    const fins = node.obj.metadata.finalizers ?? [];
    let policy: DeleteOpts["propagationPolicy"] = "Background";
    if (waiting.length > 0 && this.dependentsOf(node.obj.metadata.uid!).length > 0) policy = "Foreground";
    else if (fins.includes(ORPHAN)) policy = "Orphan";
    else if (fins.includes(FOREGROUND)) policy = "Foreground";
    this.log.debug?.("deleting object whose owners are gone", { gvr: node.res.gvr, namespace: node.obj.metadata.namespace, name: node.obj.metadata.name, policy });
    await this.deleteObject(node, policy, true);
  }

  /** solid: exists (and not foreground-deleting); waiting: foreground-deleting; dangling: gone. */
  private async ownerState(node: GraphNode, ref: OwnerReference): Promise<OwnerState> {
    const res = this.byKind.get(`${groupOf(ref.apiVersion)}/${ref.kind}`);
    // An owner kind we do not know is never treated as gone.
    if (!res) return "solid";
    const depNs = node.obj.metadata.namespace;
    // A namespaced owner cannot own a cluster-scoped object: the reference is invalid.
    if (res.namespaced && !depNs) return "dangling";
    const ns = res.namespaced ? depNs : undefined;
    let owner: KObject | undefined = this.nodes.get(ref.uid)?.obj;
    if (!owner) {
      // The cache may lag behind a just-created owner: ask the API before deciding.
      try {
        owner = await this.client.get(res.gvr, ns, ref.name);
      } catch (err) {
        if (codeOf(err) === 404) return "dangling";
        throw err;
      }
    }
    if (owner.metadata.uid !== ref.uid || owner.metadata.name !== ref.name) return "dangling";
    if (owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FOREGROUND)) return "waiting";
    return "solid";
  }

  /**
   * Deletes with a uid precondition (never a same-named successor); with exactRevision
   * also a resourceVersion one, so a decision taken on a read that has since changed
   * (say, an orphaning owner just released it) fails with 409 and is re-evaluated.
   */
  private async deleteObject(node: GraphNode, policy: DeleteOpts["propagationPolicy"], exactRevision = false): Promise<void> {
    const m = node.obj.metadata;
    const preconditions = exactRevision ? { uid: m.uid, resourceVersion: m.resourceVersion } : { uid: m.uid };
    try {
      await this.client.delete(node.res.gvr, m.namespace, m.name!, { propagationPolicy: policy, preconditions });
    } catch (err) {
      if (codeOf(err) !== 404) throw err;
    }
  }

  /**
   * Releases every dependent. The graph alone is not enough here: informers of different
   * types are not ordered with each other, so a dependent created just before the owner's
   * deletion may not be in the graph yet, and missing it would later delete it as dangling.
   * Orphaning is rare, so a live list of each type is affordable.
   */
  private async orphanDependents(owner: GraphNode): Promise<void> {
    const uid = owner.obj.metadata.uid!;
    const found = new Map<string, GraphNode>();
    for (const d of this.dependentsOf(uid)) found.set(d.obj.metadata.uid!, d);
    const ns = owner.res.namespaced ? owner.obj.metadata.namespace : undefined;
    for (const res of this.resources) {
      if (ns && !res.namespaced) continue;
      const items = (await this.client.list(res.gvr, ns && res.namespaced ? { namespace: ns } : {})).items;
      for (const o of items) {
        if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) found.set(o.metadata.uid!, { res, obj: o });
      }
    }
    for (const d of found.values()) await this.rewriteOwnerRefs(d, (rs) => rs.filter((r) => r.uid !== uid));
  }

  /** Live read-modify-write of ownerReferences (retried by the queue on conflict). */
  private async rewriteOwnerRefs(node: GraphNode, change: (refs: OwnerReference[]) => OwnerReference[]): Promise<void> {
    const live = await this.live(node);
    if (!live) return;
    const before = live.metadata.ownerReferences ?? [];
    const after = change(before);
    if (after.length === before.length) return;
    if (after.length) live.metadata.ownerReferences = after;
    else delete live.metadata.ownerReferences;
    await this.ignoreNotFound(this.client.update(node.res.gvr, live));
  }

  private async removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    const live = await this.live(node);
    if (!live || !(live.metadata.finalizers ?? []).includes(finalizer)) return;
    live.metadata.finalizers = live.metadata.finalizers!.filter((f) => f !== finalizer);
    await this.ignoreNotFound(this.client.update(node.res.gvr, live));
  }

  /** The current object (a mutable copy), or undefined when it is gone or was replaced. */
  private async live(node: GraphNode): Promise<KObject | undefined> {
    const m = node.obj.metadata;
    try {
      const o = await this.client.get(node.res.gvr, m.namespace, m.name!);
      return o.metadata.uid === m.uid ? deepCopy(o) : undefined;
    } catch (err) {
      if (codeOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (codeOf(err) !== 404) throw err;
    }
  }
}

/** The garbage collector as a leader-only Runnable over the given resource types. */
export function garbageCollectorRunnable(resources: ResourceInfo[], deps: ControllerDeps, workers = 4): Runnable {
  return {
    name: "controller/garbagecollector",
    needsLeader: true,
    start: (signal) => new GarbageCollector(resources, deps, workers).run(signal),
  };
}
