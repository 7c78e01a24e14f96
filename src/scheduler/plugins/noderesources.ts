// NodeResourcesFit and NodeResourcesBalancedAllocation, the resource plugins of
// kube-scheduler (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/
// and https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-scheduled).
// The filter checks that the pod's effective requests (containers max'd with init
// containers, plus overhead; computed once in PodInfo) fit the node's allocatable minus
// what bound and assumed pods already request, and that the pod count stays within
// allocatable "pods". Scoring: LeastAllocated prefers emptier nodes (spreading);
// BalancedAllocation prefers nodes whose cpu and memory fractions stay close.

import { MAX_NODE_SCORE, type CycleContext, type FilterFailure, type Plugin } from "../framework.js";
import type { NodeInfo } from "../snapshot.js";

export const TOO_MANY_PODS = "Too many pods";

/** Every resource the pod asks for that the node cannot give, in upstream's order. */
export function insufficientResources(ctx: CycleContext, ni: NodeInfo): string[] {
  const out: string[] = [];
  if (ni.pods.size + 1 > ni.allowedPods) out.push(TOO_MANY_PODS);
  const r = ctx.pod.requests;
  if (r.milliCPU > 0 && r.milliCPU > ni.allocatable.milliCPU - ni.requested.milliCPU) out.push("Insufficient cpu");
  if (r.memory > 0 && r.memory > ni.allocatable.memory - ni.requested.memory) out.push("Insufficient memory");
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > ni.allocatable.ephemeralStorage - ni.requested.ephemeralStorage) {
    out.push("Insufficient ephemeral-storage");
  }
  for (const name in r.scalar) {
    const want = r.scalar[name]!;
    if (want > 0 && want > (ni.allocatable.scalar[name] ?? 0) - (ni.requested.scalar[name] ?? 0)) out.push(`Insufficient ${name}`);
  }
  return out;
}

export const nodeResourcesFit: Plugin = {
  name: "NodeResourcesFit",
  weight: 1,
  filter(ctx, ni): FilterFailure | undefined {
    // Fast path: the common case allocates nothing.
    const r = ctx.pod.requests;
    if (
      ni.pods.size + 1 <= ni.allowedPods &&
      r.milliCPU <= ni.allocatable.milliCPU - ni.requested.milliCPU &&
      r.memory <= ni.allocatable.memory - ni.requested.memory &&
      r.ephemeralStorage <= ni.allocatable.ephemeralStorage - ni.requested.ephemeralStorage
    ) {
      let scalarOk = true;
      for (const name in r.scalar) {
        const want = r.scalar[name]!;
        if (want > 0 && want > (ni.allocatable.scalar[name] ?? 0) - (ni.requested.scalar[name] ?? 0)) scalarOk = false;
      }
      if (scalarOk) return undefined;
    }
    const reasons = insufficientResources(ctx, ni);
    return reasons.length ? { reasons } : undefined;
  },
  // LeastAllocated over cpu and memory, weight 1 each (upstream default scoring strategy).
  score(ctx, ni): number {
    const cpu = leastAllocated(ni.nonZeroCPU + ctx.pod.nonZeroCPU, ni.allocatable.milliCPU);
    const mem = leastAllocated(ni.nonZeroMemory + ctx.pod.nonZeroMemory, ni.allocatable.memory);
    return Math.floor((cpu + mem) / 2);
  },
};

function leastAllocated(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export const nodeResourcesBalancedAllocation: Plugin = {
  name: "NodeResourcesBalancedAllocation",
  weight: 1,
  score(ctx, ni): number {
    const fractions: number[] = [];
    if (ni.allocatable.milliCPU > 0) fractions.push(Math.min(1, (ni.nonZeroCPU + ctx.pod.nonZeroCPU) / ni.allocatable.milliCPU));
    if (ni.allocatable.memory > 0) fractions.push(Math.min(1, (ni.nonZeroMemory + ctx.pod.nonZeroMemory) / ni.allocatable.memory));
    if (fractions.length < 2) return MAX_NODE_SCORE;
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    const variance = fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length;
    return Math.floor((1 - Math.sqrt(variance)) * MAX_NODE_SCORE);
  },
};
