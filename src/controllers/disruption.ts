// The disruption controller: keeps each PodDisruptionBudget's status current
// (https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ and
// https://kubernetes.io/docs/tasks/run-application/configure-pdb/). For the pods its
// selector matches it counts the healthy (Ready, not terminating, not just evicted) ones,
// derives how many must stay healthy from minAvailable / maxUnavailable (a number, or a
// percentage of the owning controllers' scale, rounded up), and publishes
// disruptionsAllowed, which the eviction subresource spends. Entries in disruptedPods
// (pods evicted but not yet gone) expire after two minutes, as upstream's DeletionTimeout.

import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { isDeepStrictEqual } from "node:util";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import type { Controller, ObjectKey, Reader } from "../client/controller.js";

const PDB = "policy/v1/poddisruptionbudgets";
/** How long an evicted pod may take to get its deletionTimestamp before it counts again. */
const DELETION_TIMEOUT_MS = 120_000;

/** Workloads whose scale gives the expected pod count, by controllerRef kind. */
const controllerGVRs: Record<string, string> = {
  ReplicaSet: "apps/v1/replicasets",
  Deployment: "apps/v1/deployments",
  StatefulSet: "apps/v1/statefulsets",
};

function isReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c?.type === "Ready" && c.status === "True");
}

/** An IntOrString against a total: integers as is, "N%" of total rounded up. */
function scaledValue(v: unknown, total: number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) throw new Error(`invalid value ${JSON.stringify(v)}: must be an integer or a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/**
 * The sum of the replicas of the pods' controllers (upstream getExpectedScale): a
 * ReplicaSet managed by a Deployment counts as the Deployment. Pods without a known
 * controller are counted one each, so a budget over bare pods still works.
 */
function expectedScale(reader: Reader, pods: KObject[]): number {
  const seen = new Map<string, number>();
  let bare = 0;
  for (const pod of pods) {
    const ref = (pod.metadata.ownerReferences ?? []).find((r) => r.controller);
    let owner = ref && controllerGVRs[ref.kind] ? reader.get(controllerGVRs[ref.kind]!, pod.metadata.namespace, ref.name) : undefined;
    if (!owner || (ref && owner.metadata.uid !== ref.uid)) {
      bare++;
      continue;
    }
    const parent = (owner.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === "Deployment");
    const dep = parent ? reader.get(controllerGVRs.Deployment!, pod.metadata.namespace, parent.name) : undefined;
    if (dep && dep.metadata.uid === parent!.uid) owner = dep;
    seen.set(owner.metadata.uid ?? `${owner.kind}/${owner.metadata.name}`, typeof owner.spec?.replicas === "number" ? owner.spec.replicas : 1);
  }
  return bare + [...seen.values()].reduce((a, b) => a + b, 0);
}

export function disruptionController(): Controller {
  // Which budgets exist per namespace, so a pod or workload event can wake them.
  const budgets = new Map<string, Set<string>>();
  const inNamespace = (o: KObject): ObjectKey[] => [...(budgets.get(o.metadata.namespace ?? "") ?? [])].map((name) => ({ namespace: o.metadata.namespace, name }));

  return {
    name: "disruption",
    for: PDB,
    watches: ["v1/pods", ...Object.values(controllerGVRs)].map((gvr) => ({ gvr, map: inNamespace })),
    async reconcile(ctx, key) {
      const ns = key.namespace ?? "";
      const pdb = ctx.reader.get(PDB, ns, key.name);
      if (!pdb) {
        budgets.get(ns)?.delete(key.name);
        return;
      }
      if (!budgets.has(ns)) budgets.set(ns, new Set());
      budgets.get(ns)!.add(key.name);
      if (pdb.metadata.deletionTimestamp) return;

      const now = ctx.clock.now();
      const nowStr = nowRFC3339(new Date(now));
      const spec = pdb.spec ?? {};
      // policy/v1: an empty selector selects every pod in the namespace; a null one none.
      const selector = spec.selector == null ? undefined : selectorFromLabelSelector(spec.selector);
      const pods = selector ? ctx.reader.list("v1/pods", { namespace: ns }).filter((p) => selector.matches(p.metadata.labels ?? {})) : [];

      // disruptedPods: pods the eviction API let go, until they terminate or the timeout passes.
      const disrupted: Record<string, string> = {};
      let nextExpiry: number | undefined;
      for (const pod of pods) {
        const at = pdb.status?.disruptedPods?.[pod.metadata.name!];
        if (!at || pod.metadata.deletionTimestamp) continue;
        const expiry = Date.parse(at) + DELETION_TIMEOUT_MS;
        if (!(expiry > now)) continue;
        disrupted[pod.metadata.name!] = at;
        nextExpiry = nextExpiry === undefined ? expiry : Math.min(nextExpiry, expiry);
      }

      let expected: number;
      let desired: number;
      let failure: string | undefined;
      try {
        if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
          expected = expectedScale(ctx.reader, pods);
          desired = expected - scaledValue(spec.maxUnavailable, expected);
        } else if (typeof spec.minAvailable === "number") {
          expected = pods.length;
          desired = spec.minAvailable;
        } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
          expected = expectedScale(ctx.reader, pods);
          desired = scaledValue(spec.minAvailable, expected);
        } else {
          expected = pods.length;
          desired = 0;
        }
      } catch (e) {
        failure = (e as Error).message;
        expected = pods.length;
        desired = expected;
      }
      desired = Math.max(0, desired);
      const healthy = pods.filter((p) => !p.metadata.deletionTimestamp && isReady(p) && !(p.metadata.name! in disrupted)).length;
      let allowed = healthy - desired;
      if (failure || expected <= 0 || allowed <= 0) allowed = 0;

      const prevConds: any[] = pdb.status?.conditions ?? [];
      const prev = prevConds.find((c) => c?.type === "DisruptionAllowed");
      const cond = failure
        ? { type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: failure }
        : allowed > 0
          ? { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "" }
          : { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "" };
      const condition = {
        ...cond,
        observedGeneration: pdb.metadata.generation,
        lastTransitionTime: prev && prev.status === cond.status ? prev.lastTransitionTime : nowStr,
      };
      const status = {
        ...(pdb.status ?? {}),
        observedGeneration: pdb.metadata.generation,
        disruptedPods: Object.keys(disrupted).length ? disrupted : undefined,
        currentHealthy: healthy,
        desiredHealthy: desired,
        expectedPods: expected,
        disruptionsAllowed: allowed,
        conditions: [...prevConds.filter((c) => c?.type !== "DisruptionAllowed"), condition],
      };
      // Compare as stored: undefined fields vanish in JSON, and must not look like a change.
      const next = JSON.parse(JSON.stringify(status));
      if (!isDeepStrictEqual(next, pdb.status)) {
        if (failure) ctx.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed", `Failed to calculate the number of expected pods: ${failure}`);
        await ctx.client.updateStatus(PDB, { ...pdb, status: next });
      }
      return nextExpiry !== undefined ? { requeueAfter: nextExpiry - now } : undefined;
    },
  };
}
