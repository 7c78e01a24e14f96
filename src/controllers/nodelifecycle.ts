// The node lifecycle controller with its NoExecute taint manager and the node IPAM
// range allocator, after kube-controller-manager's nodelifecycle and nodeipam
// controllers (https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller,
// https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions).
// A node whose Lease (kube-node-lease) and Ready heartbeat stop changing for
// nodeMonitorGracePeriod gets every condition set to Unknown; Ready=Unknown brings the
// node.kubernetes.io/unreachable taints, Ready=False the not-ready ones, Ready=True
// removes both. Pods on a NoExecute-tainted node are deleted at once unless they
// tolerate the taint, and after tolerationSeconds when the toleration is bounded.
// Nodes without spec.podCIDR get a free subnet of clusterCIDR. Silence is measured on
// this controller's clock (when it saw the lease change), not the kubelet's timestamps,
// so clock skew between machines cannot make a live node look dead.

import { deepCopy, type KObject } from "../apimachinery/types.js";
import type { Controller, ReconcileContext } from "../client/controller.js";
import { parseCIDR, intToIp } from "../agent/hollow/runtime.js";

const NODES = "v1/nodes";
const PODS = "v1/pods";
const LEASES = "coordination.k8s.io/v1/leases";
const LEASE_NAMESPACE = "kube-node-lease";

export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";

export interface NodeLifecycleOptions {
  /** Silence after which a node is Unknown (default 20 s; upstream --node-monitor-grace-period). */
  nodeMonitorGracePeriodMs?: number;
  /** Give nodes without spec.podCIDR a subnet (default true; upstream --allocate-node-cidrs). */
  allocateNodeCIDRs?: boolean;
  /** Default "10.42.0.0/16" (upstream --cluster-cidr). */
  clusterCIDR?: string;
  /** Default 24 (upstream --node-cidr-mask-size). */
  nodeCIDRMaskSize?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** Upstream's Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator ?? "Equal";
  if (op === "Exists") return true;
  if (!t.key) return false; // an empty key only works with Exists
  return (t.value ?? "") === (taint.value ?? "");
}

/**
 * When a pod must leave a node with these NoExecute taints: 0 = now, a deadline in ms,
 * or Infinity when every taint is tolerated forever.
 */
export function evictionDeadline(pod: KObject, taints: Taint[], addedAt: (t: Taint) => number): number {
  const tolerations: Toleration[] = Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations : [];
  let deadline = Infinity;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return 0;
    // The shortest bounded toleration wins; an unbounded one alone means "stay".
    const bounded = matching.filter((t) => typeof t.tolerationSeconds === "number");
    if (bounded.length === 0) continue;
    const secs = Math.max(0, Math.min(...bounded.map((t) => t.tolerationSeconds!)));
    deadline = Math.min(deadline, addedAt(taint) + secs * 1000);
  }
  return deadline;
}

/** Hands out /mask subnets of the cluster range; no two nodes share one. */
export class RangeAllocator {
  private readonly base: number;
  private readonly subnetSize: number;
  private readonly count: number;
  private used = new Set<number>();
  private byNode = new Map<string, number[]>();
  private next = 0;

  constructor(
    clusterCIDR: string,
    private readonly mask: number,
  ) {
    const c = parseCIDR(clusterCIDR);
    if (!c || mask < c.bits || mask > 32) throw new RangeError(`invalid cluster CIDR ${clusterCIDR} with node mask /${mask}`);
    this.base = c.base;
    this.subnetSize = 2 ** (32 - mask);
    this.count = c.size / this.subnetSize;
  }

  /** Records a node's existing podCIDR (any size): every subnet it overlaps is taken. */
  occupy(node: string, cidr: string): void {
    if (this.byNode.has(node)) return;
    const c = parseCIDR(cidr);
    if (!c) return;
    const first = Math.floor((c.base - this.base) / this.subnetSize);
    const last = Math.floor((c.base + c.size - 1 - this.base) / this.subnetSize);
    const idx: number[] = [];
    for (let i = Math.max(0, first); i <= Math.min(this.count - 1, last); i++) {
      this.used.add(i);
      idx.push(i);
    }
    this.byNode.set(node, idx);
  }

  /** The node's subnet (the same one on repeated calls); undefined when the range is full. */
  allocate(node: string): string | undefined {
    const have = this.byNode.get(node);
    if (have?.length) return this.cidrAt(have[0]!);
    for (let k = 0; k < this.count; k++) {
      const i = (this.next + k) % this.count;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.byNode.set(node, [i]);
      this.next = (i + 1) % this.count;
      return this.cidrAt(i);
    }
    return undefined;
  }

  release(node: string): void {
    for (const i of this.byNode.get(node) ?? []) this.used.delete(i);
    this.byNode.delete(node);
  }

  private cidrAt(i: number): string {
    return `${intToIp(this.base + i * this.subnetSize)}/${this.mask}`;
  }
}

const UNKNOWN_REASON = "NodeStatusUnknown";
const UNKNOWN_MESSAGE = "Kubelet stopped posting node status.";

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function readyCondition(node: KObject): any {
  return (node.status?.conditions as any[] | undefined)?.find((c) => c?.type === "Ready");
}

/** The taints the node's Ready condition calls for. */
function wantedTaints(ready: string | undefined): string | undefined {
  if (ready === "False") return TAINT_NOT_READY;
  if (ready === "Unknown") return TAINT_UNREACHABLE;
  return undefined;
}

export function nodeLifecycleController(opts: NodeLifecycleOptions = {}): Controller {
  const grace = opts.nodeMonitorGracePeriodMs ?? 20_000;
  const allocateCIDRs = opts.allocateNodeCIDRs ?? true;
  const allocator = new RangeAllocator(opts.clusterCIDR ?? "10.42.0.0/16", opts.nodeCIDRMaskSize ?? 24);
  let allocatorSeeded = false;
  /** node → last heartbeat signature and when this controller saw it change. */
  const probes = new Map<string, { sig: string; at: number }>();
  /** Taints without timeAdded count from when this controller first saw them. */
  const firstSeen = new Map<string, number>();

  async function assignCIDR(ctx: ReconcileContext, node: KObject): Promise<boolean> {
    if (!allocatorSeeded) {
      for (const n of ctx.reader.list(NODES)) if (n.spec?.podCIDR) allocator.occupy(n.metadata.name!, n.spec.podCIDR);
      allocatorSeeded = true;
    }
    const cidr = allocator.allocate(node.metadata.name!);
    if (!cidr) {
      ctx.recorder.event(node, "Warning", "CIDRNotAvailable", `Node ${node.metadata.name} status is now: CIDRNotAvailable`);
      return false;
    }
    await ctx.client.patch(NODES, undefined, node.metadata.name!, "merge", { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
    ctx.recorder.event(node, "Normal", "CIDRAssignmentSucceeded", `Assigned podCIDR ${cidr}`);
    return true;
  }

  async function markUnknown(ctx: ReconcileContext, node: KObject, now: number): Promise<void> {
    const next = deepCopy(node);
    next.status ??= {};
    const ts = rfc3339(now);
    const conds: any[] = next.status.conditions ?? [];
    if (!conds.some((c) => c.type === "Ready")) conds.push({ type: "Ready" });
    next.status.conditions = conds.map((c) =>
      c.status === "Unknown" ? c : { ...c, status: "Unknown", reason: UNKNOWN_REASON, message: UNKNOWN_MESSAGE, lastTransitionTime: ts, lastHeartbeatTime: c.lastHeartbeatTime ?? ts },
    );
    await ctx.client.updateStatus(NODES, next);
    ctx.recorder.event(node, "Normal", "NodeNotReady", `Node ${node.metadata.name} status is now: NodeNotReady`);
  }

  /** Brings the not-ready/unreachable taints in line with Ready; true when it wrote. */
  async function syncTaints(ctx: ReconcileContext, node: KObject, now: number): Promise<boolean> {
    const want = wantedTaints(readyCondition(node)?.status);
    const taints: Taint[] = node.spec?.taints ?? [];
    const ours = (t: Taint) => t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE;
    const kept = taints.filter((t) => !ours(t) || (t.key === want && (t.effect === "NoExecute" || t.effect === "NoSchedule")));
    const next = [...kept];
    if (want && !kept.some((t) => t.key === want && t.effect === "NoSchedule")) next.push({ key: want, effect: "NoSchedule" });
    if (want && !kept.some((t) => t.key === want && t.effect === "NoExecute")) next.push({ key: want, effect: "NoExecute", timeAdded: rfc3339(now) });
    if (next.length === taints.length && kept.length === taints.length) return false;
    const updated = deepCopy(node);
    updated.spec ??= {};
    if (next.length) updated.spec.taints = next;
    else delete updated.spec.taints;
    await ctx.client.update(NODES, updated);
    return true;
  }

  /** Deletes pods that may not stay; returns ms until the next bounded toleration ends. */
  async function evictPods(ctx: ReconcileContext, node: KObject, now: number): Promise<number | undefined> {
    const noExecute = ((node.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === "NoExecute");
    if (noExecute.length === 0) return undefined;
    const addedAt = (t: Taint) => {
      const parsed = t.timeAdded ? Date.parse(t.timeAdded) : NaN;
      if (!Number.isNaN(parsed)) return parsed;
      const k = `${node.metadata.name}/${t.key}`;
      if (!firstSeen.has(k)) firstSeen.set(k, now);
      return firstSeen.get(k)!;
    };
    let wake: number | undefined;
    for (const pod of ctx.reader.byIndex(PODS, "nodeName", node.metadata.name!)) {
      if (pod.metadata.deletionTimestamp) continue;
      const deadline = evictionDeadline(pod, noExecute, addedAt);
      if (deadline === Infinity) continue;
      if (deadline <= now) {
        try {
          await ctx.client.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
          ctx.recorder.event(pod, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
        } catch (err) {
          if ((err as { code?: number })?.code !== 404 && (err as { code?: number })?.code !== 409) throw err;
        }
      } else wake = Math.min(wake ?? Infinity, deadline - now);
    }
    return wake;
  }

  return {
    name: "nodelifecycle",
    for: NODES,
    watches: [
      { gvr: LEASES, map: (l) => (l.metadata.namespace === LEASE_NAMESPACE ? [{ name: l.metadata.name! }] : []) },
      { gvr: PODS, map: (p) => (p.spec?.nodeName ? [{ name: p.spec.nodeName }] : []) },
    ],
    async reconcile(ctx, key) {
      const name = key.name;
      const node = ctx.reader.get(NODES, undefined, name);
      if (!node) {
        probes.delete(name);
        allocator.release(name);
        for (const k of firstSeen.keys()) if (k.startsWith(`${name}/`)) firstSeen.delete(k);
        return;
      }
      const now = ctx.clock.now();
      if (node.spec?.podCIDR) allocator.occupy(name, node.spec.podCIDR);
      else if (allocateCIDRs && (await assignCIDR(ctx, node))) return; // the update wakes us again

      // Health: any change of the lease's renewTime or Ready's heartbeat counts as a sign of life.
      const lease = ctx.reader.get(LEASES, LEASE_NAMESPACE, name);
      const ready = readyCondition(node);
      const sig = `${lease?.spec?.renewTime ?? ""}|${ready?.lastHeartbeatTime ?? ""}`;
      let probe = probes.get(name);
      if (!probe || probe.sig !== sig) probes.set(name, (probe = { sig, at: now }));
      const silentFor = now - probe.at;
      let requeue: number | undefined;
      if (ready?.status !== "Unknown") {
        if (silentFor >= grace) {
          await markUnknown(ctx, node, now);
          return; // the status update wakes us for the taints
        }
        requeue = grace - silentFor;
      }
      if (await syncTaints(ctx, node, now)) return;
      const wake = await evictPods(ctx, node, now);
      if (wake !== undefined) requeue = Math.min(requeue ?? Infinity, wake);
      return requeue === undefined ? undefined : { requeueAfter: Math.max(1, requeue) };
    },
  };
}
