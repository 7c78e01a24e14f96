// NodeUnschedulable: a cordoned node (spec.unschedulable, `kubectl cordon`) takes no
// new pods unless they tolerate the node.kubernetes.io/unschedulable:NoSchedule taint
// (https://kubernetes.io/docs/concepts/architecture/nodes/#manual-node-administration).

import { unresolvable, type Plugin } from "../framework.js";
import { tolerated } from "./tainttoleration.js";

export const NODE_UNSCHEDULABLE = "node(s) were unschedulable";
const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

export const nodeUnschedulable: Plugin = {
  name: "NodeUnschedulable",
  // With no cordoned node in the cache the filter would pass everywhere: skip it.
  preFilter: (ctx) => (ctx.snapshot.unschedulableNodes > 0 ? undefined : "skip"),
  filter(ctx, ni) {
    if (!ni.unschedulable) return undefined;
    return tolerated(ctx.pod.tolerations, UNSCHEDULABLE_TAINT) ? undefined : unresolvable(NODE_UNSCHEDULABLE);
  },
};
