// NodeResourcesFit and NodeResourcesBalancedAllocation, the resource plugins of
// kube-scheduler (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/
// and https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-scheduled).
// The filter checks that the pod's effective requests (containers max'd with init
// containers, plus overhead; computed once in PodInfo) fit the node's allocatable minus
// what bound and assumed pods already request, and that the pod count stays within
// allocatable "pods". Scoring: LeastAllocated prefers emptier nodes (spreading);
// BalancedAllocation prefers nodes whose cpu and memory fractions stay close.

import { MAX_NODE_SCORE, type CycleContext, type FilterFailure, type Plugin } from "../framework.js";
import {
  FIT_ALLOC_CPU,
  FIT_ALLOC_EPHEMERAL,
  FIT_ALLOC_MEMORY,
  FIT_ALLOWED_PODS,
  FIT_NONZERO_CPU,
  FIT_NONZERO_MEMORY,
  FIT_PODS,
  FIT_REQ_CPU,
  FIT_REQ_EPHEMERAL,
  FIT_REQ_MEMORY,
  type NodeInfo,
} from "../snapshot.js";

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
    // Fast path, no allocation: the pod's requests were worked out once (PodInfo), the
    // node's counts are kept incrementally in its compact `fit` array, and only the
    // extended resources the pod actually asks for are looked at.
    const pod = ctx.pod;
    const r = pod.requests;
    const f = ni.fit;
    if (
      f[FIT_PODS]! + 1 <= f[FIT_ALLOWED_PODS]! &&
      r.milliCPU <= f[FIT_ALLOC_CPU]! - f[FIT_REQ_CPU]! &&
      r.memory <= f[FIT_ALLOC_MEMORY]! - f[FIT_REQ_MEMORY]! &&
      r.ephemeralStorage <= f[FIT_ALLOC_EPHEMERAL]! - f[FIT_REQ_EPHEMERAL]!
    ) {
      const names = pod.scalarRequests;
      let scalarOk = true;
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if (r.scalar[name]! > (ni.allocatable.scalar[name] ?? 0) - (ni.requested.scalar[name] ?? 0)) {
          scalarOk = false;
          break;
        }
      }
      if (scalarOk) return undefined;
    }
    const reasons = insufficientResources(ctx, ni);
    return reasons.length ? { reasons } : undefined;
  },
  // LeastAllocated over cpu and memory, weight 1 each (upstream default scoring strategy).
  score(ctx, ni): number {
    const f = ni.fit;
    const cpu = leastAllocated(f[FIT_NONZERO_CPU]! + ctx.pod.nonZeroCPU, f[FIT_ALLOC_CPU]!);
    const mem = leastAllocated(f[FIT_NONZERO_MEMORY]! + ctx.pod.nonZeroMemory, f[FIT_ALLOC_MEMORY]!);
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
    // Upstream's standard deviation of the cpu and memory requested fractions, in the
    // same arithmetic steps as the general n-resource form (mean, then variance), so the
    // scores are the same to the last bit, but without arrays per node.
    const f = ni.fit;
    const allocCPU = f[FIT_ALLOC_CPU]!;
    const allocMem = f[FIT_ALLOC_MEMORY]!;
    if (!(allocCPU > 0) || !(allocMem > 0)) return MAX_NODE_SCORE;
    const f1 = Math.min(1, (f[FIT_NONZERO_CPU]! + ctx.pod.nonZeroCPU) / allocCPU);
    const f2 = Math.min(1, (f[FIT_NONZERO_MEMORY]! + ctx.pod.nonZeroMemory) / allocMem);
    const mean = (f1 + f2) / 2;
    const variance = ((f1 - mean) ** 2 + (f2 - mean) ** 2) / 2;
    return Math.floor((1 - Math.sqrt(variance)) * MAX_NODE_SCORE);
  },
};
