// The ReplicaSet controller (https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/):
// keeps spec.replicas pods matching the selector alive. It creates pods from the
// template (generateName `<rs>-`, a controlling ownerReference), deletes surplus pods
// in upstream's order (unscheduled, then pending/not ready, then the youngest), adopts
// orphan pods the selector matches and releases owned pods it no longer matches.
// "Expectations" remember the creates/deletes in flight per ReplicaSet, so a lagging
// informer never makes it create twice; creates go in slow-start batches (1, 2, 4, …)
// so a failing template costs one error, not hundreds. Status reports replicas,
// fullyLabeledReplicas, readyReplicas, availableReplicas (minReadySeconds) and
// observedGeneration.

import { deepCopy, nowRFC3339, type KObject, type OwnerReference } from "../apimachinery/types.js";
import { selectorFromLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import type { Controller, ReconcileContext } from "../client/controller.js";

const REPLICASETS = "apps/v1/replicasets";
const PODS = "v1/pods";
/** Upstream's burstReplicas: at most this many creates/deletes per sync. */
const BURST_REPLICAS = 500;
/** Expectations older than this are presumed lost (a missed watch event) and dropped. */
const EXPECTATIONS_TTL_MS = 5 * 60_000;

// ---------------------------------------------------------------------------------------
// Pod state, shared with the Deployment and Endpoints controllers.

function readyCondition(pod: KObject): { status?: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions ?? []).find((c: { type?: string }) => c?.type === "Ready");
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: KObject): boolean {
  return readyCondition(pod)?.status === "True";
}

/** podutil.IsPodAvailable: ready for at least minReadySeconds. */
export function isPodAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  const c = readyCondition(pod);
  if (c?.status !== "True") return false;
  if (!minReadySeconds) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

/** Pods that count: not being deleted and not finished (controller.FilterActivePods). */
export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed";
}

/** The controlling ownerReference, if any. */
export function controllerRef(o: KObject): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller);
}

/** A controlling ownerReference pointing at owner. */
export function ownerRefTo(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

function safeSelector(sel: unknown): LabelSelectorMatcher | undefined {
  try {
    const m = selectorFromLabelSelector(sel as never);
    // An empty selector would claim every pod in the namespace: never act on it.
    return m.toString() === "" ? undefined : m;
  } catch {
    return undefined;
  }
}

/**
 * Deletion order (upstream's ActivePods sort): unscheduled before scheduled, Pending
 * before Unknown before Running, not ready before ready, ready for less time first,
 * more restarts first, newest first. Negative = a is deleted before b.
 */
export function compareForDeletion(a: KObject, b: KObject): number {
  const scheduled = (p: KObject) => (p.spec?.nodeName ? 1 : 0);
  const phaseRank = (p: KObject) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase as string] ?? 0;
  const ready = (p: KObject) => (isPodReady(p) ? 1 : 0);
  const readySince = (p: KObject) => Date.parse(readyCondition(p)?.lastTransitionTime ?? "") || 0;
  const restarts = (p: KObject) => (p.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c?.restartCount ?? 0), 0);
  const created = (p: KObject) => Date.parse(p.metadata.creationTimestamp ?? "") || 0;
  return (
    scheduled(a) - scheduled(b) ||
    phaseRank(a) - phaseRank(b) ||
    ready(a) - ready(b) ||
    (ready(a) && ready(b) ? readySince(b) - readySince(a) : 0) ||
    restarts(b) - restarts(a) ||
    created(b) - created(a) ||
    (b.metadata.name ?? "").localeCompare(a.metadata.name ?? "")
  );
}

// ---------------------------------------------------------------------------------------
// Expectations (controller.ControllerExpectations, keyed by pod name).

interface Expectation {
  creates: Set<string>;
  deletes: Set<string>;
  at: number;
}

export class PodExpectations {
  private byKey = new Map<string, Expectation>();

  expect(key: string, creates: string[], deletes: string[], now: number): void {
    const e = this.byKey.get(key) ?? { creates: new Set(), deletes: new Set(), at: now };
    for (const n of creates) e.creates.add(n);
    for (const n of deletes) e.deletes.add(n);
    e.at = now;
    this.byKey.set(key, e);
  }

  /** True when every expected create is in the cache and every expected delete left it. */
  satisfied(key: string, seen: (name: string) => KObject | undefined, now: number): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    for (const n of e.creates) if (seen(n)) e.creates.delete(n);
    for (const n of e.deletes) {
      const p = seen(n);
      if (!p || p.metadata.deletionTimestamp) e.deletes.delete(n);
    }
    if ((e.creates.size === 0 && e.deletes.size === 0) || now - e.at > EXPECTATIONS_TTL_MS) {
      this.byKey.delete(key);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

// ---------------------------------------------------------------------------------------
// Reconcile.

function podFromTemplate(rs: KObject): KObject {
  const t = rs.spec.template ?? {};
  const meta = t.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: deepCopy(meta.labels ?? {}),
      ...(meta.annotations ? { annotations: deepCopy(meta.annotations) } : {}),
      ownerReferences: [ownerRefTo(rs, "apps/v1", "ReplicaSet")],
    },
    spec: deepCopy(t.spec ?? {}),
  };
}

/** Runs fn over items in slow-start batches (1, 2, 4, …); stops after the first failing batch. */
async function slowStart<T>(items: T[], fn: (item: T) => Promise<void>): Promise<{ done: number; error?: unknown }> {
  let done = 0;
  for (let batch = 1; done < items.length; batch *= 2) {
    const slice = items.slice(done, done + batch);
    const results = await Promise.allSettled(slice.map(fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    done += results.filter((r) => r.status === "fulfilled").length;
    if (failed) return { done, error: failed.reason };
  }
  return { done };
}

const codeOf = (err: unknown): number | undefined => (err as { code?: number })?.code;

/** Adopts orphans matching the selector and releases owned pods that no longer match. */
async function claimPods(ctx: ReconcileContext, rs: KObject, sel: LabelSelectorMatcher): Promise<KObject[]> {
  const uid = rs.metadata.uid!;
  const claimed: KObject[] = [];
  for (const pod of ctx.reader.list(PODS, { namespace: rs.metadata.namespace })) {
    const ref = controllerRef(pod);
    const matches = sel.matches(pod.metadata.labels ?? {});
    if (ref?.uid === uid) {
      if (matches || pod.metadata.deletionTimestamp) {
        claimed.push(pod);
        continue;
      }
      // Release: drop our reference, keep everyone else's.
      const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await ignoreNotFound(ctx.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, "merge", { metadata: { ownerReferences: refs.length ? refs : null } }));
      continue;
    }
    if (ref || !matches || pod.metadata.deletionTimestamp || rs.metadata.deletionTimestamp) continue;
    const refs = [...(pod.metadata.ownerReferences ?? []), ownerRefTo(rs, "apps/v1", "ReplicaSet")];
    try {
      const adopted = await ctx.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, "merge", {
        metadata: { ownerReferences: refs, resourceVersion: pod.metadata.resourceVersion },
      });
      claimed.push(adopted);
    } catch (err) {
      // Someone else changed it first; the next sync sees who won.
      if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
    }
  }
  return claimed;
}

async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (codeOf(err) === 404) return undefined;
    throw err;
  }
}

async function manageReplicas(ctx: ReconcileContext, rs: KObject, active: KObject[], expectations: PodExpectations, key: string): Promise<void> {
  const want = Number(rs.spec.replicas ?? 1);
  const diff = active.length - want;
  if (diff < 0) {
    const n = Math.min(-diff, BURST_REPLICAS);
    const result = await slowStart(
      Array.from({ length: n }, (_, i) => i),
      async () => {
        const created = await ctx.client.create(PODS, podFromTemplate(rs));
        expectations.expect(key, [created.metadata.name!], [], ctx.clock.now());
      },
    );
    if (result.error !== undefined) {
      const msg = String((result.error as Error)?.message ?? result.error);
      ctx.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${msg}`);
      throw result.error;
    }
    if (result.done) ctx.recorder.event(rs, "Normal", "SuccessfulCreate", `Created ${result.done} pod(s)`);
  } else if (diff > 0) {
    const victims = [...active].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
    expectations.expect(key, [], victims.map((p) => p.metadata.name!), ctx.clock.now());
    const results = await Promise.allSettled(victims.map((p) => ignoreNotFound(ctx.client.delete(PODS, p.metadata.namespace, p.metadata.name!))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const deleted = victims.filter((_, i) => results[i].status === "fulfilled").map((p) => p.metadata.name);
    if (deleted.length) ctx.recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod(s): ${deleted.join(", ")}`);
    if (failed) {
      ctx.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${String(failed.reason?.message ?? failed.reason)}`);
      throw failed.reason;
    }
  }
}

function computeStatus(rs: KObject, active: KObject[], now: number): Record<string, any> {
  const minReady = Number(rs.spec.minReadySeconds ?? 0);
  const tmplLabels: Record<string, string> = rs.spec.template?.metadata?.labels ?? {};
  const fullyLabeled = active.filter((p) => Object.entries(tmplLabels).every(([k, v]) => p.metadata.labels?.[k] === v));
  const status: Record<string, any> = {
    ...(rs.status ?? {}),
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled.length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation,
  };
  return status;
}

/** The ReplicaSet controller; each call has its own expectations. */
export function replicaSetController(): Controller {
  const expectations = new PodExpectations();
  // The watch map gets no context; it borrows the cache reader the first reconcile saw.
  let reader: ReconcileContext["reader"] | undefined;
  return {
    name: "replicaset",
    for: REPLICASETS,
    owns: [PODS],
    // An orphan pod matching some selector wakes every ReplicaSet in its namespace that could adopt it.
    watches: [
      {
        gvr: PODS,
        map: (pod) =>
          reader
            ? replicaSetsForPod(reader.list(REPLICASETS, { namespace: pod.metadata.namespace }), pod).map((rs) => ({ namespace: rs.metadata.namespace, name: rs.metadata.name! }))
            : [],
      },
    ],
    workers: 2,
    async reconcile(ctx, key) {
      reader = ctx.reader;
      const k = `${key.namespace}/${key.name}`;
      const cached = ctx.reader.get(REPLICASETS, key.namespace, key.name);
      if (!cached) {
        expectations.forget(k);
        return;
      }
      const rs = deepCopy(cached);
      const sel = safeSelector(rs.spec?.selector);
      if (!sel) return;
      const pods = await claimPods(ctx, rs, sel);
      const active = pods.filter(isPodActive);
      const now = ctx.clock.now();
      const seen = (name: string) => ctx.reader.get(PODS, key.namespace, name);
      let failure: unknown;
      if (!rs.metadata.deletionTimestamp && expectations.satisfied(k, seen, now)) {
        try {
          await manageReplicas(ctx, rs, active, expectations, k);
        } catch (err) {
          failure = err;
        }
      }
      const status = computeStatus(rs, active, now);
      // ReplicaFailure tells `kubectl describe` why pods are missing; cleared once writes succeed.
      const others = (status.conditions ?? []).filter((c: { type: string }) => c.type !== "ReplicaFailure");
      if (failure !== undefined) {
        const prev = (status.conditions ?? []).find((c: { type: string }) => c.type === "ReplicaFailure");
        const message = String((failure as Error)?.message ?? failure);
        const reason = active.length < Number(rs.spec.replicas ?? 1) ? "FailedCreate" : "FailedDelete";
        others.push({ type: "ReplicaFailure", status: "True", reason, message, lastTransitionTime: prev?.lastTransitionTime ?? nowRFC3339(new Date(now)) });
      }
      if (others.length) status.conditions = others;
      else delete status.conditions;
      if (JSON.stringify(status) !== JSON.stringify(rs.status ?? {})) {
        await ctx.client.updateStatus(REPLICASETS, { ...rs, status });
      }
      if (failure !== undefined) throw failure;
      // Pods ready but not yet available become available on their own: look again then.
      const minReady = Number(rs.spec.minReadySeconds ?? 0);
      if (minReady > 0 && status.readyReplicas > status.availableReplicas) return { requeueAfter: minReady * 1000 };
    },
  };
}

/** The ReplicaSets that could adopt an orphan pod. */
export function replicaSetsForPod(rsList: KObject[], pod: KObject): KObject[] {
  if (controllerRef(pod)) return [];
  return rsList.filter((rs) => rs.metadata.namespace === pod.metadata.namespace && safeSelector(rs.spec?.selector)?.matches(pod.metadata.labels ?? {}));
}
