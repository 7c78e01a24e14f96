// A fleet of hollow nodes in one process, after kubemark's hollow-node pods and kwok's
// node simulation (https://kwok.sigs.k8s.io/docs/user/kwok-in-cluster/): N simulated
// kubelets sharing one pod informer, one node informer, one lease ticker (renewals
// staggered over the period) and a bounded pool of concurrent writes, so thousands of
// nodes cost a few timers and some map entries rather than N watches and N timers.
// `tug up --hollow-nodes N` starts one with the server's client and informer factory.
// The fleet also provisions local-path volumes for claims placed on its nodes (PV
// objects only, src/agent/storage/localpath.ts), and follows the Node annotation
// tugboat.dev/hollow-heartbeat=stopped, which silences one node from outside the process.

import type { Runnable } from "../../client/runnable.js";
import { HollowNode, hollowNodesRunnable, type HollowRunSettings } from "./node.js";

export interface HollowFleetOptions extends HollowRunSettings {
  count: number;
  /** Node names are `${namePrefix}${i}` (default "hollow-node-"). */
  namePrefix?: string;
  /** Index of the first node (several fleets in one cluster use disjoint ranges). */
  firstIndex?: number;
}

export interface HollowFleet extends Runnable {
  /** The nodes, for test hooks such as stopHeartbeat(). */
  readonly nodes: readonly HollowNode[];
  node(name: string): HollowNode | undefined;
}

/**
 * The node CIDR mask that fits `count` nodes into clusterCIDR: /24 while it fits (256
 * nodes in a /16), smaller subnets beyond (1,000 nodes → /26, 5,000 → /29).
 */
export function fleetCIDRMask(clusterBits: number, count: number): number {
  const needed = clusterBits + Math.ceil(Math.log2(Math.max(1, count)));
  return Math.min(32, Math.max(24, needed));
}

export function hollowFleet(opts: HollowFleetOptions): HollowFleet {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`hollowFleet: count must be a non-negative integer, got ${opts.count}`);
  const prefix = opts.namePrefix ?? "hollow-node-";
  const first = opts.firstIndex ?? 0;
  const clusterCIDR = opts.clusterCIDR ?? "10.42.0.0/16";
  const clusterBits = Number(clusterCIDR.split("/")[1] ?? 16);
  const mask = opts.nodeCIDRMaskSize ?? fleetCIDRMask(clusterBits, first + opts.count);
  const nodes = Array.from(
    { length: opts.count },
    (_, i) =>
      new HollowNode({
        ...opts,
        clusterCIDR,
        nodeCIDRMaskSize: mask,
        name: `${prefix}${first + i}`,
        index: first + i,
      }),
  );
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const run = hollowNodesRunnable(`hollow-fleet/${prefix}`, nodes, { ...opts, clusterCIDR, nodeCIDRMaskSize: mask });
  return { ...run, nodes, node: (name) => byName.get(name) };
}
