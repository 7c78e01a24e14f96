// The built-in service load balancer, after k3s's ServiceLB
// (https://docs.k3s.io/networking/networking-services#service-load-balancer): a Service
// of type LoadBalancer is "provisioned" by publishing the InternalIPs of the ready nodes
// in status.loadBalancer.ingress (https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer);
// every node's service proxy then answers on those addresses at the Service's ports,
// like a node port. Two LoadBalancer Services cannot share a port and protocol on the
// same addresses: the older one keeps it, the newer one stays pending (no ingress) with a
// Warning event until the port is free. Services with spec.loadBalancerClass belong to
// another implementation and are left alone; nodes labelled
// node.kubernetes.io/exclude-from-external-load-balancers are not used. Leader-only.

import { deepCopy, type KObject } from "../apimachinery/types.js";
import type { Controller, ObjectKey, ReconcileContext } from "../client/controller.js";
import { controllerRunnable, type ControllerDeps } from "../client/controller.js";
import type { Runnable } from "../client/runnable.js";

export const EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

export interface ServiceLBOptions {
  /** Extra filter on the nodes whose addresses are published (e.g. skip hollow nodes). */
  nodeFilter?: (node: KObject) => boolean;
  /** Re-check interval for a Service left pending by a port conflict (default 5 s). */
  pendingRecheckMs?: number;
}

const isOurs = (svc: KObject | undefined): boolean => svc?.spec?.type === "LoadBalancer" && !svc.spec?.loadBalancerClass;

function nodeReady(node: KObject): boolean {
  return ((node.status?.conditions ?? []) as any[]).some((c) => c?.type === "Ready" && c?.status === "True");
}

function internalIP(node: KObject): string | undefined {
  const a = ((node.status?.addresses ?? []) as any[]).find((x) => x?.type === "InternalIP" && typeof x.address === "string" && x.address);
  return a?.address;
}

/** The addresses a LoadBalancer Service gets: InternalIPs of the usable nodes, sorted. */
export function loadBalancerAddresses(nodes: KObject[], filter?: (n: KObject) => boolean): string[] {
  const ips = new Set<string>();
  for (const n of nodes) {
    if (n.metadata.deletionTimestamp || !nodeReady(n)) continue;
    if (n.metadata.labels?.[EXCLUDE_LB_LABEL] !== undefined) continue;
    if (filter && !filter(n)) continue;
    const ip = internalIP(n);
    if (ip) ips.add(ip);
  }
  return [...ips].sort();
}

const portKeys = (svc: KObject): string[] => ((svc.spec?.ports ?? []) as any[]).filter((p) => typeof p?.port === "number").map((p) => `${p.protocol ?? "TCP"}/${p.port}`);

/** Older first (creationTimestamp, then namespace/name): who keeps a contested port. */
function olderThan(a: KObject, b: KObject): boolean {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb;
  return `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}`;
}

/** The older LoadBalancer Service holding one of svc's ports, if any. */
export function conflictingService(svc: KObject, all: KObject[]): { holder: KObject; port: string } | undefined {
  const mine = new Set(portKeys(svc));
  for (const other of all) {
    if (other.metadata.uid === svc.metadata.uid || !isOurs(other) || other.metadata.deletionTimestamp) continue;
    if (!olderThan(other, svc)) continue;
    const port = portKeys(other).find((k) => mine.has(k));
    if (port) return { holder: other, port };
  }
  return undefined;
}

function sameIngress(a: any[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x?.ip === b[i] && !x?.hostname);
}

export function serviceLBController(opts: ServiceLBOptions = {}): Controller {
  // LoadBalancer Services seen so far: a node change re-checks all of them.
  const known = new Set<string>();
  const allKnown = (): ObjectKey[] =>
    [...known].map((k) => {
      const [namespace, name] = k.split("/") as [string, string];
      return { namespace, name };
    });
  return {
    name: "servicelb",
    for: "v1/services",
    watches: [
      { gvr: "v1/nodes", map: () => allKnown() },
      // A LoadBalancer Service going away (or changing ports) may free a port for a pending one.
      { gvr: "v1/services", map: (o) => (isOurs(o) || known.has(`${o.metadata.namespace}/${o.metadata.name}`) ? allKnown() : []) },
    ],
    async reconcile(ctx: ReconcileContext, key: ObjectKey) {
      const k = `${key.namespace}/${key.name}`;
      const svc = ctx.reader.get("v1/services", key.namespace, key.name);
      if (!svc || svc.metadata.deletionTimestamp) {
        known.delete(k);
        return;
      }
      const current: any[] = Array.isArray(svc.status?.loadBalancer?.ingress) ? svc.status.loadBalancer.ingress : [];
      if (!isOurs(svc)) {
        known.delete(k);
        // A Service that stopped being a LoadBalancer (ours) loses its published addresses.
        if (svc.spec?.type !== "LoadBalancer" && current.length > 0) await writeIngress(ctx, svc, []);
        return;
      }
      known.add(k);
      const conflict = conflictingService(svc, ctx.reader.list("v1/services"));
      let desired: string[];
      if (conflict) {
        desired = [];
        ctx.recorder.event(svc, "Warning", "PortConflict", `port ${conflict.port} is already used by LoadBalancer Service ${conflict.holder.metadata.namespace}/${conflict.holder.metadata.name}; pending`);
      } else {
        desired = loadBalancerAddresses(ctx.reader.list("v1/nodes"), opts.nodeFilter);
      }
      if (!sameIngress(current, desired)) {
        await writeIngress(ctx, svc, desired);
        if (!conflict) ctx.recorder.event(svc, "Normal", "UpdatedLoadBalancer", desired.length ? `ingress: ${desired.join(", ")}` : "no ready nodes: pending");
      }
      return conflict ? { requeueAfter: opts.pendingRecheckMs ?? 5000 } : undefined;
    },
  };
}

async function writeIngress(ctx: ReconcileContext, svc: KObject, ips: string[]): Promise<void> {
  const next = deepCopy(svc);
  next.status = { ...(next.status ?? {}), loadBalancer: ips.length ? { ingress: ips.map((ip) => ({ ip })) } : {} };
  await ctx.client.updateStatus("v1/services", next);
}

/** The ServiceLB controller as a leader-only Runnable for `tug server`. */
export function serviceLBRunnable(deps: ControllerDeps, opts: ServiceLBOptions = {}): Runnable {
  return controllerRunnable(serviceLBController(opts), deps);
}
