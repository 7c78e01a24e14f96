// NodePorts: two pods cannot take the same hostPort (ip, protocol, port) on one node;
// 0.0.0.0 conflicts with every address
// (https://kubernetes.io/docs/concepts/configuration/overview/#services and the
// NodePorts plugin in https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins).

import { unschedulable, type Plugin } from "../framework.js";
import type { HostPort } from "../snapshot.js";

export const NODE_PORTS_CONFLICT = "node(s) didn't have free ports for the requested pod ports";

export function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.ip === b.ip || a.ip === "0.0.0.0" || b.ip === "0.0.0.0";
}

export const nodePorts: Plugin = {
  name: "NodePorts",
  preFilter: (ctx) => (ctx.pod.hostPorts.length ? undefined : "skip"),
  filter(ctx, ni) {
    for (const want of ctx.pod.hostPorts) {
      for (const used of ni.usedPorts) if (portsConflict(want, used)) return unschedulable(NODE_PORTS_CONFLICT);
    }
    return undefined;
  },
};
