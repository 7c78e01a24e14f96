// The Snapshot's incremental aggregates: counts of cordoned and hard-tainted nodes (which
// let NodeUnschedulable and TaintToleration skip their filters) and each node's compact
// `fit` array (what NodeResourcesFit reads), checked against the fields they mirror
// through node updates, pod adds/removes, assume/forget and preemption clones.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Snapshot,
  podInfoFromPod,
  cloneNodeInfo,
  removePodFromNode,
  FIT_ALLOWED_PODS,
  FIT_PODS,
  FIT_ALLOC_CPU,
  FIT_REQ_CPU,
  FIT_ALLOC_MEMORY,
  FIT_REQ_MEMORY,
  FIT_ALLOC_EPHEMERAL,
  FIT_REQ_EPHEMERAL,
  FIT_NONZERO_CPU,
  FIT_NONZERO_MEMORY,
  type NodeInfo,
} from "./snapshot.js";
import { Framework } from "./framework.js";
import { defaultPlugins } from "./plugins/registry.js";

const node = (name: string, spec: Record<string, unknown> = {}, cpu = "4") => ({
  metadata: { name },
  spec,
  status: { allocatable: { cpu, memory: "8Gi", pods: "10", "ephemeral-storage": "10Gi" } },
});
const pod = (name: string, cpu: string, nodeName?: string) => ({
  metadata: { name, namespace: "default" },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "x", resources: { requests: { cpu, memory: "1Gi", "ephemeral-storage": "1Gi" } } }] },
});

const FIT_ORDER = [FIT_ALLOWED_PODS, FIT_PODS, FIT_ALLOC_CPU, FIT_REQ_CPU, FIT_ALLOC_MEMORY, FIT_REQ_MEMORY, FIT_ALLOC_EPHEMERAL, FIT_REQ_EPHEMERAL, FIT_NONZERO_CPU, FIT_NONZERO_MEMORY];

function assertFitMirrors(ni: NodeInfo): void {
  assert.deepEqual(
    FIT_ORDER.map((i) => ni.fit[i]),
    [
      ni.allowedPods,
      ni.pods.size,
      ni.allocatable.milliCPU,
      ni.requested.milliCPU,
      ni.allocatable.memory,
      ni.requested.memory,
      ni.allocatable.ephemeralStorage,
      ni.requested.ephemeralStorage,
      ni.nonZeroCPU,
      ni.nonZeroMemory,
    ],
  );
}

test("cordoned and hard-tainted node counts follow node adds, updates and deletes", () => {
  const s = Snapshot.fromObjects([node("a"), node("b", { unschedulable: true }), node("c", { taints: [{ key: "k", effect: "PreferNoSchedule" }] })]);
  assert.equal(s.unschedulableNodes, 1);
  assert.equal(s.hardTaintedNodes, 0, "PreferNoSchedule is not a filter taint");
  s.upsertNode(node("c", { taints: [{ key: "k", effect: "NoExecute" }] }));
  s.upsertNode(node("a", { unschedulable: true, taints: [{ key: "k", effect: "NoSchedule" }] }));
  assert.equal(s.unschedulableNodes, 2);
  assert.equal(s.hardTaintedNodes, 2);
  s.upsertNode(node("a", { unschedulable: true, taints: [{ key: "k", effect: "NoSchedule" }] }));
  assert.equal(s.unschedulableNodes, 2, "an unchanged update counts once");
  // A deleted node that still has pods stays as a placeholder: it no longer counts.
  s.upsertPod(podInfoFromPod(pod("p", "1", "a")));
  s.removeNode("a");
  assert.equal(s.unschedulableNodes, 1);
  assert.equal(s.hardTaintedNodes, 1);
  s.upsertNode(node("a"));
  assert.equal(s.unschedulableNodes, 1);
  assert.equal(s.hardTaintedNodes, 1);
  s.removeNode("b");
  s.removeNode("c");
  assert.equal(s.unschedulableNodes, 0);
  assert.equal(s.hardTaintedNodes, 0);
});

test("NodeUnschedulable and TaintToleration skip their filters only when no node needs them", () => {
  const fw = new Framework(defaultPlugins());
  const names = (s: Snapshot) => {
    const pre = fw.preFilter({ pod: podInfoFromPod(pod("p", "1")), snapshot: s, state: new Map() });
    return "filters" in pre ? pre.filters.map((p) => p.name) : [];
  };
  const s = Snapshot.fromObjects([node("a"), node("b")]);
  assert.deepEqual(names(s), ["NodeResourcesFit"]);
  s.upsertNode(node("b", { unschedulable: true }));
  assert.deepEqual(names(s), ["NodeUnschedulable", "NodeResourcesFit"]);
  s.upsertNode(node("b", { taints: [{ key: "k", effect: "NoSchedule" }] }));
  assert.deepEqual(names(s), ["TaintToleration", "NodeResourcesFit"]);
  // Same verdicts as with every filter on: b is rejected for its taint, a fits.
  const r = fw.schedule(podInfoFromPod(pod("p", "1")), s);
  assert.equal(r.node, "a");
  assert.deepEqual(Object.fromEntries(r.metric.rejectedBy), { TaintToleration: 1 });
});

test("each node's fit array mirrors its counts through pods, assume/forget, updates and clones", () => {
  const s = Snapshot.fromObjects([node("a"), node("b")], [pod("e1", "1", "a"), pod("e2", "500m", "a")]);
  const a = s.get("a")!;
  assertFitMirrors(a);
  assert.equal(a.fit[FIT_PODS], 2);
  assert.equal(a.fit[FIT_REQ_CPU], 1500);
  const p = podInfoFromPod(pod("p", "250m"));
  s.assume(p, "a");
  assertFitMirrors(a);
  assert.equal(a.fit[FIT_REQ_CPU], 1750);
  s.forget("default/p");
  assertFitMirrors(a);
  s.upsertPod(podInfoFromPod(pod("e1", "2", "a")));
  assertFitMirrors(a);
  assert.equal(a.fit[FIT_REQ_CPU], 2500);
  s.upsertNode(node("a", {}, "16"));
  assertFitMirrors(a);
  assert.equal(a.fit[FIT_ALLOC_CPU], 16000);
  s.removePod("default/e2");
  assertFitMirrors(a);
  // Preemption's what-if works on a clone: the cache's node keeps its numbers.
  const trial = cloneNodeInfo(a);
  removePodFromNode(trial, "default/e1");
  assertFitMirrors(trial);
  assertFitMirrors(a);
  assert.equal(trial.fit[FIT_PODS], 0);
  assert.equal(a.fit[FIT_PODS], 1);
  assertFitMirrors(s.get("b")!);
});
