// NodeName: a pod that names its node (spec.nodeName) fits only that node
// (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename).
// Pods reaching the scheduler rarely have it set, so preFilter skips the filter then.

import { unresolvable, type Plugin } from "../framework.js";

export const NODE_NAME_MISMATCH = "node(s) didn't match the requested node name";

export const nodeName: Plugin = {
  name: "NodeName",
  preFilter: (ctx) => (ctx.pod.nodeName ? undefined : "skip"),
  filter: (ctx, ni) => (ctx.pod.nodeName && ctx.pod.nodeName !== ni.name ? unresolvable(NODE_NAME_MISMATCH) : undefined),
};
