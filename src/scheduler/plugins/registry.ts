// The default plugin set and order, after kube-scheduler's default profile
// (https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins). Filters
// run in this order and stop at a node's first failure, so cheap, frequently decisive
// checks come first; score weights are each plugin's `weight`.

import type { Plugin } from "../framework.js";
import { nodeUnschedulable } from "./nodeunschedulable.js";
import { nodeName } from "./nodename.js";
import { taintToleration } from "./tainttoleration.js";
import { nodeAffinity } from "./nodeaffinity.js";
import { nodePorts } from "./nodeports.js";
import { nodeResourcesFit, nodeResourcesBalancedAllocation } from "./noderesources.js";
import { podTopologySpread } from "./podtopologyspread.js";
import { interPodAffinity } from "./interpodaffinity.js";
import { imageLocality } from "./imagelocality.js";
import { volumeBinding } from "./volumebinding.js";

export function defaultPlugins(): Plugin[] {
  return [
    nodeUnschedulable,
    nodeName,
    taintToleration,
    nodeAffinity,
    nodePorts,
    nodeResourcesFit,
    volumeBinding,
    podTopologySpread,
    interPodAffinity,
    nodeResourcesBalancedAllocation,
    imageLocality,
  ];
}
