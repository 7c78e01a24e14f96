// The DaemonSet controller (https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/):
// one pod per eligible node. A node is eligible when it matches the template's
// nodeSelector and required node affinity and every NoSchedule/NoExecute taint is
// tolerated, counting the tolerations upstream adds to every daemon pod (not-ready,
// unreachable, disk/memory/pid-pressure, unschedulable; network-unavailable for
// hostNetwork pods), so cordoned nodes still get their daemon. Like upstream, pods are
// pinned with a required node affinity term `matchFields metadata.name In [node]` and
// the scheduler binds them (spec.nodeName is not set here). Nodes added later get a pod
// (node events wake every DaemonSet). Updates use the revision history
// (controllerrevision.ts): RollingUpdate within maxUnavailable / maxSurge, or OnDelete.

import { isStatusError } from "../apimachinery/errors.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import { deepCopy, type KObject } from "../apimachinery/types.js";
import type { Controller, ObjectKey, ReconcileContext, ReconcileResult } from "../client/controller.js";
import { termMatches, type NodeSelectorTerm } from "../scheduler/plugins/nodeaffinity.js";
import { firstUntoleratedTaint } from "../scheduler/plugins/tainttoleration.js";
import type { Taint, Toleration } from "../scheduler/snapshot.js";
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, revisionHash, syncHistory, truncateHistory } from "./controllerrevision.js";

export const DAEMONSETS = "apps/v1/daemonsets";
const PODS = "v1/pods";
const NODES = "v1/nodes";
export const POD_TEMPLATE_GENERATION_LABEL = "pod-template-generation";

type Cond = { type: string; status: string; lastTransitionTime?: string };

/** The tolerations every daemon pod gets (upstream's AddOrUpdateDaemonPodTolerations). */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (hostNetwork) t.push({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  return t;
}

function withDaemonTolerations(spec: Record<string, any>): Toleration[] {
  const own: Toleration[] = [...(spec.tolerations ?? [])];
  for (const d of daemonPodTolerations(spec.hostNetwork === true)) {
    if (!own.some((x) => x.key === d.key && x.effect === d.effect)) own.push(d);
  }
  return own;
}

/** Whether a daemon pod of this template should run on the node (nodeShouldRunDaemonPod). */
export function nodeShouldRunDaemonPod(templateSpec: Record<string, any>, node: KObject): boolean {
  const labels = (node.metadata.labels ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries((templateSpec.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const terms: NodeSelectorTerm[] | undefined = templateSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const ni = { name: node.metadata.name!, labels };
  if (terms && !terms.some((t) => termMatches(t, ni))) return false;
  const taints: Taint[] = node.spec?.taints ?? [];
  return firstUntoleratedTaint(taints, withDaemonTolerations(templateSpec)) === undefined;
}

/** The node a daemon pod is for: its binding, else the pinned affinity term. */
export function daemonPodNode(p: KObject): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  for (const t of p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of t.matchFields ?? []) if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

function newPod(ds: KObject, hash: string, node: string): KObject {
  const t = deepCopy(ds.spec.template ?? {});
  const spec = t.spec ?? {};
  spec.tolerations = withDaemonTolerations(spec);
  // Replace any required terms with the single node pin, keeping preferred terms.
  spec.affinity ??= {};
  spec.affinity.nodeAffinity ??= {};
  spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }],
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash, [POD_TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1) },
      annotations: { ...(t.metadata?.annotations ?? {}) },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: ds.metadata.name!, uid: ds.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}

const isReady = (p: KObject) => (p.status?.conditions ?? []).some((c: Cond) => c.type === "Ready" && c.status === "True");

function isAvailable(p: KObject, minReadySeconds: number, now: number): boolean {
  if (!isReady(p) || p.metadata.deletionTimestamp) return false;
  if (minReadySeconds <= 0) return true;
  const c = (p.status?.conditions ?? []).find((x: Cond) => x.type === "Ready");
  return (c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : now) + minReadySeconds * 1000 <= now;
}

/** An int-or-percent of `total`, rounded up as upstream does for DaemonSets. */
export function scaledValue(v: unknown, total: number): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^\d+%$/.test(v)) return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return 0;
}

async function deletePod(ctx: ReconcileContext, ds: KObject, p: KObject): Promise<void> {
  try {
    await ctx.client.delete(PODS, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
    ctx.recorder.event(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`);
  } catch (err) {
    if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) throw err;
  }
}

/**
 * Pods this controller created but its cache may not show yet: without this, a stale
 * cache after a create would make a second pod for the same node.
 */
const pendingCreates = new Map<string, { nodes: Set<string>; at: number }>();

/** Builds the controller; node events wake every DaemonSet it has seen. */
export function daemonSetController(): Controller {
  const known = new Set<string>();
  const keyOf = (k: ObjectKey) => `${k.namespace ?? ""}/${k.name}`;
  return {
    name: "daemonset",
    for: DAEMONSETS,
    owns: [PODS, CONTROLLER_REVISIONS],
    watches: [
      {
        gvr: NODES,
        map: () =>
          [...known].map((k) => {
            const [namespace, name] = k.split("/");
            return { namespace: namespace || undefined, name };
          }),
      },
    ],
    async reconcile(ctx, key): Promise<ReconcileResult> {
      const ds = ctx.reader.get(DAEMONSETS, key.namespace, key.name);
      if (!ds || ds.metadata.deletionTimestamp) {
        known.delete(keyOf(key));
        return;
      }
      known.add(keyOf(key));
      return syncDaemonSet(ctx, ds);
    },
  };
}

async function syncDaemonSet(ctx: ReconcileContext, ds: KObject): Promise<ReconcileResult> {
  const now = ctx.clock.now();
  const uid = ds.metadata.uid!;
  const history = await syncHistory(ctx, { obj: ds, apiVersion: "apps/v1", kind: "DaemonSet" });
  const hash = revisionHash(history.update);
  const selector = selectorFromLabelSelector(ds.spec?.selector);
  const pods = ctx.reader.ownedBy(PODS, uid).filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid) && selector.matches(p.metadata.labels));
  const nodes = ctx.reader.list(NODES);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name!));
  const byNode = new Map<string, KObject[]>();
  const orphans: KObject[] = [];
  for (const p of pods) {
    const n = daemonPodNode(p);
    if (!n || !nodeNames.has(n)) orphans.push(p);
    else byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const pk = `${ds.metadata.namespace}/${ds.metadata.name}/${uid}`;
  let pending = pendingCreates.get(pk);
  if (!pending || now - pending.at > 60_000) pendingCreates.set(pk, (pending = { nodes: new Set(), at: now }));
  for (const n of pending.nodes) if ((byNode.get(n) ?? []).length) pending.nodes.delete(n);

  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const tspec = ds.spec?.template?.spec ?? {};
  const strategy = ds.spec?.updateStrategy ?? { type: "RollingUpdate" };
  const rolling = strategy.type !== "OnDelete";
  const surgeAllowed = rolling && scaledValue(strategy.rollingUpdate?.maxSurge ?? 0, Math.max(1, nodes.length)) > 0;
  const toCreate: string[] = [];
  const toDelete: KObject[] = [...orphans.filter((p) => !p.metadata.deletionTimestamp)];
  const eligible: string[] = [];
  for (const node of nodes) {
    const name = node.metadata.name!;
    const live = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
    if (!nodeShouldRunDaemonPod(tspec, node)) {
      toDelete.push(...live);
      continue;
    }
    eligible.push(name);
    const failed = live.filter((p) => p.status?.phase === "Failed" || p.status?.phase === "Succeeded");
    toDelete.push(...failed);
    const running = live.filter((p) => !failed.includes(p));
    if (running.length === 0) {
      if (!pending.nodes.has(name) && !(byNode.get(name) ?? []).some((p) => p.metadata.deletionTimestamp)) toCreate.push(name);
      continue;
    }
    // More than one daemon pod: an available updated one wins (a finished surge); during a
    // surge an old+new pair is expected; otherwise duplicates go, oldest kept.
    if (running.length > 1) {
      const sorted = [...running].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
      const newOnes = sorted.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
      const oldOnes = sorted.filter((p) => !newOnes.includes(p));
      const winner = newOnes.find((p) => isAvailable(p, minReady, now));
      if (winner) toDelete.push(...sorted.filter((p) => p !== winner));
      else if (surgeAllowed && newOnes.length && oldOnes.length) toDelete.push(...newOnes.slice(1), ...oldOnes.slice(1));
      else toDelete.push(...sorted.slice(1));
    }
  }

  // Rolling update within the budget.
  if (rolling) {
    const desired = eligible.length;
    const maxSurge = scaledValue(strategy.rollingUpdate?.maxSurge ?? 0, desired);
    let maxUnavailable = scaledValue(strategy.rollingUpdate?.maxUnavailable ?? 1, desired);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const nodePods = (n: string) => (byNode.get(n) ?? []).filter((p) => !p.metadata.deletionTimestamp && !toDelete.includes(p));
    const unavailableNodes = eligible.filter((n) => !nodePods(n).some((p) => isAvailable(p, minReady, now)));
    const oldOnly = eligible.filter((n) => {
      const ps = nodePods(n);
      return ps.length > 0 && ps.every((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
    });
    if (maxSurge === 0) {
      let budget = maxUnavailable - unavailableNodes.length;
      for (const n of oldOnly) {
        const ps = nodePods(n);
        const avail = ps.some((p) => isAvailable(p, minReady, now));
        // Replacing an already-unavailable pod costs nothing.
        if (!avail) toDelete.push(...ps);
        else if (budget > 0) {
          budget--;
          toDelete.push(...ps);
        }
      }
    } else {
      const surging = eligible.filter((n) => nodePods(n).length > 1).length;
      let budget = maxSurge - surging;
      for (const n of oldOnly) {
        const avail = nodePods(n).some((p) => isAvailable(p, minReady, now));
        if (!avail) toDelete.push(...nodePods(n));
        else if (budget > 0 && !pending.nodes.has(n)) {
          budget--;
          toCreate.push(n);
        }
      }
    }
  }

  for (const p of toDelete) await deletePod(ctx, ds, p);
  for (const n of toCreate) {
    pending.nodes.add(n);
    const created = await ctx.client.create(PODS, newPod(ds, hash, n));
    ctx.recorder.event(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
  }

  // Status, per node as upstream counts it.
  const eligibleSet = new Set(eligible);
  let current = 0,
    mis = 0,
    ready = 0,
    available = 0,
    updated = 0;
  for (const [n, ps] of byNode) {
    const live = ps.filter((p) => !p.metadata.deletionTimestamp);
    if (!live.length) continue;
    if (!eligibleSet.has(n)) {
      mis++;
      continue;
    }
    current++;
    if (live.some(isReady)) ready++;
    if (live.some((p) => isAvailable(p, minReady, now))) available++;
    if (live.some((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash)) updated++;
  }
  const status: Record<string, any> = {
    ...(deepCopy(ds.status ?? {}) as object),
    observedGeneration: ds.metadata.generation,
    desiredNumberScheduled: eligible.length,
    currentNumberScheduled: current,
    numberMisscheduled: mis,
    numberReady: ready,
    numberAvailable: available,
    updatedNumberScheduled: updated,
    numberUnavailable: Math.max(0, eligible.length - available),
  };
  if (!status.numberUnavailable) delete status.numberUnavailable;
  if (JSON.stringify(status) !== JSON.stringify(ds.status ?? {})) await ctx.client.updateStatus(DAEMONSETS, { ...deepCopy(ds), status });
  const inUse = new Set<string>(pods.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? ""));
  await truncateHistory(ctx, history, inUse, ds.spec?.revisionHistoryLimit ?? 10);
  if (minReady > 0 && ready > available) return { requeueAfter: 1000 };
  return;
}
